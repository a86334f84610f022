"""Local wall-clock rules expanded into UTC spans, one local date at a time, so DST days come out right.

A wall time that does not exist (the spring-forward gap) maps to the instant the clock jumps to; a wall
time that happens twice (fall back) means its first occurrence.  A range therefore lasts as long as real
time passes between its ends: 01:00-03:00 is one hour on the US spring-forward day and three on fall-back.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.scheduling.intervals import Span
from bot.scheduling.model import ClockRange, Policy, WeeklyHours

__all__ = [
    "DayClock",
    "day_span",
    "expand_hours",
    "expand_policy",
    "local_date",
    "local_dates",
    "local_epoch",
    "wall_minutes",
]

_ONE_DAY = timedelta(days=1)


def local_epoch(day: date, minute: int, zone: ZoneInfo) -> int:
    """Epoch seconds of wall time ``minute`` (0..1440) on local ``day``."""
    if minute >= 1440:
        day = day + timedelta(days=minute // 1440)
        minute %= 1440
    moment = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=zone)
    as_utc = int(moment.timestamp())
    back = datetime.fromtimestamp(as_utc, zone)
    if back.hour * 60 + back.minute == minute and back.date() == day:
        return as_utc
    # The wall time falls in a spring-forward gap.  Its two readings (offset before / after the jump) lie on
    # either side of the jump; the jump itself is the first real instant at or after that wall time.
    other = int(moment.replace(fold=1).timestamp())
    lo, hi = min(as_utc, other), max(as_utc, other)
    target = datetime.fromtimestamp(hi, zone).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).utcoffset() == target:
            hi = mid
        else:
            lo = mid
    return hi


class DayClock:
    """Local midnights of one zone, each computed once: a day without a clock change is ``midnight + minutes``.

    Made per search (never shared between calls), so it is a memo of this computation, not a global cache.
    """

    __slots__ = ("_midnights", "zone")

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._midnights: dict[date, int] = {}

    def midnight(self, day: date) -> int:
        found = self._midnights.get(day)
        if found is None:
            found = self._midnights[day] = local_epoch(day, 0, self.zone)
        return found

    def at(self, day: date, minute: int) -> int:
        """``local_epoch(day, minute)``, fast on ordinary days."""
        start = self.midnight(day)
        if minute == 0:
            return start
        end = self.midnight(day + _ONE_DAY)
        if end - start == 86400:
            return start + minute * 60
        return local_epoch(day, minute, self.zone)

    def day_span(self, day: date) -> Span:
        return (self.midnight(day), self.midnight(day + _ONE_DAY))


def local_date(epoch: int, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(epoch, zone).date()


def wall_minutes(epoch: int, zone: ZoneInfo) -> int:
    moment = datetime.fromtimestamp(epoch, zone)
    return moment.hour * 60 + moment.minute


def local_dates(span: Span, zone: ZoneInfo) -> Iterator[date]:
    """Every local date that ``span`` touches, in order."""
    first = local_date(span[0], zone)
    last = local_date(max(span[0], span[1] - 1), zone)
    day = first
    while day <= last:
        yield day
        day += _ONE_DAY


def day_span(day: date, zone: ZoneInfo) -> Span:
    return (local_epoch(day, 0, zone), local_epoch(day, 1440, zone))


def _clip(spans: list[Span], bounds: Span) -> list[Span]:
    lo, hi = bounds
    out: list[Span] = []
    for start, end in spans:
        start = max(start, lo)
        end = min(end, hi)
        if start < end:
            out.append((start, end))
    return out


def _ranges_to_spans(day: date, ranges: tuple[ClockRange, ...], clock: DayClock) -> list[Span]:
    out: list[Span] = []
    for r in ranges:
        start = clock.at(day, r.start)
        end = clock.at(day, r.end)
        if start < end:
            if out and start <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], end))
            else:
                out.append((start, end))
    return out


def expand_hours(hours: WeeklyHours, zone: ZoneInfo, bounds: Span, clock: DayClock | None = None) -> list[Span]:
    """Working time inside ``bounds`` as merged UTC spans."""
    clock = clock or DayClock(zone)
    out: list[Span] = []
    for day in local_dates(bounds, zone):
        for span in _ranges_to_spans(day, hours.ranges_on(day), clock):
            if out and span[0] <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], span[1]))
            else:
                out.append(span)
    return _clip(out, bounds)


def expand_policy(policy: Policy, zone: ZoneInfo, bounds: Span, clock: DayClock | None = None) -> list[Span]:
    """Time the organisation allows inside ``bounds``, in this zone's local time."""
    clock = clock or DayClock(zone)
    earliest = policy.earliest if policy.earliest is not None else 0
    latest = policy.latest if policy.latest is not None else 1440
    out: list[Span] = []
    for day in local_dates(bounds, zone):
        if day.weekday() not in policy.weekdays:
            continue
        span = (clock.at(day, earliest), clock.at(day, latest))
        if span[0] >= span[1]:
            continue
        if out and span[0] <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], span[1]))
        else:
            out.append(span)
    return _clip(out, bounds)
