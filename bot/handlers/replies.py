"""The surface-neutral conversation contract: what comes in (a message, a click, a form) and what goes out (Replies).

Adapters (Slack, Teams, web, console) turn their payloads into an ``Incoming`` plus an ``Asker``, call
``Conversation.handle`` and render the returned ``Reply`` objects with pure functions.  Button values carry the id
of server-side state (``Choice.value``), never the state itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "Action",
    "Asker",
    "Choice",
    "Field",
    "FieldOption",
    "Form",
    "FormSubmit",
    "Incoming",
    "Message",
    "Reply",
]


@dataclass(frozen=True, slots=True)
class Asker:
    """Who is talking: the person (already resolved from the surface identity) and how to speak to them."""

    person_id: str
    display_name: str
    timezone: str = "UTC"  # IANA zone; from users.info, the browser, or --tz
    locale: str = "en"
    surface: Literal["slack", "teams", "web", "console"] = "console"
    tenant: str = ""  # Slack team id / Teams tenant id: "<@U123>" mentions resolve within it


@dataclass(frozen=True, slots=True)
class Message:
    """Free text the person typed (a DM, an @mention with the mention removed, a slash command's text)."""

    text: str
    command: str | None = None  # "/book", "/hours", "/poll", "/sched" when it came from a slash command


@dataclass(frozen=True, slots=True)
class Action:
    """A click on a ``Choice``: its ``action`` and ``value`` come back unchanged."""

    action: str
    value: str


@dataclass(frozen=True, slots=True)
class FormSubmit:
    """A submitted ``Form``: field name -> raw text (adapters never validate; handlers do)."""

    form_id: str
    values: dict[str, str]


Incoming = Message | Action | FormSubmit


@dataclass(frozen=True, slots=True)
class Choice:
    """A button.  ``action`` names the handler step ("book.pick"), ``value`` the server-side state id."""

    label: str
    action: str
    value: str
    style: Literal["primary", "danger"] | None = None
    confirm: str | None = None  # when set, the surface asks "are you sure?" with this text before sending


@dataclass(frozen=True, slots=True)
class FieldOption:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    label: str
    kind: Literal["text", "textarea", "select", "multiselect", "number", "password", "email"] = "text"
    value: str = ""  # current value (multiselect: comma-separated)
    options: tuple[FieldOption, ...] = ()
    hint: str = ""
    required: bool = True
    error: str = ""  # shown next to the field when a submit was refused


@dataclass(frozen=True, slots=True)
class Form:
    """A dialog (Slack modal, Teams task module, web form, console prompts)."""

    id: str  # comes back as FormSubmit.form_id; may carry a state id ("hours:abc123")
    title: str
    fields: tuple[Field, ...]
    submit_label: str = "Save"


@dataclass(frozen=True, slots=True)
class Reply:
    """One thing to show.

    ``to`` None means the conversation the asker is in; a person id means a direct message to that person
    (the coach's confirmation, "your session was cancelled").  ``replace`` asks the surface to update the message
    the click came from instead of posting a new one.  ``private`` means only the asker may see it (Slack
    ephemeral) when the conversation is shared.
    """

    text: str
    choices: tuple[Choice, ...] = ()
    form: Form | None = None
    to: str | None = None
    replace: bool = False
    private: bool = False
    details: tuple[str, ...] = field(default=())  # secondary lines (context blocks, small print)
