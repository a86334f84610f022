"""Pure functions from the surface-neutral Reply model to Slack Block Kit: messages, modals, the App Home view.

No I/O and no clock: everything they need is passed in, so they are tested directly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.handlers.format import sync_status_label
from bot.handlers.replies import Choice, Field, Form, Reply

__all__ = [
    "ACTION_SEPARATOR",
    "OPEN_FORM_ACTION",
    "HomeCalendar",
    "HomeData",
    "HomeSession",
    "action_name",
    "button",
    "decode_metadata",
    "encode_metadata",
    "form_errors",
    "form_view",
    "home_view",
    "message_blocks",
    "sync_status",
    "view_values",
]

ACTION_SEPARATOR = "#"
OPEN_FORM_ACTION = "slack.open_form"  # a button standing in for a form where Slack gives no trigger_id (a DM)
VALUE_ACTION_ID = "value"  # the action_id of every input element in a modal; the block_id is the field name

_MAX_SECTION = 3000
_MAX_BUTTON_LABEL = 75
_MAX_VALUE = 2000
_MAX_ACTIONS_PER_BLOCK = 25
_MAX_BLOCKS = 50


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(text: str, limit: int = 150) -> dict[str, Any]:
    return {"type": "plain_text", "text": _clip(text, limit) or " ", "emoji": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, _MAX_SECTION) or " "}}


def _context(lines: Sequence[str]) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(line, _MAX_SECTION)} for line in lines]}


def action_name(action_id: str) -> str:
    """``book.pick#2`` -> ``book.pick``: the index only keeps Slack's action ids unique within a message."""
    return action_id.rsplit(ACTION_SEPARATOR, 1)[0] if ACTION_SEPARATOR in action_id else action_id


def button(choice: Choice, index: int) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": _plain(choice.label, _MAX_BUTTON_LABEL),
        "action_id": f"{choice.action}{ACTION_SEPARATOR}{index}",
        "value": choice.value[:_MAX_VALUE],
    }
    if choice.style:
        element["style"] = choice.style
    if choice.confirm:
        element["confirm"] = {
            "title": _plain("Are you sure?", 100),
            "text": {"type": "mrkdwn", "text": _clip(choice.confirm, 300)},
            "confirm": _plain("Yes", 30),
            "deny": _plain("No", 30),
        }
        if choice.style:
            element["confirm"]["style"] = choice.style
    return element


def message_blocks(reply: Reply, *, form_key: str | None = None) -> list[dict[str, Any]]:
    """A message: the text, its details as small print, its choices as buttons.

    A form cannot be opened without a click in Slack messages; with ``form_key`` (the id under which the adapter
    kept the form) the message carries a button that opens it.
    """
    blocks: list[dict[str, Any]] = [_section(reply.text)]
    if reply.details:
        blocks.append(_context(reply.details[:10]))
    elements = [button(choice, i) for i, choice in enumerate(reply.choices)]
    if reply.form is not None and form_key is not None:
        elements.append(
            {
                "type": "button",
                "text": _plain(reply.form.title, _MAX_BUTTON_LABEL),
                "action_id": f"{OPEN_FORM_ACTION}{ACTION_SEPARATOR}{len(elements)}",
                "value": form_key,
                "style": "primary",
            }
        )
    for start in range(0, len(elements), _MAX_ACTIONS_PER_BLOCK):
        blocks.append({"type": "actions", "elements": elements[start : start + _MAX_ACTIONS_PER_BLOCK]})
    return blocks[:_MAX_BLOCKS]


# ------------------------------------------------------------------------------------------------------ modals


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": _plain(label, 75), "value": value[:150]}


def _element(field: Field) -> dict[str, Any]:
    element: dict[str, Any]
    if field.kind in ("select", "multiselect"):
        options = [_option(o.value, o.label) for o in field.options] or [_option("", "(none)")]
        if field.kind == "select":
            element = {"type": "static_select", "options": options}
            chosen = [o for o in options if o["value"] == field.value]
            if chosen:
                element["initial_option"] = chosen[0]
        else:
            element = {"type": "multi_static_select", "options": options}
            wanted = {v.strip() for v in field.value.split(",") if v.strip()}
            chosen = [o for o in options if o["value"] in wanted]
            if chosen:
                element["initial_options"] = chosen
    elif field.kind == "number":
        element = {"type": "number_input", "is_decimal_allowed": False}
        if field.value:
            element["initial_value"] = field.value
    elif field.kind == "email":
        element = {"type": "email_text_input"}
        if field.value:
            element["initial_value"] = field.value
    else:  # text, textarea, password (Slack has no masked input; the hint says the value is stored encrypted)
        element = {"type": "plain_text_input", "multiline": field.kind == "textarea"}
        if field.value and field.kind != "password":
            element["initial_value"] = field.value
    element["action_id"] = VALUE_ACTION_ID
    return element


def form_view(form: Form, *, private_metadata: str = "") -> dict[str, Any]:
    """A modal for ``form``: one input block per field, the block id being the field's name."""
    blocks: list[dict[str, Any]] = []
    for field in form.fields:
        block: dict[str, Any] = {
            "type": "input",
            "block_id": field.name[:255],
            "label": _plain(field.label, 2000),
            "element": _element(field),
            "optional": not field.required,
        }
        if field.hint:
            block["hint"] = _plain(field.hint, 2000)
        blocks.append(block)
    return {
        "type": "modal",
        "callback_id": form.id[:255],
        "title": _plain(form.title, 24),
        "submit": _plain(form.submit_label, 24),
        "close": _plain("Cancel", 24),
        "private_metadata": private_metadata[:3000],
        "blocks": blocks[:100],
    }


def form_errors(form: Form) -> dict[str, str]:
    """``response_action: errors`` payload: block id (field name) -> message, for fields that were refused."""
    return {field.name: _clip(field.error, 150) for field in form.fields if field.error}


def view_values(state: Mapping[str, Any]) -> dict[str, str]:
    """A ``view_submission``'s ``view.state`` -> field name -> raw text (multi-selects comma-separated)."""
    out: dict[str, str] = {}
    for block_id, actions in (state.get("values") or {}).items():
        for action in actions.values():
            kind = action.get("type")
            if kind == "static_select":
                selected = action.get("selected_option") or {}
                out[block_id] = str(selected.get("value") or "")
            elif kind == "multi_static_select":
                out[block_id] = ",".join(str(o.get("value", "")) for o in action.get("selected_options") or [])
            else:
                value = action.get("value")
                out[block_id] = "" if value is None else str(value)
            break
    return out


def encode_metadata(data: Mapping[str, str]) -> str:
    return json.dumps(dict(data), separators=(",", ":"))


def decode_metadata(text: str) -> dict[str, str]:
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


# ---------------------------------------------------------------------------------------------------- App Home


@dataclass(frozen=True, slots=True)
class HomeCalendar:
    name: str
    provider: str
    status: str  # "ok" | "needs_reconnect"
    last_synced_at: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class HomeSession:
    when: str  # already in the viewer's zone, e.g. "Tue 24 Nov 14:00-14:30 (Europe/Berlin)"
    with_whom: str


@dataclass(frozen=True, slots=True)
class HomeData:
    name: str
    timezone: str
    is_coach: bool
    hours: tuple[str, ...] = ()  # "Mon-Fri 09:00-17:00"
    buffers: str = ""
    calendars: tuple[HomeCalendar, ...] = ()
    upcoming: tuple[HomeSession, ...] = ()
    week_png: str | None = None  # the coach's week (free/busy only) as a PNG; needs PUBLIC_URL


def sync_status(calendar: HomeCalendar, *, now: datetime) -> str:
    """``synced 2 min ago`` / ``needs reconnecting`` / ``not synced yet``."""
    return sync_status_label(calendar.status, calendar.last_synced_at, calendar.last_error, now=now)


def home_view(data: HomeData, *, now: datetime) -> dict[str, Any]:
    """The App Home tab: a coach's hours, buffers, calendars with their sync status, and upcoming sessions."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(f"Scheduling for {data.name}")},
        _context([f"Times shown in {data.timezone}. Type `/sched help` or send me a message to book."]),
    ]
    if data.is_coach:
        blocks.append({"type": "header", "text": _plain("Your coaching hours")})
        blocks.append(_section("\n".join(data.hours) if data.hours else "No hours set yet: try `/hours`."))
        if data.buffers:
            blocks.append(_context([data.buffers]))
        if data.week_png:
            blocks.append({"type": "image", "image_url": data.week_png, "alt_text": "Your week: free and busy times"})
        blocks.append({"type": "header", "text": _plain("Connected calendars")})
        if data.calendars:
            lines = [f"• *{c.name}* ({c.provider}): {sync_status(c, now=now)}" for c in data.calendars]
            blocks.append(_section("\n".join(lines)))
        else:
            blocks.append(_section("No calendar connected: say `connect google` (or microsoft, icloud, caldav)."))
    blocks.append({"type": "header", "text": _plain("Upcoming sessions")})
    if data.upcoming:
        blocks.append(_section("\n".join(f"• {s.when} with {s.with_whom}" for s in data.upcoming[:20])))
    else:
        blocks.append(_section("Nothing booked yet."))
    return {"type": "home", "blocks": blocks[:_MAX_BLOCKS]}
