"""Busy time from iCalendar (RFC 5545) data: ``.ics`` files, exports and feeds.

``parse_ics`` turns calendar text into the ``BusyEvent``s overlapping a window; ``load_ics_file`` reads a file
first, with a size cap.  Recurrences (RRULE with UNTIL/COUNT, RDATE, EXDATE, RECURRENCE-ID overrides, moved
and cancelled instances) are expanded by ``recurring_ical_events``; parsing is done by ``icalendar``.  Both
are blocking and CPU-bound: call these functions through ``asyncio.to_thread`` from async code.

How times are read
    * ``...Z`` times are UTC; ``TZID=`` times are read in their zone (a VTIMEZONE in the file, an IANA name,
      or a Windows zone name that icalendar knows).
    * Floating times (no zone) are read in the calendar's ``X-WR-TIMEZONE`` when it names a real zone (that is
      what Google's exports mean by it), else in ``default_tz``.
    * An unknown ``TZID`` (no VTIMEZONE, no such zone) is NOT an error: icalendar leaves such a time floating
      and it is read like a floating time.  Refusing a whole calendar for one odd zone name helps nobody.
    * DATE (all-day) events cover ``[local midnight of DTSTART, local midnight of DTEND)`` in ``default_tz``,
      with ``all_day=True``; without DTEND they last DURATION, else one day.
    * A DATE-TIME event without DTEND lasts DURATION, else nothing: zero-length instances are skipped.
    * ``TRANSP:TRANSPARENT`` -> ``transparency="transparent"``; ``STATUS:TENTATIVE`` -> ``status="tentative"``;
      ``STATUS:CANCELLED`` instances are dropped.  VFREEBUSY ``FREEBUSY`` periods count too (FBTYPE BUSY,
      BUSY-UNAVAILABLE, BUSY-TENTATIVE -> tentative, unknown types -> busy as RFC 5545 says; FREE ignored).
    * Titles never leave this module: ``BusyEvent`` has no title, and no error message quotes calendar
      content, only file names, UIDs, property names and dates.

Limits
    Every instance overlapping the window counts towards ``max_instances``; one more raises ``IcsError``.
    recurring_ical_events 3.8 has no cheap lazy path: ``between`` returns a list, and ``after`` is a
    generator that re-queries day-sized (down to 15-minute) chunks, each of which makes dateutil walk the
    rule again from DTSTART.  So before the library is asked anything, each RRULE (and RDATE) is walked
    lazily here with dateutil, in the rule's own local time, EXDATEs skipped, stopping at the window's end:
    more than ``max_instances`` instances overlapping the window, or more than ``EXPANSION_BUDGET``
    repetitions walked in the whole calendar (e.g. ``FREQ=MINUTELY`` begun years ago), raise ``IcsError``
    before anything large is built; then one exact ``between`` call expands the window.  A rule that can
    never match (e.g. ``FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30``) still costs dateutil some seconds to
    find out; that is dateutil's limit (it gives up by itself), not an unbounded one.

Other choices
    * Instance ends are DTSTART + (DTEND - DTSTART) or + DURATION in local wall-clock time, as
      recurring_ical_events computes them (icalendar reads ``P1D`` and ``PT24H`` alike).
    * Error messages name events by UID (printable, quotes removed, at most 80 characters) or by position.
      Library exceptions are chained as ``__cause__`` for the logs; their text, which may quote calendar
      lines, is never part of the message.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.scheduling.intervals import Interval
from bot.scheduling.model import BusyEvent, EventStatus, Transparency

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_INSTANCES",
    "EXPANSION_BUDGET",
    "IcsError",
    "load_ics_file",
    "parse_ics",
]

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_INSTANCES = 5000
# Repetitions dateutil may walk, in the whole calendar, from each DTSTART up to the window (about 0.5 s).
EXPANSION_BUDGET = 200_000
_LABEL = "the calendar"


class IcsError(ValueError):
    """A calendar that cannot be turned into busy time.  One line, safe to show the person who shared it."""


# --- public API -----------------------------------------------------------------------------------------


def parse_ics(
    data: bytes | str,
    *,
    window: Interval,
    default_tz: str = "UTC",
    max_instances: int = DEFAULT_MAX_INSTANCES,
    source: str | None = None,
) -> list[BusyEvent]:
    """Busy time of every event instance overlapping ``window`` (half-open), sorted by start.

    Raises ``IcsError`` (and nothing else) for anything that is not a usable calendar.
    """
    return _parse(data, window=window, default_tz=default_tz, max_instances=max_instances, source=source, label=_LABEL)


def load_ics_file(
    path: str | os.PathLike[str],
    *,
    window: Interval,
    default_tz: str = "UTC",
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_instances: int = DEFAULT_MAX_INSTANCES,
    source: str | None = None,
) -> list[BusyEvent]:
    """``parse_ics`` of a file, refused before reading when larger than ``max_bytes``.

    ``source`` (stored in each ``BusyEvent``) defaults to the path as given.  Messages name the file by its
    base name, never by its contents.
    """
    try:
        fs_path = os.fspath(path)
    except TypeError:
        raise IcsError(f"bad calendar path {path!r}") from None
    if not isinstance(fs_path, str) or not fs_path:
        raise IcsError("no calendar file given")
    name = os.path.basename(fs_path.rstrip("/\\")) or fs_path
    data = _read_capped(Path(fs_path), name=name, max_bytes=max_bytes)
    return _parse(
        data,
        window=window,
        default_tz=default_tz,
        max_instances=max_instances,
        source=fs_path if source is None else source,
        label=name,
    )


# --- reading files ----------------------------------------------------------------------------------------


def _human_size(n: int) -> str:
    mib = 1024 * 1024
    if n >= mib and n % mib == 0:
        return f"{n // mib} MB"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024} KB"
    return f"{n} bytes"


def _read_capped(path: Path, *, name: str, max_bytes: int) -> bytes:
    if max_bytes < 1:
        raise IcsError("max_bytes must be at least 1")
    too_big = f"{name} is larger than {_human_size(max_bytes)}"
    try:
        info = path.stat()
    except FileNotFoundError:
        raise IcsError(f"{name} does not exist") from None
    except PermissionError:
        raise IcsError(f"{name} cannot be read (permission denied)") from None
    except (OSError, ValueError):
        raise IcsError(f"{name} cannot be read") from None
    if stat.S_ISDIR(info.st_mode):
        raise IcsError(f"{name} is a directory, not a calendar file")
    if not stat.S_ISREG(info.st_mode):
        # FIFOs, devices and sockets could block or never end.
        raise IcsError(f"{name} is not a regular file")
    if info.st_size > max_bytes:
        raise IcsError(too_big)
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)  # the file may have grown since stat()
    except PermissionError:
        raise IcsError(f"{name} cannot be read (permission denied)") from None
    except IsADirectoryError:
        raise IcsError(f"{name} is a directory, not a calendar file") from None
    except (OSError, ValueError):
        raise IcsError(f"{name} cannot be read") from None
    if len(data) > max_bytes:
        raise IcsError(too_big)
    return data


# --- parsing ----------------------------------------------------------------------------------------------


def _parse(
    data: bytes | str,
    *,
    window: Interval,
    default_tz: str,
    max_instances: int,
    source: str | None,
    label: str,
) -> list[BusyEvent]:
    if not isinstance(window, Interval):
        raise IcsError("window must be an Interval")
    if not isinstance(max_instances, int) or max_instances < 1:
        raise IcsError("max_instances must be at least 1")
    zone = _zone(default_tz)
    raw = _check_text(data, label)
    if window.empty:
        return []
    try:
        return _collect(raw, window=window, zone=zone, max_instances=max_instances, source=source, label=label)
    except IcsError:
        raise
    except Exception as exc:  # icalendar, recurring_ical_events, dateutil: keep their text (may quote content)
        raise IcsError(f"{label} could not be read as iCalendar ({type(exc).__name__})") from exc


def _zone(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not name or name.startswith("/") or ".." in name:
        raise IcsError(f"unknown time zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise IcsError(f"unknown time zone {name!r} (use an IANA name such as 'Europe/Berlin')") from None


def _check_text(data: bytes | str, label: str) -> bytes:
    """Bytes for icalendar (a ``str`` without line breaks would be opened as a file path by icalendar)."""
    if isinstance(data, str):
        raw = data.encode("utf-8", errors="replace")
    elif isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
    else:
        raise IcsError(f"{label}: expected text or bytes, not {type(data).__name__}")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            raw = raw.decode("utf-16").encode("utf-8")
        except UnicodeError:
            raise IcsError(f"{label} is not an iCalendar file (binary data)") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    stripped = raw.strip()
    if not stripped:
        raise IcsError(f"{label} is empty")
    if b"\x00" in raw:
        raise IcsError(f"{label} is not an iCalendar file (binary data)")
    if not stripped[:15].upper() == b"BEGIN:VCALENDAR":
        raise IcsError(f"{label} is not an iCalendar file (no BEGIN:VCALENDAR)")
    if b"END:VCALENDAR" not in stripped[-4096:].upper():
        raise IcsError(f"{label} is incomplete (no END:VCALENDAR at the end; was it cut off?)")
    return raw


def _collect(
    raw: bytes, *, window: Interval, zone: ZoneInfo, max_instances: int, source: str | None, label: str
) -> list[BusyEvent]:
    import icalendar
    import recurring_ical_events

    try:
        parsed = icalendar.Calendar.from_ical(raw, multiple=True)
    except Exception as exc:
        raise IcsError(f"{label} is not a valid iCalendar file (it could not be parsed)") from exc
    calendars = [c for c in parsed if getattr(c, "name", None) == "VCALENDAR"]
    if not calendars:
        raise IcsError(f"{label} is not a valid iCalendar file (no complete VCALENDAR)")

    out: list[BusyEvent] = []
    seen = 0

    def count() -> None:
        nonlocal seen
        seen += 1
        if seen > max_instances:
            raise _too_many(label, max_instances, window)

    budget = _Budget(EXPANSION_BUDGET)
    for calendar in calendars:
        floating = _floating_zone(calendar, zone)
        events = list(calendar.walk("VEVENT"))
        lengths = [_validate_event(ev, i, floating, label) for i, ev in enumerate(events)]
        _guard_expansion(
            events,
            lengths,
            window=window,
            floating=floating,
            max_instances=max_instances,
            budget=budget,
            label=label,
        )
        # Pin floating times to their zone, so that recurring_ical_events selects exactly the instances that
        # overlap the window; the query is made in default_tz, where it reads all-day (DATE) events.
        _pin_floating_times(events, floating)
        query = recurring_ical_events.of(calendar, components=("VEVENT",))
        for occurrence in query.between(window.start.astimezone(zone), window.end.astimezone(zone)):
            busy = _busy_from_event(occurrence, floating=floating, all_day_zone=zone, source=source, label=label)
            if busy is None or not busy.interval.overlaps(window):
                continue
            count()
            if busy.status != "cancelled":
                out.append(busy)
        for busy in _busy_from_freebusy(calendar, floating=floating, source=source, label=label):
            if busy.interval.overlaps(window):
                count()
                out.append(busy)
    out.sort(key=lambda b: (b.interval.start, b.interval.end))
    return out


def _too_many(label: str, max_instances: int, window: Interval) -> IcsError:
    return IcsError(f"{label} has more than {max_instances} events between {_fmt(window.start)} and {_fmt(window.end)}")


def _fmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _floating_zone(calendar: Any, default: ZoneInfo) -> tzinfo:
    """X-WR-TIMEZONE when it names a real zone, else ``default``.

    The property is then removed: floating times are pinned here, and recurring_ical_events would otherwise
    rewrite times through ``x_wr_timezone``, which mistakes zones without a TZNAME for floating ones.
    """
    value = calendar.pop("X-WR-TIMEZONE", None)
    if value is None:
        return default
    if isinstance(value, list):
        value = value[0]
    try:
        return ZoneInfo(str(value).strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return default  # an unusable hint: ignore it rather than fail the calendar


# --- events -----------------------------------------------------------------------------------------------


def _uid(event: Any, index: int) -> str:
    value = event.get("UID")
    text = str(value) if value is not None and not isinstance(value, list) else ""
    text = "".join(ch for ch in text if ch.isprintable() and ch not in "'\"")[:80]
    return f"event '{text}'" if text else f"event #{index + 1}"


def _single(component: Any, name: str, label: str, what: str) -> Any:
    value = component.get(name)
    if isinstance(value, list):
        raise IcsError(f"{label}: {what} has more than one {name}")
    return value


def _to_utc(value: object, zone: tzinfo) -> datetime:
    """A DATE is local midnight in ``zone``; a naive (floating) time is read in ``zone``."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            value = value.replace(tzinfo=zone)
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=zone).astimezone(UTC)
    raise TypeError(f"not a date or time: {type(value).__name__}")


def _plus_duration(start: object, duration: timedelta, zone: tzinfo) -> datetime:
    """``start + duration`` in local wall-clock time, as recurring_ical_events computes instance ends.

    (icalendar reads ``P1D`` and ``PT24H`` into the same ``timedelta``, so RFC 5545's nominal/exact
    distinction is lost before we see it; across a DST change a DURATION is wall-clock time.)
    """
    if isinstance(start, datetime):
        local = start if start.tzinfo is not None and start.utcoffset() is not None else start.replace(tzinfo=zone)
    elif isinstance(start, date):
        local = datetime.combine(start, time(), tzinfo=zone)
    else:
        raise TypeError(f"not a date or time: {type(start).__name__}")
    return (local + duration).astimezone(UTC)


def _bounds(
    component: Any, *, floating: tzinfo, all_day_zone: tzinfo, label: str, what: str
) -> tuple[datetime, datetime, bool]:
    start_prop = _single(component, "DTSTART", label, what)
    if start_prop is None:
        raise IcsError(f"{label}: {what} has no start (DTSTART)")
    start_value = start_prop.dt
    all_day = isinstance(start_value, date) and not isinstance(start_value, datetime)
    zone = all_day_zone if all_day else floating
    start = _to_utc(start_value, zone)
    end_prop = _single(component, "DTEND", label, what)
    duration_prop = _single(component, "DURATION", label, what)
    if end_prop is not None:
        end_value = end_prop.dt
        end_zone = all_day_zone if not isinstance(end_value, datetime) else floating
        end = _to_utc(end_value, end_zone)
    elif duration_prop is not None:
        duration = duration_prop.dt
        if not isinstance(duration, timedelta):
            raise IcsError(f"{label}: {what} has an unreadable DURATION value")
        end = _plus_duration(start_value, duration, zone)
    elif all_day:
        end = _to_utc(start_value + timedelta(days=1), zone)
    else:
        end = start
    if end < start:
        raise IcsError(f"{label}: {what} has an end before its start")
    return start, end, all_day


def _validate_event(event: Any, index: int, floating: tzinfo, label: str) -> timedelta:
    """Check one VEVENT as written; return its length (used to bound the expansion guard)."""
    what = _uid(event, index)
    errors = getattr(event, "errors", None) or []
    if errors:
        prop = str(errors[0][0]) if isinstance(errors[0], tuple) and errors[0] else "property"
        raise IcsError(f"{label}: {what} has an unreadable {prop[:40]} value")
    start, end, _ = _bounds(event, floating=floating, all_day_zone=floating, label=label, what=what)
    for name in ("RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"):
        for prop in _as_list(event.get(name)):
            try:
                _ = prop.dts if name in ("RDATE", "EXDATE") else (prop.dt if name == "RECURRENCE-ID" else prop)
            except Exception:
                raise IcsError(f"{label}: {what} has an unreadable {name} value") from None
    return end - start


def _pin_floating_times(events: Iterable[Any], floating: tzinfo) -> None:
    """Give floating DATE-TIMEs the zone they are read in, in place; DATEs stay dates.

    (Not ``x_wr_timezone.to_standard``: it takes any time whose ``tzname()`` is None for floating, which
    clobbers Outlook's VTIMEZONEs, as they carry no TZNAME.)  A floating DTSTART comes with a floating
    UNTIL (RFC 5545); once DTSTART has a zone, UNTIL must be in UTC.
    """
    from icalendar.prop import vDDDLists, vDDDTypes

    def pin(value: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=floating)
        return value

    for event in events:
        for name in ("DTSTART", "DTEND", "RECURRENCE-ID"):
            prop = event.get(name)
            if prop is not None and isinstance(prop.dt, datetime) and prop.dt.tzinfo is None:
                event[name] = vDDDTypes(pin(prop.dt))
        for name in ("RDATE", "EXDATE"):
            props = _as_list(event.get(name))
            if any(isinstance(item.dt, datetime) and item.dt.tzinfo is None for p in props for item in p.dts):
                pinned = []
                for p in props:
                    values = [item.dt for item in p.dts]
                    values = [(pin(v[0]), pin(v[1])) if isinstance(v, tuple) else pin(v) for v in values]
                    pinned.append(vDDDLists(values))
                event[name] = pinned if len(pinned) > 1 else pinned[0]
        start = event["DTSTART"].dt
        if not isinstance(start, datetime):
            continue
        for rule in _as_list(event.get("RRULE")):
            untils = rule.get("UNTIL") or []
            if untils and isinstance(untils[0], datetime) and untils[0].tzinfo is None:
                rule["UNTIL"] = [untils[0].replace(tzinfo=floating).astimezone(UTC)]


def _busy_from_event(
    component: Any, *, floating: tzinfo, all_day_zone: tzinfo, source: str | None, label: str
) -> BusyEvent | None:
    start, end, all_day = _bounds(
        component, floating=floating, all_day_zone=all_day_zone, label=label, what=_uid(component, 0)
    )
    if end <= start:
        return None
    transparency: Transparency = "opaque"
    if str(component.get("TRANSP", "")).strip().upper() == "TRANSPARENT":
        transparency = "transparent"
    raw_status = str(component.get("STATUS", "")).strip().upper()
    status: EventStatus = "confirmed"
    if raw_status == "CANCELLED":
        status = "cancelled"
    elif raw_status == "TENTATIVE":
        status = "tentative"
    return BusyEvent(Interval(start, end), transparency=transparency, all_day=all_day, status=status, source=source)


def _busy_from_freebusy(calendar: Any, *, floating: tzinfo, source: str | None, label: str) -> list[BusyEvent]:
    out: list[BusyEvent] = []
    for block in calendar.walk("VFREEBUSY"):
        if getattr(block, "errors", None):
            raise IcsError(f"{label}: a free/busy block (VFREEBUSY) has an unreadable value")
        for period in _as_list(block.get("FREEBUSY")):
            fbtype = str(getattr(period, "params", {}).get("FBTYPE", "BUSY")).strip().upper()
            if fbtype == "FREE":
                continue
            try:
                first, second = period.dt
            except (AttributeError, TypeError, ValueError):
                raise IcsError(f"{label}: a free/busy block (VFREEBUSY) has an unreadable period") from None
            start = _to_utc(first, floating)
            end = start + second if isinstance(second, timedelta) else _to_utc(second, floating)
            if end < start:
                raise IcsError(f"{label}: a free/busy period ({_fmt(start)}) ends before it starts")
            if end == start:
                continue
            status: EventStatus = "tentative" if fbtype == "BUSY-TENTATIVE" else "confirmed"
            out.append(BusyEvent(Interval(start, end), status=status, source=source))
    return out


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


# --- expansion guard ----------------------------------------------------------------------------------------


class _Budget:
    def __init__(self, steps: int) -> None:
        self.left = steps
        self.total = steps


def _naive_in(value: object, zone: tzinfo) -> datetime:
    """Wall-clock time in ``zone`` (dates are midnight), the frame dateutil walks a rule in."""
    if isinstance(value, datetime):
        if value.tzinfo is not None and value.utcoffset() is not None:
            return value.astimezone(zone).replace(tzinfo=None)
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    raise TypeError(f"not a date or time: {type(value).__name__}")


def _guard_expansion(
    events: Iterable[Any],
    lengths: list[timedelta],
    *,
    window: Interval,
    floating: tzinfo,
    max_instances: int,
    budget: _Budget,
    label: str,
) -> None:
    """Walk each recurrence lazily up to the window's end before recurring_ical_events expands it."""
    from dateutil.rrule import rrulestr

    near = 0
    for index, event in enumerate(events):
        rules = _as_list(event.get("RRULE"))
        rdates = _as_list(event.get("RDATE"))
        if "RECURRENCE-ID" in event or not (rules or rdates):
            continue
        what = _uid(event, index)
        start_value = event["DTSTART"].dt
        zone = floating
        if isinstance(start_value, datetime) and start_value.tzinfo is not None:
            zone = start_value.tzinfo
        low = _naive_in(window.start - lengths[index], zone)
        high = _naive_in(window.end, zone)
        excluded: set[datetime] = set()
        excluded_days: set[date] = set()
        for prop in _as_list(event.get("EXDATE")):
            for item in prop.dts:
                value = item.dt
                if isinstance(value, datetime):
                    excluded.add(_naive_in(value, zone))
                elif isinstance(value, date):
                    excluded_days.add(value)
        for rule in rules:
            parts = [p for p in rule.to_ical().decode().split(";") if p and not p.upper().startswith("UNTIL=")]
            untils = rule.get("UNTIL") or []
            until = _naive_in(untils[0], zone) if untils else None
            try:
                dates = rrulestr(";".join(parts), dtstart=_naive_in(start_value, zone), cache=False)
            except (ValueError, TypeError, KeyError, IndexError):
                raise IcsError(f"{label}: {what} has a repeat rule (RRULE) that cannot be read") from None
            for moment in dates:
                budget.left -= 1
                if budget.left < 0:
                    raise IcsError(
                        f"{label}: {what} repeats too often to expand (more than {budget.total} repetitions "
                        f"before {_fmt(window.end)})"
                    )
                if moment >= high or (until is not None and moment > until):
                    break
                if moment < low or moment in excluded or moment.date() in excluded_days:
                    continue
                near += 1
                if near > max_instances:
                    raise _too_many(label, max_instances, window)
        for prop in rdates:
            for item in prop.dts:
                value = item.dt
                first = value[0] if isinstance(value, tuple) else value
                if low <= _naive_in(first, zone) < high:
                    near += 1
                    if near > max_instances:
                        raise _too_many(label, max_instances, window)
