"""The public booking page of a coach: week view of free times, details form, confirmation, .ics, cancel/reschedule.

Booking goes through ``BookingService`` (hold + confirm in ``book``) with an idempotency key derived from a hidden
form token, so a double click or a resubmitted form books once.  A time is only booked when the slot search
offers it right now; otherwise the visitor sees "just taken" and fresh times.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from aiohttp import web

from bot.adapters.web import links
from bot.adapters.web.pages import check_email, check_name, get_app, page, resolve_web_person
from bot.adapters.web.render import (
    WeekView,
    build_week_view,
    format_range,
    week_start_of,
    week_window,
)
from bot.handlers.replies import Reply
from bot.scheduling.intervals import Interval
from bot.scheduling.model import Booking, BookingStatus, CoachSettings, Person, Slot, load_zone
from bot.services.booking import Booked, BookingError, Proposal, ProposalRequest, Taken

if TYPE_CHECKING:
    from bot.app import App

__all__ = ["booking_ics", "coach_week_view", "find_coach", "register"]

_TOKEN = re.compile(r"^[0-9a-f]{32}$")
_MAX_WEEK_SLOTS = 2000


@dataclass(frozen=True, slots=True)
class Coach:
    person: Person
    settings: CoachSettings


async def _tell_coach(app: App, booking: Booking, text: Callable[[str, str], str]) -> None:
    """The coach hears about what a visitor did on the booking page: on Slack when they use it, else their inbox.
    ``text(who, zone)`` words it for the visitor's name and the coach's zone."""
    notifier = getattr(app, "notifier", None)
    if notifier is None:
        return
    coach = await asyncio.to_thread(app.storage.people.get, booking.coach_id)
    if coach is not None:
        who = await _guest_name(app, booking)
        await notifier.notify(coach.id, [Reply(text(who, coach.timezone))])


async def _guest_name(app: App, booking: Booking) -> str:
    if not booking.participant_ids:
        return "a visitor"
    guest = await asyncio.to_thread(app.storage.people.get, booking.participant_ids[0])
    if guest is None:
        return "a visitor"
    return f"{guest.display_name} ({guest.email})" if guest.email else guest.display_name


async def find_coach(app: App, handle: str) -> Coach | None:
    person = await asyncio.to_thread(app.storage.people.by_handle, handle)
    if person is None:
        return None  # coach settings make a coach (the is_coach flag may lag behind them)
    settings = await asyncio.to_thread(app.storage.coach_settings.get_settings, person.id)
    return Coach(person, settings) if settings is not None else None


async def coach_week_view(app: App, coach: Coach, *, start: date, timezone: str, length: int) -> tuple[WeekView, str]:
    """The week view and a note for the visitor ("" or why some times show as busy)."""
    now = app.clock()
    week = week_window(start, timezone)
    lo, hi = max(week.start, now), min(week.end, now + coach.settings.horizon)
    free: tuple[Slot, ...] = ()
    note = ""
    if lo < hi:
        try:
            proposal = await app.bookings.propose(
                ProposalRequest(
                    coach_id=coach.person.id,
                    participant_ids=(),
                    duration=timedelta(minutes=length),
                    window=Interval(lo, hi),
                    max_results=_MAX_WEEK_SLOTS,
                )
            )
        except BookingError as exc:
            note = str(exc)
        else:
            free = proposal.slots
            if proposal.unchecked:
                note = "Some of the coach's calendars could not be read right now, so their times show as busy."
    view = build_week_view(
        start,
        timezone=timezone,
        coach_timezone=coach.settings.timezone,
        hours=coach.settings.hours,
        duration_minutes=length,
        free_starts=[s.start for s in free],
        now=now,
        min_notice=coach.settings.min_notice,
        horizon=coach.settings.horizon,
    )
    return view, note


async def _offered(app: App, coach: Coach, start: datetime, length: int) -> bool:
    """Does the slot search offer exactly this time right now?"""
    try:
        proposal = await app.bookings.propose(
            ProposalRequest(
                coach_id=coach.person.id,
                participant_ids=(),
                duration=timedelta(minutes=length),
                window=Interval(start, start + timedelta(minutes=length)),
                max_results=1,
            )
        )
    except BookingError:
        return False
    return any(s.start == start for s in proposal.slots)


async def _fresh_times(app: App, coach: Coach, slot: Interval, reason: str = "That time was just taken.") -> Taken:
    """Alternatives near a time that is no longer free (the same search the booking service uses)."""
    now = app.clock()
    begin = max(now, slot.start - timedelta(days=1))
    try:
        proposal = await app.bookings.propose(
            ProposalRequest(
                coach_id=coach.person.id,
                participant_ids=(),
                duration=slot.duration,
                window=Interval(begin, max(begin, slot.end) + timedelta(days=7)),
                max_results=5,
            )
        )
    except BookingError:
        proposal = Proposal((), ())
    return Taken(proposal, reason)


# --- parameters ---------------------------------------------------------------------------------------------


def _zone_param(request: web.Request | None, raw: str | None, fallback: str) -> tuple[str, bool]:
    value = (raw if raw is not None else (request.query.get("tz", "") if request else "")).strip()
    if value:
        try:
            load_zone(value)
            return value, True
        except ValueError:
            pass
    return fallback, False


def _length_param(raw: str | None, settings: CoachSettings) -> int:
    try:
        value = int(raw or "")
    except ValueError:
        return settings.session_lengths[0]
    return value if value in settings.session_lengths else settings.session_lengths[0]


def _start_param(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.strip().replace(" ", "+"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC)


def _date_param(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _key(start: datetime) -> str:
    return start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class _Moving:
    """Reschedule mode: the booking being moved and its manage token."""

    booking: Booking
    token: str


def _week_url(handle: str, *, length: int, tz: str, week: date, moving: _Moving | None = None) -> str:
    query = {"length": str(length), "tz": tz, "week": week.isoformat()}
    if moving:
        query.update(reschedule=moving.booking.id, token=moving.token)
    return f"/book/{handle}?{urlencode(query)}"


def _slot_url(handle: str, start: datetime, *, length: int, tz: str, moving: _Moving | None = None) -> str:
    if moving:
        query = {"start": _key(start), "tz": tz, "token": moving.token}
        return f"/booking/{moving.booking.id}/reschedule?{urlencode(query)}"
    return f"/book/{handle}/book?{urlencode({'start': _key(start), 'length': str(length), 'tz': tz})}"


# --- the week page ------------------------------------------------------------------------------------------


async def _week_page(
    request: web.Request,
    coach: Coach,
    *,
    tz: str,
    tz_known: bool,
    length: int,
    week: date | None,
    moving: _Moving | None = None,
    banner: str = "",
    alternatives: tuple[Slot, ...] = (),
    near: datetime | None = None,
    status: int = 200,
) -> web.Response:
    app = get_app(request)
    now = app.clock()
    this_week = week_start_of(now.astimezone(load_zone(tz)).date())
    last_week = week_start_of((now + coach.settings.horizon).astimezone(load_zone(tz)).date())
    start = min(max(week_start_of(week), this_week), last_week) if week else this_week
    view, note = await coach_week_view(app, coach, start=start, timezone=tz, length=length)
    if week is None:  # first visit: jump to the first week with a free time
        while view.free_count == 0 and view.start < last_week:
            view, note = await coach_week_view(app, coach, start=view.next_start, timezone=tz, length=length)
    handle = coach.person.handle or ""
    return page(
        "book.html",
        status=status,
        coach=coach.person,
        handle=handle,
        view=view,
        note=note,
        tz=tz,
        tz_known=tz_known,
        length=length,
        lengths=coach.settings.session_lengths,
        moving=moving,
        moving_when=format_range(moving.booking.start, moving.booking.end, tz) if moving else "",
        banner=banner,
        alternatives=[
            (format_range(start, end, tz), _slot_url(handle, start, length=length, tz=tz, moving=moving))
            for start, end in _nearby(view, near, alternatives)
        ],
        slot_url=lambda cell: _slot_url(handle, cell.start, length=length, tz=tz, moving=moving),
        prev_url=_week_url(handle, length=length, tz=tz, week=view.previous_start, moving=moving)
        if view.start > this_week
        else None,
        next_url=_week_url(handle, length=length, tz=tz, week=view.next_start, moving=moving)
        if view.start < last_week
        else None,
        length_url=lambda n: _week_url(handle, length=n, tz=tz, week=view.start, moving=moving),
    )


def _nearby(view: WeekView, near: datetime | None, fallback: tuple[Slot, ...]) -> list[tuple[datetime, datetime]]:
    """Up to five free times of the week view closest to ``near`` (in time order); else the service's suggestions."""
    if near is None:
        return []
    cells = [c for d in view.days for c in d.cells if c.free]
    if not cells:
        return [(s.start, s.end) for s in fallback[:5]]
    closest = sorted(cells, key=lambda c: abs((c.start - near).total_seconds()))[:5]
    return [(c.start, c.end) for c in sorted(closest, key=lambda c: c.start)]


def _not_found(what: str = "There is no coach with that name.") -> web.Response:
    return page("message.html", status=404, title="Not found", heading="Not found", message=what)


async def book_page(request: web.Request) -> web.Response:
    app = get_app(request)
    coach = await find_coach(app, request.match_info["handle"])
    if coach is None:
        return _not_found()
    tz, known = _zone_param(request, None, coach.settings.timezone)
    moving = await _moving_from(request, app)
    length = _length_param(request.query.get("length"), coach.settings)
    if moving is not None:
        length = int(moving.booking.interval.duration.total_seconds() // 60)
    return await _week_page(
        request, coach, tz=tz, tz_known=known, length=length, week=_date_param(request.query.get("week")), moving=moving
    )


async def _moving_from(request: web.Request, app: App) -> _Moving | None:
    booking_id, token = request.query.get("reschedule", ""), request.query.get("token", "")
    if not booking_id:
        return None
    try:
        links.read_manage_token(token, booking_id, settings=app.settings)
    except links.BadLink:
        return None
    booking = await asyncio.to_thread(app.storage.bookings.get, booking_id)
    if booking is None or booking.status != BookingStatus.CONFIRMED:
        return None
    return _Moving(booking, token)


# --- details form and booking -------------------------------------------------------------------------------


def _details_page(
    coach: Coach,
    *,
    start: datetime,
    length: int,
    tz: str,
    token: str,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> web.Response:
    handle = coach.person.handle or ""
    return page(
        "book_details.html",
        status=status,
        coach=coach.person,
        handle=handle,
        when=format_range(start, start + timedelta(minutes=length), tz),
        tz=tz,
        length=length,
        start_key=_key(start),
        token=token,
        values=values,
        errors=errors,
        back_url=_week_url(handle, length=length, tz=tz, week=start.astimezone(load_zone(tz)).date()),
    )


async def details_form(request: web.Request) -> web.Response:
    app = get_app(request)
    coach = await find_coach(app, request.match_info["handle"])
    if coach is None:
        return _not_found()
    tz, _ = _zone_param(request, None, coach.settings.timezone)
    start = _start_param(request.query.get("start"))
    length = _length_param(request.query.get("length"), coach.settings)
    if start is None:
        raise web.HTTPSeeOther(_week_url(coach.person.handle or "", length=length, tz=tz, week=app.clock().date()))
    return _details_page(coach, start=start, length=length, tz=tz, token=uuid.uuid4().hex, values={}, errors={})


def _idempotency_key(*parts: str) -> str:
    return "web:" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:40]


async def book_submit(request: web.Request) -> web.Response:
    app = get_app(request)
    coach = await find_coach(app, request.match_info["handle"])
    if coach is None:
        return _not_found()
    form = await request.post()
    values = {k: str(form.get(k, "")) for k in ("name", "email", "start", "length", "tz", "token")}
    tz, _ = _zone_param(None, values["tz"], coach.settings.timezone)
    length = _length_param(values["length"], coach.settings)
    start = _start_param(values["start"])
    if start is None:
        return await _week_page(
            request,
            coach,
            tz=tz,
            tz_known=True,
            length=length,
            week=None,
            status=400,
            banner="That time could not be read; please pick one again.",
        )
    token = values["token"] if _TOKEN.match(values["token"]) else uuid.uuid4().hex
    errors = {"name": check_name(values["name"]), "email": check_email(values["email"])}
    errors = {k: v for k, v in errors.items() if v}
    if not errors and values["email"].strip().lower() == (coach.person.email or "").lower():
        errors["email"] = "That is the coach's own address; please use yours."
    if errors:
        return _details_page(
            coach, start=start, length=length, tz=tz, token=token, values=values, errors=errors, status=400
        )
    email = values["email"].strip()
    key = _idempotency_key(token, coach.person.id, _key(start), str(length), email.lower())
    done = await _already_booked(app, key)
    if done is not None:
        return done
    if not await _offered(app, coach, start, length):
        done = await _already_booked(app, key)  # a twin request of this very form may have just booked it
        if done is not None:
            return done
        fresh = await _fresh_times(app, coach, Interval(start, start + timedelta(minutes=length)))
        return await _taken_page(request, coach, fresh, tz=tz, length=length, start=start)
    person = await resolve_web_person(app, name=values["name"], email=email, timezone=tz)
    try:
        result = await app.bookings.book(
            coach_id=coach.person.id,
            participant_ids=(person.id,),
            slot=Interval(start, start + timedelta(minutes=length)),
            idempotency_key=key,
        )
    except BookingError as exc:
        errors = {"form": str(exc)}
        return _details_page(
            coach, start=start, length=length, tz=tz, token=token, values=values, errors=errors, status=409
        )
    if isinstance(result, Taken):
        return await _taken_page(request, coach, result, tz=tz, length=length, start=start)
    booked = result.booking
    await _tell_coach(
        app,
        booked,
        lambda who, zone: f"New session booked on your booking page: {length} min with {who}, "
        f"{format_range(booked.start, booked.end, zone)} ({zone}).",
    )
    raise web.HTTPSeeOther(links.booking_links(result.booking.id, settings=app.settings, absolute=False).page)


async def _already_booked(app: App, key: str) -> web.Response | None:
    """When this very form (same token) already reserved the time, finish that booking and show it."""
    existing = await asyncio.to_thread(app.storage.bookings.by_idempotency_key, key)
    if existing is None or not existing.status.active:
        return None
    if existing.status == BookingStatus.HELD:  # a twin request is between hold and confirm: confirm is idempotent
        result = await app.bookings.confirm(existing.id)
        if not isinstance(result, Booked):
            return None
        existing = result.booking
    raise web.HTTPSeeOther(links.booking_links(existing.id, settings=app.settings, absolute=False).page)


async def _taken_page(
    request: web.Request,
    coach: Coach,
    taken: Taken,
    *,
    tz: str,
    length: int,
    start: datetime,
    moving: _Moving | None = None,
) -> web.Response:
    return await _week_page(
        request,
        coach,
        tz=tz,
        tz_known=True,
        length=length,
        week=start.astimezone(load_zone(tz)).date(),
        moving=moving,
        banner=f"{taken.reason} Here are fresh times.",
        alternatives=taken.alternatives.slots,
        near=start,
        status=409,
    )


# --- confirmation, manage, cancel, reschedule, .ics -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Owned:
    booking: Booking
    coach: Person | None
    guest: Person | None
    token: str


async def _owned(request: web.Request, token: str | None = None) -> _Owned:
    app = get_app(request)
    booking_id = request.match_info["booking_id"]
    token = token if token is not None else request.query.get("token", "")
    try:
        links.read_manage_token(token, booking_id, settings=app.settings)
    except links.BadLink as exc:
        raise web.HTTPForbidden(
            text=page("message.html", title="Link not valid", heading="This link is not valid", message=str(exc)).text,
            content_type="text/html",
        ) from None
    booking = await asyncio.to_thread(app.storage.bookings.get, booking_id)
    if booking is None:
        raise web.HTTPNotFound(
            text=page("message.html", title="Not found", heading="Not found", message="No such booking.").text,
            content_type="text/html",
        )
    coach = await asyncio.to_thread(app.storage.people.get, booking.coach_id)
    guest = (
        await asyncio.to_thread(app.storage.people.get, booking.participant_ids[0]) if booking.participant_ids else None
    )
    return _Owned(booking, coach, guest, token)


def _booking_page(
    request: web.Request, owned: _Owned, *, manage: bool, done: str = "", error: str = ""
) -> web.Response:
    app = get_app(request)
    b = owned.booking
    tz = owned.guest.timezone if owned.guest else (owned.coach.timezone if owned.coach else "UTC")
    urls = links.booking_links(b.id, settings=app.settings, absolute=False)
    handle = owned.coach.handle if owned.coach and owned.coach.handle else ""
    reschedule_url = ""
    if handle and b.status == BookingStatus.CONFIRMED and b.end > app.clock():
        reschedule_url = f"/book/{handle}?{urlencode({'tz': tz, 'reschedule': b.id, 'token': owned.token})}"
    return page(
        "booking.html",
        status=400 if error else 200,
        booking=b,
        coach=owned.coach,
        guest=owned.guest,
        when=format_range(b.start, b.end, tz),
        tz=tz,
        urls=urls,
        token=owned.token,
        manage=manage,
        done=done,
        error=error,
        active=b.status.active,
        can_change=b.status == BookingStatus.CONFIRMED and b.end > app.clock(),
        reschedule_url=reschedule_url,
    )


async def booking_page(request: web.Request) -> web.Response:
    return _booking_page(request, await _owned(request), manage=False)


async def manage_page(request: web.Request) -> web.Response:
    done = request.query.get("done", "")
    return _booking_page(request, await _owned(request), manage=True, done=done if done in ("cancelled",) else "")


async def cancel_submit(request: web.Request) -> web.Response:
    form = await request.post()
    owned = await _owned(request, str(form.get("token", "")))
    app = get_app(request)
    by = owned.booking.participant_ids[0] if owned.booking.participant_ids else owned.booking.coach_id
    try:
        cancelled = await app.bookings.cancel(owned.booking.id, by=by)
    except BookingError as exc:
        return _booking_page(request, owned, manage=True, error=str(exc))
    await _tell_coach(
        app,
        cancelled,
        lambda who, zone: f"{who} cancelled the session on "
        f"{format_range(cancelled.start, cancelled.end, zone)} ({zone}).",
    )
    urls = links.booking_links(owned.booking.id, settings=app.settings, absolute=False)
    raise web.HTTPSeeOther(urls.manage + "&done=cancelled")


async def reschedule_form(request: web.Request) -> web.Response:
    owned = await _owned(request)
    app = get_app(request)
    tz, _ = _zone_param(request, None, owned.guest.timezone if owned.guest else "UTC")
    start = _start_param(request.query.get("start"))
    if start is None or owned.booking.status != BookingStatus.CONFIRMED:
        return _booking_page(request, owned, manage=True, error="That time could not be read; please pick again.")
    return page(
        "reschedule.html",
        booking=owned.booking,
        coach=owned.coach,
        old_when=format_range(owned.booking.start, owned.booking.end, tz),
        new_when=format_range(start, start + owned.booking.interval.duration, tz),
        start_key=_key(start),
        tz=tz,
        token=owned.token,
        nonce=uuid.uuid4().hex,
        back_url=links.booking_links(owned.booking.id, settings=app.settings, absolute=False).manage,
    )


async def reschedule_submit(request: web.Request) -> web.Response:
    form = await request.post()
    owned = await _owned(request, str(form.get("token", "")))
    app = get_app(request)
    tz, _ = _zone_param(None, str(form.get("tz", "")), owned.guest.timezone if owned.guest else "UTC")
    start = _start_param(str(form.get("start", "")))
    nonce = str(form.get("nonce", ""))
    if start is None or not _TOKEN.match(nonce):
        return _booking_page(request, owned, manage=True, error="That time could not be read; please pick again.")
    old = owned.booking
    key = _idempotency_key("move", nonce, old.id, _key(start))
    existing = await asyncio.to_thread(app.storage.bookings.by_idempotency_key, key)
    if existing is not None:
        raise web.HTTPSeeOther(links.booking_links(existing.id, settings=app.settings, absolute=False).page)
    coach = await find_coach(app, owned.coach.handle) if owned.coach and owned.coach.handle else None
    if coach is None:
        return _booking_page(request, owned, manage=True, error="This coach no longer takes bookings here.")
    length = int(old.interval.duration.total_seconds() // 60)
    moving = _Moving(old, owned.token)
    by = old.participant_ids[0] if old.participant_ids else old.coach_id
    if not await _offered(app, coach, start, length):
        taken = await _fresh_times(app, coach, Interval(start, start + old.interval.duration))
        return await _taken_page(request, coach, taken, tz=tz, length=length, start=start, moving=moving)
    try:
        result = await app.bookings.reschedule(
            old.id, new_slot=Interval(start, start + old.interval.duration), by=by, idempotency_key=key
        )
    except BookingError as exc:
        return _booking_page(request, owned, manage=True, error=str(exc))
    if isinstance(result, Taken):
        return await _taken_page(request, coach, result, tz=tz, length=length, start=start, moving=moving)
    assert isinstance(result, Booked)
    moved = result.booking
    await _tell_coach(
        app,
        moved,
        lambda who, zone: f"{who} moved the session from {format_range(old.start, old.end, zone)} to "
        f"{format_range(moved.start, moved.end, zone)} ({zone}).",
    )
    raise web.HTTPSeeOther(links.booking_links(result.booking.id, settings=app.settings, absolute=False).page)


def booking_ics(booking: Booking, *, coach_name: str, guest_name: str, manage_url: str, now: datetime) -> bytes:
    """The booking as an iCalendar file (METHOD:PUBLISH, one VEVENT) for the visitor's calendar."""
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//schedbot//web booking//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"{booking.id}@schedbot")
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", booking.start.astimezone(UTC))
    event.add("dtend", booking.end.astimezone(UTC))
    event.add("summary", f"Coaching session: {coach_name} and {guest_name}")
    event.add("description", f"Booked with schedbot. Cancel or reschedule: {manage_url}")
    event.add("url", manage_url)
    event.add("status", "CONFIRMED" if booking.status.active else "CANCELLED")
    event.add("transp", "OPAQUE")
    cal.add_component(event)
    return bytes(cal.to_ical())


async def booking_ics_download(request: web.Request) -> web.Response:
    owned = await _owned(request)
    app = get_app(request)
    manage = links.booking_links(owned.booking.id, settings=app.settings).manage
    body = booking_ics(
        owned.booking,
        coach_name=owned.coach.display_name if owned.coach else "your coach",
        guest_name=owned.guest.display_name if owned.guest else "you",
        manage_url=manage,
        now=app.clock(),
    )
    return web.Response(
        body=body,
        content_type="text/calendar",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="booking-{owned.booking.id}.ics"',
            "Cache-Control": "no-store",
        },
    )


_ID = "{booking_id:[A-Za-z0-9_-]+}"


def register(server: web.Application) -> None:
    r = server.router
    r.add_get("/book/{handle}", book_page)
    r.add_get("/book/{handle}/book", details_form)
    r.add_post("/book/{handle}/book", book_submit)
    r.add_get(f"/booking/{_ID}.ics", booking_ics_download)
    r.add_get(f"/booking/{_ID}", booking_page)
    r.add_get(f"/booking/{_ID}/manage", manage_page)
    r.add_post(f"/booking/{_ID}/cancel", cancel_submit)
    r.add_get(f"/booking/{_ID}/reschedule", reschedule_form)
    r.add_post(f"/booking/{_ID}/reschedule", reschedule_submit)
