"""Slot search: conflict-free start times for one or more people, ranked, with reasons for what was left out.

Everything runs on integer seconds (``Span``) counted from ``SEARCH_EPOCH`` (small numbers: see intervals.py);
local rules are expanded per local date with zoneinfo.  Epoch seconds come in (the window, ``now``) and go out
(the slots, the times in explanations) only at the edges.

Buffers: a new session ``[s, e)`` with the coach's buffers ``b`` (before) and ``a`` (after) needs
``[s - b, e + a)`` clear of busy events; an existing *booking* also keeps its own buffers, so around a
booking the gap is ``max(b, a)`` on both sides (buffers may overlap each other, never a session).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import repeat
from operator import itemgetter, lt
from zoneinfo import ZoneInfo

from bot.scheduling.intervals import (
    SEARCH_EPOCH,
    Span,
    from_epoch,
    intersect_spans,
    merge_spans,
    merge_widen_sorted,
    split_spans,
    subtract_spans,
    to_epoch_ceil,
)
from bot.scheduling.localtime import (
    DayClock,
    LocalDays,
    expand_hours_on,
    expand_policy,
    local_date,
    local_dates,
    local_days,
)
from bot.scheduling.model import (
    BUSY_ALL_DAY,
    BUSY_BOOKING,
    BUSY_CANCELLED,
    BUSY_EMPTY,
    BUSY_TENTATIVE,
    BUSY_TRANSPARENT,
    WEEKDAYS,
    Participant,
    Slot,
    SlotRequest,
    SlotResult,
)

__all__ = ["find_slots", "free_spans"]

_SPREAD_MAX = 5  # asking for this many or fewer spreads them over days
_start_of = itemgetter(0)
_end_of = itemgetter(1)


@dataclass(slots=True)
class _Plan:
    """One participant's expanded day: what is workable, what is busy, what is left."""

    participant: Participant
    zone: ZoneInfo
    days: LocalDays  # the local dates of the window, with their midnights
    crosses: bool  # whether a span of working hours may run across a local midnight
    hours: list[Span]  # working hours in the window, before policy
    allowed: list[Span]  # working hours that policy and limits allow
    busy: list[Span]  # merged busy time as it is (no buffers)
    blocked: list[Span]  # merged busy time widened by buffers
    free: list[Span]  # allowed minus blocked
    busy_allowed: list[Span]  # allowed and busy
    buffers: list[Span]  # allowed and blocked, minus busy: the allowed time that buffers keep free
    feasible: list[Span]  # half-open ranges of start times where the whole session fits
    full_days: dict[date, str]  # local dates closed by a daily or weekly limit, with the reason


def _seconds(delta: timedelta) -> int:
    return int(delta.total_seconds())


def _plan(p: Participant, request: SlotRequest, bounds: Span, duration: int) -> _Plan:
    """``bounds`` and every span of the plan count seconds from ``SEARCH_EPOCH``."""
    zone = p.zone
    clock = DayClock(zone, SEARCH_EPOCH)
    days = local_days(zone, bounds, SEARCH_EPOCH)
    hours, crosses = expand_hours_on(p.hours, days, bounds)
    allowed = hours
    if not request.policy.unrestricted:
        allowed = intersect_spans(allowed, expand_policy(request.policy, zone, bounds, clock))

    before, after = _seconds(p.buffer_before), _seconds(p.buffer_after)
    widest = max(before, after)
    skip = (
        BUSY_CANCELLED
        | BUSY_TRANSPARENT
        | (0 if p.all_day_blocks else BUSY_ALL_DAY)
        | (0 if p.tentative_blocks else BUSY_TENTATIVE)
    )
    # Calendar events: one sort by start (the order among equal starts does not change a merge), then one pass
    # merges them and, widened by the buffers, merges them again.  A new session needs its after-buffer clear
    # before an event and its before-buffer after it.
    if p.all_day_blocks or not p.tentative_blocks:
        # Every other bit is ignored, and all-day (1) and tentative (2) are the lowest: an event counts exactly
        # when its flags are below 4 (both count), 2 (all-day events only) or 1 (neither).
        below = 4 if p.tentative_blocks else 2 if p.all_day_blocks else 1
        events = [ev.search_span for ev in p.busy if ev.flags < below]
    else:
        ignore = skip | BUSY_EMPTY | BUSY_BOOKING  # once, not once per event
        events = [ev.search_span for ev in p.busy if not ev.flags & ignore]
    events.sort(key=_start_of)
    busy, blocked = merge_widen_sorted(events, after, before)
    booking_starts: list[int] = []
    if p.busy_flags & BUSY_BOOKING:
        # Bookings keep their own buffers too: the gap around them is the wider of the two.
        bookings = [ev.search_span for ev in p.busy if ev.flags & (skip | BUSY_BOOKING) == BUSY_BOOKING]
        # Daily and weekly limits count bookings anywhere in the ISO weeks the window touches.
        count_lo, count_hi = bounds[0] - 8 * 86400, bounds[1] + 8 * 86400
        booking_starts = [s for s, _ in bookings if count_lo <= s <= count_hi]
        if bookings:
            held = merge_spans(bookings)
            busy = merge_spans([*busy, *held])
            blocked = merge_spans([*blocked, *((s - widest, e + widest) for s, e in held)])

    limited = p.max_per_day is not None or p.max_per_week is not None
    full_days = _full_days(p, zone, booking_starts, bounds) if limited else {}
    if full_days:
        allowed = subtract_spans(allowed, merge_spans(clock.day_span(d) for d in full_days))

    # Busy time lies inside blocked time, so allowed & busy is (allowed & blocked) & busy.
    free, busy_allowed, buffers = split_spans(allowed, blocked, busy)
    feasible = [(a, b - duration + 1) for a, b in free if b - a >= duration]
    return _Plan(
        p, zone, days, crosses, hours, allowed, busy, blocked, free, busy_allowed, buffers, feasible, full_days
    )


def _full_days(p: Participant, zone: ZoneInfo, booking_starts: list[int], bounds: Span) -> dict[date, str]:
    days = Counter(local_date(s + SEARCH_EPOCH, zone) for s in booking_starts)
    # Days without bookings count too: a limit of 0 closes them.
    for day in local_dates((bounds[0] + SEARCH_EPOCH, bounds[1] + SEARCH_EPOCH), zone):
        days[day] += 0
    full: dict[date, str] = {}
    if p.max_per_day is not None:
        for day, count in days.items():
            if count >= p.max_per_day:
                full[day] = f"daily limit of {p.max_per_day} sessions reached"
    if p.max_per_week is not None:
        weeks: Counter[tuple[int, int]] = Counter()
        for day, count in days.items():
            weeks[day.isocalendar()[:2]] += count
        for (year, week), count in weeks.items():
            if count >= p.max_per_week:
                monday = date.fromisocalendar(year, week, 1)
                for i in range(7):
                    full.setdefault(monday + timedelta(days=i), f"weekly limit of {p.max_per_week} sessions reached")
    return full


def free_spans(participant: Participant, request: SlotRequest) -> list[Span]:
    """The participant's free time inside the request window (hours, policy, busy and buffers applied), in
    epoch seconds."""
    bounds = _search_bounds(request)
    free = _plan(participant, request, bounds, _seconds(request.duration)).free
    return [(a + SEARCH_EPOCH, b + SEARCH_EPOCH) for a, b in free]


def _search_bounds(request: SlotRequest) -> Span:
    start, end = request.window.span()
    return (start - SEARCH_EPOCH, end - SEARCH_EPOCH)


# --- combining participants --------------------------------------------------------------------------------


def _segments(plans: Sequence[_Plan], needed: int, clip: Span) -> Iterable[tuple[int, int, tuple[str, ...]]]:
    """Start-time ranges where at least ``needed`` people are free for the whole session, and who they are."""
    ids = tuple(p.participant.id for p in plans)
    if len(plans) == 1:  # one person: taken lazily, as the ranking stops once it has enough
        return _clipped(plans[0].feasible, clip, ids)
    if needed == len(plans):
        common = [clip]
        for plan in plans:
            common = intersect_spans(common, plan.feasible)
            if not common:
                return []
        return [(a, b, ids) for a, b in common]
    events: list[tuple[int, int, int]] = []  # (time, +1/-1 ordering: ends before starts, participant index)
    for index, plan in enumerate(plans):
        for a, b in intersect_spans([clip], plan.feasible):
            events.append((a, 1, index))
            events.append((b, 0, index))
    events.sort()
    out: list[tuple[int, int, tuple[str, ...]]] = []
    active: set[int] = set()
    prev: int | None = None
    for moment, kind, index in events:
        if prev is not None and moment > prev and len(active) >= needed:
            members = tuple(ids[i] for i in sorted(active))
            if out and out[-1][1] == prev and out[-1][2] == members:
                out[-1] = (out[-1][0], moment, members)
            else:
                out.append((prev, moment, members))
        if kind == 1:
            active.add(index)
        else:
            active.discard(index)
        prev = moment
    return out


def _clipped(spans: list[Span], clip: Span, ids: tuple[str, ...]) -> Iterator[tuple[int, int, tuple[str, ...]]]:
    """``intersect_spans([clip], spans)``, one at a time, each with ``ids``."""
    lo, hi = clip
    for i in range(bisect_right(spans, lo, key=_end_of), len(spans)):
        a, b = spans[i]
        if a >= hi:
            return
        yield (a if a > lo else lo, b if b < hi else hi, ids)


# --- aligned start times -----------------------------------------------------------------------------------


def _aligned_at_or_after(moment: int, zone: ZoneInfo, step: int) -> int:
    """The first instant at or after ``moment`` whose local wall time is a multiple of ``step`` after midnight."""
    for _ in range(4):
        offset = _offset(moment, zone)
        wall = moment + offset
        midnight = wall - wall % 86400
        into = wall - midnight
        rounded = -(-into // step) * step
        if rounded > 86400:
            rounded = 86400
        candidate = midnight + rounded - offset
        if _offset(candidate, zone) == offset:
            return candidate
        # The offset changed in between: try again from the change itself (not from the candidate, which can
        # lie past an aligned wall time that the change brought forward, e.g. 03:00 after a 02:00 jump).
        lo, hi = moment, candidate
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if _offset(mid, zone) == offset:
                lo = mid
            else:
                hi = mid
        moment = max(hi, moment + 1)
    return moment


def _offset(moment: int, zone: ZoneInfo) -> int:
    offset = datetime.fromtimestamp(moment, zone).utcoffset()
    return 0 if offset is None else int(offset.total_seconds())


def _aligned(moment: int, days: LocalDays, step: int) -> int:
    """``_aligned_at_or_after`` without time-zone conversions when the answer lies in the same 24-hour day."""
    midnights = days.midnights
    i = bisect_right(midnights, moment) - 1
    if 0 <= i < len(midnights) - 1:
        midnight, next_midnight = midnights[i], midnights[i + 1]
        if next_midnight - midnight == 86400:
            candidate = midnight - (midnight - moment) // step * step  # rounded up to the step
            if candidate < next_midnight:
                return candidate
    base = days.base
    return _aligned_at_or_after(moment + base, days.zone, step) - base


def _runs(
    segments: Iterable[tuple[int, int, tuple[str, ...]]], days: LocalDays, step: int
) -> Iterator[tuple[int, Sequence[int], tuple[str, ...]]]:
    """The aligned start times of the segments in order, in runs: ``(i, starts, members)``, where ``i`` is the
    index of the local date all ``starts`` fall in, or -1 for a single start on a day with a clock change.

    The start after ``t`` is ``_aligned(t + 1)``, not ``t + step``: a spring-forward jump can bring it closer
    than a step.  On a 24-hour day an aligned ``t`` is midnight plus a multiple of ``step``, and there the
    next one is ``t + step`` up to the next midnight: a ``range``.
    """
    midnights = days.midnights
    last = len(midnights) - 1
    for a, b, members in segments:
        i = bisect_right(midnights, a) - 1
        if 0 <= i < last:
            midnight, next_midnight = midnights[i], midnights[i + 1]
            if next_midnight - midnight == 86400 and b <= next_midnight:
                # The whole segment lies in one 24-hour day (the usual case): _aligned(a), inline, and a range.
                t = midnight - (midnight - a) // step * step
                if t < b:
                    yield i, range(t, b, step), members
                continue
        t = _aligned(a, days, step)
        while t < b:
            i = bisect_right(midnights, t) - 1
            if 0 <= i < last:
                midnight, next_midnight = midnights[i], midnights[i + 1]
                if next_midnight - midnight == 86400 and (t - midnight) % step == 0:
                    if b <= next_midnight:
                        yield i, range(t, b, step), members
                        break
                    run = range(t, next_midnight, step)
                    yield i, run, members
                    t = _aligned(run[-1] + 1, days, step)
                    continue
            yield -1, (t,), members
            t = _aligned(t + 1, days, step)


def _date_of(moment: int, days: LocalDays) -> date:
    """``local_date`` from the table of midnights when ``moment`` falls in a 24-hour day of it."""
    midnights = days.midnights
    i = bisect_right(midnights, moment) - 1
    if 0 <= i < len(midnights) - 1 and midnights[i + 1] - midnights[i] == 86400:
        return days.dates[i]
    return local_date(moment + days.base, days.zone)


def _rank(
    segments: Iterable[tuple[int, int, tuple[str, ...]]],
    *,
    table: LocalDays,
    step: int,
    duration: int,
    limit: int,
    spread: bool,
) -> list[tuple[int, tuple[str, ...]]]:
    if not spread:
        out: list[tuple[int, tuple[str, ...]]] = []
        for _, run, members in _runs(segments, table, step):
            out.extend(zip(run[: limit - len(out)], repeat(members)))
            if len(out) == limit:
                break
        return out
    # Spread: the earliest time of each day first, then more per day, never two that overlap on one day.
    days: dict[date, list[tuple[int, tuple[str, ...]]]] = {}
    per_day_cap = limit * max(1, -(-duration // step))
    dates = table.dates
    for i, run, members in _runs(segments, table, step):
        day = dates[i] if i >= 0 else _date_of(run[0], table)
        bucket = days.setdefault(day, [])
        if len(days) > limit:
            del days[day]
            break
        room = per_day_cap - len(bucket)
        if room > 0:
            bucket.extend(zip(run[:room], repeat(members)))
    picked: list[tuple[int, tuple[str, ...]]] = []
    taken: dict[date, list[int]] = {d: [] for d in days}
    while len(picked) < limit:
        progress = False
        for day, bucket in days.items():
            if len(picked) == limit:
                break
            for item in bucket:
                if all(abs(item[0] - t) >= duration for t in taken[day]):
                    taken[day].append(item[0])
                    picked.append(item)
                    progress = True
                    break
        if not progress:
            break
    if len(picked) < limit:  # few days and short ones: fill with overlapping times rather than offer fewer
        chosen = {t for t, _ in picked}
        for bucket in days.values():
            for item in bucket:
                if len(picked) < limit and item[0] not in chosen:
                    picked.append(item)
                    chosen.add(item[0])
    picked.sort()
    return picked


# --- the search --------------------------------------------------------------------------------------------


def find_slots(request: SlotRequest) -> SlotResult:
    """Propose start times where the required participants are all free, with reasons for the rest."""
    duration = _seconds(request.duration)
    step = _seconds(request.step)
    bounds = _search_bounds(request)
    now = to_epoch_ceil(request.now) - SEARCH_EPOCH
    earliest = max(bounds[0], now + _seconds(request.min_notice))
    latest = min(bounds[1] - duration, now + _seconds(request.horizon))

    plans = [_plan(p, request, bounds, duration) for p in request.participants]
    segments = _segments(plans, request.needed, (earliest, latest + 1)) if earliest <= latest else []
    spread = request.ranking == "spread" or (request.ranking is None and request.max_results <= _SPREAD_MAX)
    limit = request.max_results
    chosen = _rank(segments, table=plans[0].days, step=step, duration=duration, limit=limit, spread=spread)
    length = timedelta(seconds=duration)
    slots: list[Slot] = []
    for t, members in chosen:
        start = from_epoch(t + SEARCH_EPOCH)
        slots.append(Slot(start, start + length, members))
    explain = _explain(request, plans, bounds=bounds, earliest=earliest, latest=latest, duration=duration)
    return SlotResult(tuple(slots), tuple(explain))


# --- explanations ------------------------------------------------------------------------------------------


_DAY_NAMES = tuple(name.capitalize() for name in WEEKDAYS)
# English month abbreviations, as strftime("%b") gives them in the C locale (the one Python starts in).
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


_HHMM = tuple(f"{m // 60:02d}:{m % 60:02d}" for m in range(1440))  # wall time after midnight, in minutes


def _fmt_day(day: date) -> str:
    return f"{_DAY_NAMES[day.weekday()]} {day.day} {_MONTH_NAMES[day.month - 1]}"


def _fmt_range(span: Span, zone: ZoneInfo) -> str:
    start = datetime.fromtimestamp(span[0], zone)
    end = datetime.fromtimestamp(span[1], zone)
    end_text = "24:00" if end.date() > start.date() and end.hour == 0 and end.minute == 0 else end.strftime("%H:%M")
    return f"{start.strftime('%H:%M')}-{end_text}"


def _fmt_range_on(span: Span, days: LocalDays, index: int) -> str:
    """``_fmt_range`` of a span inside local date ``days.dates[index]``: on a 24-hour day the wall time is the
    time since midnight (as ``DayClock.at`` has it), which spares two time-zone conversions."""
    midnight = days.midnights[index]
    next_midnight = days.midnights[index + 1]
    if next_midnight - midnight != 86400 or span[1] >= next_midnight:
        # A clock change, or an end at the next midnight, which reads 24:00 unless that midnight is a gap.
        return _fmt_range((span[0] + days.base, span[1] + days.base), days.zone)
    return f"{_HHMM[(span[0] - midnight) // 60]}-{_HHMM[(span[1] - midnight) // 60]}"


def _fmt_moment(moment: int, zone: ZoneInfo) -> str:
    local = datetime.fromtimestamp(moment, zone)
    return f"{_fmt_day(local.date())} {local.strftime('%H:%M')} ({zone.key})"


def _human(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes % 1440 == 0 and minutes >= 1440:
        days = minutes // 1440
        return f"{days} day{'s' if days != 1 else ''}"
    if minutes % 60 == 0 and minutes >= 60:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} min"


class _Lines:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.lines: list[str] = []
        self.dropped = 0

    @property
    def full(self) -> bool:
        return len(self.lines) >= self.limit

    def add(self, line: str) -> None:
        if len(self.lines) < self.limit:
            self.lines.append(line)
        else:
            self.dropped += 1

    def result(self) -> list[str]:
        if self.dropped:
            return [*self.lines, f"... and {self.dropped} more"]
        return self.lines


def _explain(
    request: SlotRequest, plans: Sequence[_Plan], *, bounds: Span, earliest: int, latest: int, duration: int
) -> list[str]:
    lines = _Lines(request.explain_limit)
    host = plans[0].zone
    now = to_epoch_ceil(request.now) - SEARCH_EPOCH
    if earliest > bounds[0]:
        text = _fmt_moment(earliest + SEARCH_EPOCH, host)
        if request.min_notice > timedelta(0) and earliest > now:
            lines.add(f"Before {text}: inside the minimum notice of {_human(request.min_notice)}")
        else:
            lines.add(f"Before {text}: already past")
    horizon_end = now + _seconds(request.horizon)
    if horizon_end < bounds[1] - duration:
        text = _fmt_moment(horizon_end + SEARCH_EPOCH, host)
        lines.add(f"After {text}: beyond the booking horizon of {_human(request.horizon)}")
    if not request.policy.unrestricted:
        policy_lines = _policy_lines(request, plans, bounds)
        for line in policy_lines:
            lines.add(line)
    named = len(plans) > 1
    for plan in plans:
        _explain_person(plan, lines, bounds=bounds, duration=duration, named=named)
    return lines.result()


def _policy_lines(request: SlotRequest, plans: Sequence[_Plan], bounds: Span) -> list[str]:
    policy = request.policy
    out: list[str] = []
    # Compare with policy alone: plan.allowed also lacks the days closed by daily or weekly limits.
    if any(
        intersect_spans(plan.hours, expand_policy(policy, plan.zone, bounds, DayClock(plan.zone, SEARCH_EPOCH)))
        != plan.hours
        for plan in plans
    ):
        banned = [WEEKDAYS[d].capitalize() for d in range(7) if d not in policy.weekdays]
        if banned:
            out.append(f"{', '.join(banned)}: not allowed by organisation policy")
        if policy.earliest is not None or policy.latest is not None:
            first = f"{policy.earliest // 60:02d}:{policy.earliest % 60:02d}" if policy.earliest is not None else None
            last = f"{policy.latest // 60:02d}:{policy.latest % 60:02d}" if policy.latest is not None else None
            if first and last:
                out.append(f"Before {first} and after {last} local time: not allowed by organisation policy")
            elif first:
                out.append(f"Before {first} local time: not allowed by organisation policy")
            elif last:
                out.append(f"After {last} local time: not allowed by organisation policy")
    return out


def _within(spans: Sequence[Span], lo: int, hi: int) -> list[Span]:
    """The spans of a merged list that touch ``[lo, hi)``, clipped to it (found by bisection)."""
    out: list[Span] = []
    for i in range(bisect_right(spans, lo, key=_end_of), len(spans)):
        start, end = spans[i]
        if start >= hi:
            break
        out.append((start if start > lo else lo, end if end < hi else hi))
    return out


def _share(spans: Sequence[Span], lo: int, hi: int) -> Sequence[Span]:
    """``_within`` for a merged list whose spans each lie inside ``[lo, hi)`` or outside it: a slice, unclipped."""
    return spans[bisect_right(spans, lo, key=_end_of) : bisect_left(spans, hi, key=_start_of)]


def _count(spans: Sequence[Span], lo: int, hi: int) -> int:
    """How many spans of a merged list touch ``[lo, hi)`` (``len(_within(spans, lo, hi))`` without building it)."""
    return max(0, bisect_left(spans, hi, key=_start_of) - bisect_right(spans, lo, key=_end_of))


def _explain_person(plan: _Plan, lines: _Lines, *, bounds: Span, duration: int, named: bool, bulk: bool = True) -> None:
    """Why time of this person's was not offered, day by day: worded until ``lines`` is full, then only counted.

    ``bulk=False`` counts day by day even where the whole rest could be counted at once (the tests compare both).
    """
    who = f" ({plan.participant.id})" if named else ""
    hours = plan.participant.hours
    days = plan.days
    dates, midnights = days.dates, days.midnights
    # One sweep over the whole window (in _plan); each day then takes its share by bisection.  Clipping a
    # whole-window intersection to a day gives what intersecting the day's allowed hours would:
    # (A & B) & day = (A & day) & B.
    busy_in_hours, buffers = plan.busy_allowed, plan.buffers
    free = plan.free
    short = f"free, but shorter than {_human(timedelta(seconds=duration))}"
    b0, b1 = bounds
    # Without working hours across a local midnight, every span of them (and of what lies inside them: busy
    # time, buffers, free time) lies inside one local date and inside bounds, so a day's share needs no clipping.
    within = _within if plan.crosses else _share
    weekly, overrides, full_days = hours.days, hours.overrides, plan.full_days
    index, n = 0, len(dates)
    while index < n and not lines.full:
        lo, hi = midnights[index], midnights[index + 1]
        if lo < b0:
            lo = b0
        if hi > b1:
            hi = b1
        if lo < hi:
            day = dates[index]
            ranges = overrides[day] if overrides and day in overrides else weekly[day.weekday()]  # ranges_on
            if not ranges:
                reason = "day off" if day in overrides else "outside working hours"
                lines.add(f"{_fmt_day(day)} {reason}{who}")
            elif full_days and day in full_days:
                lines.add(f"{_fmt_day(day)} {full_days[day]}{who}")
            else:
                label = _fmt_day(day)
                midnight, next_midnight = midnights[index], midnights[index + 1]
                plain = next_midnight - midnight == 86400  # _fmt_range_on's fast case, inline
                day_hours = within(plan.hours, lo, hi)
                covered = 0
                for start, end in day_hours:
                    covered += end - start
                if covered < hi - lo:
                    if plain and day_hours and day_hours[-1][1] < next_midnight:
                        texts = ", ".join(
                            [f"{_HHMM[(a - midnight) // 60]}-{_HHMM[(b - midnight) // 60]}" for a, b in day_hours]
                        )
                    else:
                        texts = ", ".join([_fmt_range_on(span, days, index) for span in day_hours])
                    lines.add(f"{label} outside working hours (hours: {texts or 'none in this window'}){who}")
                # Busy time, buffers and free time are apart: ordered by start alone.
                found: list[tuple[Span, str]] = list(zip(within(busy_in_hours, lo, hi), repeat("busy")))
                found.extend(zip(within(buffers, lo, hi), repeat("kept free as a buffer")))
                for span in within(free, lo, hi):
                    if span[1] - span[0] < duration:
                        found.append((span, short))
                found.sort(key=_start_of)
                worded, limit = lines.lines, lines.limit
                for span, reason in found:
                    if len(worded) >= limit:  # the rest of the day is only counted
                        lines.dropped += 1
                    elif plain and span[1] < next_midnight:
                        worded.append(
                            f"{label} {_HHMM[(span[0] - midnight) // 60]}-{_HHMM[(span[1] - midnight) // 60]}"
                            f" {reason}{who}"
                        )
                    else:
                        worded.append(f"{label} {_fmt_range_on(span, days, index)} {reason}{who}")
        index += 1
    if index == n:
        return
    if plan.crosses or not bulk:
        lines.dropped += _count_days(plan, index, bounds, busy_in_hours, buffers, duration)
        return
    # No span of working hours (so none of what lies inside them) runs across a local midnight: each span belongs
    # to exactly one day, and the rest of the window is counted at once.  Per day only one line can be left:
    # a day off, a day closed by a limit, or a day that working hours do not fill.  So every day of the rest
    # in the window takes a line, but those that working hours fill and no limit closes: such a day is one of
    # the spans of working hours exactly, and a set intersection finds them.
    rest = max(midnights[index], b0)
    dropped = _count(busy_in_hours, rest, b1) + _count(buffers, rest, b1)
    first = bisect_right(free, rest, key=_end_of)
    dropped += sum(1 for a, b in free[first : bisect_left(free, b1, key=_start_of)] if b - a < duration)
    starts, ends = midnights[index:n], midnights[index + 1 :]
    # Only the window's first day can start before it and only its last day end after it.
    if starts[0] < b0:
        starts[0] = b0
    if ends[-1] > b1:
        ends[-1] = b1
    dropped += sum(map(lt, starts, ends))  # the days in the window (a skipped date has none)
    for lo, _ in set(plan.hours).intersection(zip(starts, ends, strict=True)):
        if not (full_days and dates[bisect_right(midnights, lo) - 1] in full_days):
            dropped -= 1
    lines.dropped += dropped


def _count_days(
    plan: _Plan, index: int, bounds: Span, busy_in_hours: list[Span], buffers: list[Span], duration: int
) -> int:
    """The lines that days ``index`` onwards would take, counted day by day."""
    hours = plan.participant.hours
    dates, midnights = plan.days.dates, plan.days.midnights
    free = plan.free
    count = 0
    for i in range(index, len(dates)):
        day = dates[i]
        lo, hi = max(midnights[i], bounds[0]), min(midnights[i + 1], bounds[1])
        if lo >= hi:
            continue
        if not hours.ranges_on(day) or day in plan.full_days:
            count += 1
            continue
        count += sum(end - start for start, end in _within(plan.hours, lo, hi)) < hi - lo
        count += _count(busy_in_hours, lo, hi) + _count(buffers, lo, hi)
        if _count(free, lo, hi):
            count += sum(1 for a, b in _within(free, lo, hi) if b - a < duration)
    return count
