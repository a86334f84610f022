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
from bot.scheduling.model import Policy, WeeklyHours

__all__ = [
    "DayClock",
    "LocalDays",
    "day_span",
    "expand_hours",
    "expand_hours_on",
    "expand_policy",
    "local_date",
    "local_dates",
    "local_days",
    "local_epoch",
    "wall_minutes",
]

_ONE_DAY = timedelta(days=1)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


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

    Times count seconds from ``base`` epoch seconds (``local_epoch(...) - base``); 0 gives epoch seconds.
    Made per search (never shared between calls), so it is a memo of this computation, not a global cache.
    """

    __slots__ = ("_midnights", "base", "zone")

    def __init__(self, zone: ZoneInfo, base: int = 0) -> None:
        self.zone = zone
        self.base = base
        self._midnights: dict[date, int] = {}

    def midnight(self, day: date) -> int:
        found = self._midnights.get(day)
        if found is None:
            found = self._midnights[day] = local_epoch(day, 0, self.zone) - self.base
        return found

    def at(self, day: date, minute: int) -> int:
        """``local_epoch(day, minute)``, fast on ordinary days."""
        start = self.midnight(day)
        if minute == 0:
            return start
        end = self.midnight(day + _ONE_DAY)
        if end - start == 86400:
            return start + minute * 60
        return local_epoch(day, minute, self.zone) - self.base

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
    """Merged (sorted, disjoint) ``spans`` clipped to ``bounds``: only the ends of the list can stick out."""
    lo, hi = bounds
    if lo >= hi:
        return []
    first, last = 0, len(spans)
    while first < last and spans[first][1] <= lo:
        first += 1
    while last > first and spans[last - 1][0] >= hi:
        last -= 1
    out = spans[first:last]
    if out:
        if out[0][0] < lo:
            out[0] = (lo, out[0][1])
        if out[-1][1] > hi:
            out[-1] = (out[-1][0], hi)
    return out


class LocalDays:
    """The local dates that a span touches in one zone, in order, with their midnights in seconds from ``base``
    epoch seconds: ``dates[i]`` runs from ``midnights[i]`` to ``midnights[i + 1]`` (one midnight more than dates).

    ``midnights[i]`` is ``local_epoch(dates[i], 0, zone) - base``.  Made per search, never shared between calls.
    """

    __slots__ = ("base", "dates", "midnights", "zone")

    def __init__(self, zone: ZoneInfo, dates: list[date], midnights: list[int], base: int = 0) -> None:
        self.zone = zone
        self.dates = dates
        self.midnights = midnights
        self.base = base

    def ordinary(self, index: int) -> bool:
        """Whether ``dates[index]`` lasts 24 hours (no clock change), so wall time is midnight + minutes."""
        return self.midnights[index + 1] - self.midnights[index] == 86400


def local_days(zone: ZoneInfo, bounds: Span, base: int = 0) -> LocalDays:
    """Every local date that ``bounds`` touches (as ``local_dates``) and the midnight of each, plus the next one;
    ``bounds`` and the midnights count seconds from ``base`` epoch seconds.

    One offset lookup per midnight: wall midnight minus the zone's offset then.  Where the offset differs from
    the previous midnight's, a clock change lies between them, and both midnights are worked out exactly by
    ``local_epoch`` (one of them may fall in a gap or happen twice); so is the last one, whose next is not looked at.
    """
    first = local_date(bounds[0] + base, zone)
    last = local_date(max(bounds[0], bounds[1] - 1) + base, zone)
    count = (last - first).days + 2  # midnights
    dates: list[date] = []
    midnights: list[int] = []
    changes: list[int] = []
    utcoffset = zone.utcoffset
    naive = datetime(first.year, first.month, first.day)  # noqa: DTZ001 - a wall time, to ask the zone its offset
    wall = (first.toordinal() - _EPOCH_ORDINAL) * 86400 - base  # the day's wall midnight, read as UTC, from base
    known: timedelta | None = None
    known_seconds = 0
    day = first
    for i in range(count):
        offset = utcoffset(naive)
        if offset is not known:
            seconds = 0 if offset is None else offset.days * 86400 + offset.seconds
            if i and seconds != known_seconds:
                changes.append(i)
            known, known_seconds = offset, seconds
        midnights.append(wall - known_seconds)
        dates.append(day)
        day += _ONE_DAY
        naive += _ONE_DAY
        wall += 86400
    for i in changes:
        midnights[i - 1] = local_epoch(dates[i - 1], 0, zone) - base
        midnights[i] = local_epoch(dates[i], 0, zone) - base
    midnights[-1] = local_epoch(dates[-1], 0, zone) - base
    dates.pop()
    return LocalDays(zone, dates, midnights, base)


def expand_hours_on(hours: WeeklyHours, days: LocalDays, bounds: Span) -> tuple[list[Span], bool]:
    """``expand_hours`` over precomputed ``days`` (which must cover ``bounds``), and whether a span may run across
    a local midnight (hours that end at 24:00 joined to the next day's hours from 00:00).  Without that, each span
    lies inside one local date.  Spans count seconds from ``days.base``, as ``bounds`` do."""
    zone, base = days.zone, days.base
    dates, midnights = days.dates, days.midnights
    weekly = [tuple((r.start * 60, r.end * 60) for r in ranges) for ranges in hours.days]
    overrides = hours.overrides
    out: list[Span] = []
    crosses = False
    weekday = dates[0].weekday() if dates else 0
    for i, day in enumerate(dates):
        ranges = hours.days[weekday]
        seconds: tuple[tuple[int, int], ...] | None = weekly[weekday]
        weekday = weekday + 1 if weekday < 6 else 0
        if overrides and day in overrides:
            ranges, seconds = overrides[day], None
        if not ranges:
            continue
        start_of_day = midnights[i]
        first_of_day = len(out)
        if midnights[i + 1] - start_of_day == 86400:
            if seconds is None:
                seconds = tuple((r.start * 60, r.end * 60) for r in ranges)
            # Normalised ranges on a 24-hour day: sorted, non-empty, apart; only the first can touch the day before.
            a, b = seconds[0]
            start = start_of_day + a
            if out and start <= out[-1][1]:
                out[-1] = (out[-1][0], start_of_day + b)
                crosses = True
            else:
                out.append((start, start_of_day + b))
            for a, b in seconds[1:]:
                out.append((start_of_day + a, start_of_day + b))
            continue
        end_of_day = midnights[i + 1]
        for r in ranges:  # a clock change: exact, as DayClock.at does it
            start = start_of_day if r.start == 0 else local_epoch(day, r.start, zone) - base
            end = end_of_day if r.end == 1440 else local_epoch(day, r.end, zone) - base
            if start < end:
                if out and start <= out[-1][1]:
                    out[-1] = (out[-1][0], max(out[-1][1], end))
                    crosses = crosses or len(out) == first_of_day
                else:
                    out.append((start, end))
    return _clip(out, bounds), crosses


def expand_hours(hours: WeeklyHours, zone: ZoneInfo, bounds: Span) -> list[Span]:
    """Working time inside ``bounds`` as merged UTC spans (midnights from ``local_days``)."""
    return expand_hours_on(hours, local_days(zone, bounds), bounds)[0]


def expand_policy(policy: Policy, zone: ZoneInfo, bounds: Span, clock: DayClock | None = None) -> list[Span]:
    """Time the organisation allows inside ``bounds``, in this zone's local time.  ``bounds`` and the result
    count seconds from ``clock.base`` (epoch seconds without a clock)."""
    clock = clock or DayClock(zone)
    base = clock.base
    earliest = policy.earliest if policy.earliest is not None else 0
    latest = policy.latest if policy.latest is not None else 1440
    out: list[Span] = []
    for day in local_dates((bounds[0] + base, bounds[1] + base), zone):
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
