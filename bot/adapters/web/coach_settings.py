"""The coach's settings page, reached from a signed, expiring link (``links.settings_link``).

GET shows hours per weekday, buffers, minimum notice, session lengths, time zone and connected calendars.
POST checks every field first and saves all of them in one write, or nothing (errors next to the fields).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

from bot.adapters.web import links
from bot.adapters.web.pages import check_zone, get_app, page
from bot.scheduling.model import WEEKDAYS, ClockRange, CoachSettings, Person, WeeklyHours

if TYPE_CHECKING:
    from bot.app import App

__all__ = ["SettingsForm", "parse_settings_form", "register", "settings_form_values"]

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_RANGE = re.compile(r"^\s*(\d{1,2}:\d{2})\s*[-–—]\s*(\d{1,2}:\d{2})\s*$")


@dataclass(frozen=True, slots=True)
class SettingsForm:
    """The parsed form: new settings, or the errors per field (field name -> message)."""

    settings: CoachSettings | None
    errors: dict[str, str]


def settings_form_values(settings: CoachSettings) -> dict[str, str]:
    values = {f"hours_{WEEKDAYS[i]}": ", ".join(str(r) for r in settings.hours.days[i]) for i in range(7)}
    values.update(
        timezone=settings.timezone,
        buffer_before=str(int(settings.buffer_before.total_seconds() // 60)),
        buffer_after=str(int(settings.buffer_after.total_seconds() // 60)),
        min_notice=str(int(settings.min_notice.total_seconds() // 60)),
        session_lengths=", ".join(str(n) for n in settings.session_lengths),
    )
    return values


def _minutes(text: str, *, low: int, high: int, what: str) -> tuple[int, str]:
    text = text.strip()
    if not text.isdigit():
        return 0, f"Enter {what} as a whole number of minutes, e.g. 15."
    value = int(text)
    if not low <= value <= high:
        return 0, f"Use {low} to {high} minutes."
    return value, ""


def parse_settings_form(form: dict[str, str], *, current: CoachSettings) -> SettingsForm:
    """Check every field; only when all are fine is there a new ``CoachSettings`` (overrides and limits kept)."""
    errors: dict[str, str] = {}
    days: list[tuple[ClockRange, ...]] = []
    for i, day in enumerate(WEEKDAYS):
        name = f"hours_{day}"
        text = form.get(name, "").strip()
        ranges: list[ClockRange] = []
        if text and text.lower() not in ("off", "-", "none", "closed"):
            for part in text.split(","):
                match = _RANGE.match(part)
                if match is None:
                    errors[name] = f"Write {DAY_NAMES[i]}'s hours as 09:00-12:00, 13:00-17:00 (or leave empty)."
                    break
                try:
                    ranges.append(ClockRange.parse(match.group(1), match.group(2)))
                except ValueError as exc:
                    errors[name] = str(exc).capitalize() + "."
                    break
        days.append(tuple(ranges))
    zone = form.get("timezone", "").strip()
    if message := check_zone(zone):
        errors["timezone"] = message
    before, message = _minutes(form.get("buffer_before", ""), low=0, high=240, what="the buffer")
    if message:
        errors["buffer_before"] = message
    after, message = _minutes(form.get("buffer_after", ""), low=0, high=240, what="the buffer")
    if message:
        errors["buffer_after"] = message
    notice, message = _minutes(form.get("min_notice", ""), low=0, high=14 * 24 * 60, what="the notice")
    if message:
        errors["min_notice"] = message
    lengths: list[int] = []
    for part in form.get("session_lengths", "").replace(" ", ",").split(","):
        if not part.strip():
            continue
        if not part.strip().isdigit() or not 5 <= int(part) <= 480:
            errors["session_lengths"] = "List lengths in minutes between 5 and 480, e.g. 30, 60."
            break
        if int(part) not in lengths:
            lengths.append(int(part))
    if not lengths and "session_lengths" not in errors:
        errors["session_lengths"] = "Give at least one session length, e.g. 30."
    if not errors and not any(days):
        errors["hours_mon"] = "Give hours for at least one weekday, or nobody can book you."
    if errors:
        return SettingsForm(None, errors)
    settings = replace(
        current,
        timezone=zone,
        hours=WeeklyHours(tuple(days), current.hours.overrides),
        buffer_before=timedelta(minutes=before),
        buffer_after=timedelta(minutes=after),
        min_notice=timedelta(minutes=notice),
        session_lengths=tuple(lengths),
    )
    return SettingsForm(settings, {})


def _refused(message: str) -> web.Response:
    return page("message.html", status=403, title="Link not valid", heading="This link cannot be used", message=message)


async def _person_for(request: web.Request, token: str) -> tuple[App, Person, CoachSettings] | web.Response:
    app = get_app(request)
    try:
        person_id = links.read_settings_token(token, settings=app.settings, now=app.clock())
    except links.BadLink as exc:
        return _refused(str(exc))
    person = await asyncio.to_thread(app.storage.people.get, person_id)
    if person is None:
        return _refused("This link belongs to someone who is no longer known to the bot.")
    current = await asyncio.to_thread(app.storage.coach_settings.get_settings, person.id)
    return app, person, current or CoachSettings(timezone=person.timezone)


async def _calendars(app: App, person_id: str) -> list[dict[str, Any]]:
    repo = getattr(app.storage, "calendars", None)
    if repo is None:
        return []

    def read() -> list[dict[str, Any]]:
        out = []
        for account in repo.accounts_for_person(person_id):
            out.append(
                {
                    "name": account.display_name,
                    "provider": account.provider,
                    "status": account.status,
                    "calendars": [c.name for c in repo.calendars_for_account(account.id) if c.pull],
                }
            )
        return out

    return await asyncio.to_thread(read)


async def _form_page(
    app: App,
    person: Person,
    *,
    token: str,
    values: dict[str, str],
    errors: dict[str, str],
    saved: bool = False,
    status: int = 200,
) -> web.Response:
    return page(
        "settings.html",
        status=status,
        person=person,
        token=token,
        values=values,
        errors=errors,
        saved=saved,
        days=[(f"hours_{WEEKDAYS[i]}", DAY_NAMES[i]) for i in range(7)],
        calendars=await _calendars(app, person.id),
        booking_url=f"/book/{person.handle}" if person.handle else "",
    )


async def settings_page(request: web.Request) -> web.Response:
    token = request.query.get("token", "")
    found = await _person_for(request, token)
    if isinstance(found, web.Response):
        return found
    app, person, current = found
    return await _form_page(
        app, person, token=token, values=settings_form_values(current), errors={}, saved="saved" in request.query
    )


async def settings_submit(request: web.Request) -> web.Response:
    form = {k: str(v) for k, v in (await request.post()).items()}
    token = form.get("token", "")
    found = await _person_for(request, token)
    if isinstance(found, web.Response):
        return found
    app, person, current = found
    parsed = parse_settings_form(form, current=current)
    if parsed.settings is None:
        return await _form_page(app, person, token=token, values=form, errors=parsed.errors, status=400)
    await asyncio.to_thread(app.storage.coach_settings.save_settings, person.id, parsed.settings)
    raise web.HTTPSeeOther(f"/settings?{urlencode({'token': token, 'saved': '1'})}")


def register(server: web.Application) -> None:
    server.router.add_get("/settings", settings_page)
    server.router.add_post("/settings", settings_submit)
