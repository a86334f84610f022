"""A calendar resource's iCalendar data as ``RemoteEvent``s: shared by CalDAV and ICS feeds.

Our booking events carry ``X-SCHEDBOT-BOOKING:<booking id>``; events the calendar's owner declined (their ATTENDEE
has ``PARTSTAT=DECLINED``) are not busy.  Expansion is ``bot.providers.ics.parse_ics`` (capped).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from bot.providers.ics import DEFAULT_MAX_INSTANCES, IcsError, parse_ics
from bot.scheduling.intervals import Interval
from bot.scheduling.model import BusyEvent
from bot.scheduling.ports import ProviderError, RemoteEvent

__all__ = ["BOOKING_PROPERTY", "canonical_url", "remote_events"]

BOOKING_PROPERTY = "X-SCHEDBOT-BOOKING"


def canonical_url(url: str) -> str:
    """One spelling per resource URL (percent-encoding normalised, no query or fragment)."""
    parts = urlsplit(url)
    path = quote(unquote(parts.path), safe="/@:+,;=~!$&'()*")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, "", ""))


def remote_events(
    data: bytes | str,
    *,
    href: str,
    etag: str | None,
    window: Interval,
    default_tz: str,
    owner_addresses: Iterable[str] = (),
    max_instances: int = DEFAULT_MAX_INSTANCES,
    source: str | None = None,
    label: str = "the calendar",
) -> list[RemoteEvent]:
    """The instances of one calendar resource overlapping ``window``, as ``RemoteEvent``s.

    Blocking (icalendar): call through ``asyncio.to_thread``.  Raises ``ProviderError`` for unreadable data.
    """
    import icalendar

    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        calendar = icalendar.Calendar.from_ical(raw)
    except Exception:
        raise ProviderError(f"{label}: an event could not be read as iCalendar") from None
    events = list(calendar.walk("VEVENT"))
    if not events:
        return []
    booking_id: str | None = None
    owners = {a.strip().lower() for a in owner_addresses if a and a.strip()}
    declined_any = False
    for event in events:
        marker = event.get(BOOKING_PROPERTY)
        if marker is not None and booking_id is None:
            booking_id = str(marker[0] if isinstance(marker, list) else marker).strip() or None
        if owners and _owner_declined(event, owners):
            event["STATUS"] = "CANCELLED"
            declined_any = True
    if declined_any:
        raw = calendar.to_ical()
    try:
        busy = parse_ics(raw, window=window, default_tz=default_tz, max_instances=max_instances, source=source)
    except IcsError as exc:
        raise ProviderError(f"{label}: {exc}") from None
    recurring = len(events) > 1 or any("RRULE" in e or "RDATE" in e for e in events)
    base = canonical_url(href)
    out: list[RemoteEvent] = []
    for item in busy:
        if booking_id is not None:
            item = BusyEvent(
                item.interval,
                transparency=item.transparency,
                all_day=item.all_day,
                status=item.status,
                kind="booking",
                source=f"booking:{booking_id}",
            )
        external_id = f"{base}@{item.interval.start.strftime('%Y-%m-%dT%H:%M:%SZ')}" if recurring else base
        out.append(RemoteEvent(external_id=external_id, busy=item, etag=etag, booking_id=booking_id))
    return out


def _owner_declined(event: Any, owners: set[str]) -> bool:
    attendees = event.get("ATTENDEE")
    if attendees is None:
        return False
    for attendee in attendees if isinstance(attendees, list) else [attendees]:
        address = str(attendee).strip().lower()
        bare = address.removeprefix("mailto:")
        if address in owners or bare in owners or f"mailto:{bare}" in owners:
            partstat = str(getattr(attendee, "params", {}).get("PARTSTAT", "")).strip().upper()
            if partstat == "DECLINED":
                return True
    return False
