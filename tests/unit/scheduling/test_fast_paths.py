"""The slot search's fast paths against the plain computations they stand in for.

Each fast path (midnights from one offset lookup a day, hours expanded from that table, one-pass merge and
widening, bisection in a short-vs-long intersection, explanations counted for the whole rest of the window,
start times and dates read from the table) is checked against the straightforward version, with DST days in
both hemispheres, 30-minute shifts, clock changes at midnight and a skipped day.
"""

from __future__ import annotations

import io
import struct
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.scheduling import search
from bot.scheduling.intervals import (
    Interval,
    intersect_spans,
    merge_sorted_spans,
    merge_spans,
    merge_widen_sorted,
)
from bot.scheduling.localtime import (
    DayClock,
    expand_hours,
    expand_hours_on,
    local_date,
    local_dates,
    local_days,
    local_epoch,
)
from bot.scheduling.model import BusyEvent, ClockRange, Participant, SlotRequest, WeeklyHours

Span = tuple[int, int]

# (zone, a local date near one of its clock changes)
CHANGES = [
    ("America/New_York", date(2026, 3, 8)),  # spring forward 02:00 -> 03:00
    ("America/New_York", date(2026, 11, 1)),  # fall back 02:00 -> 01:00
    ("Europe/Berlin", date(2026, 3, 29)),
    ("Europe/Berlin", date(2026, 10, 25)),
    ("Australia/Lord_Howe", date(2026, 4, 5)),  # 30-minute shift
    ("Australia/Lord_Howe", date(2026, 10, 4)),
    ("Australia/Sydney", date(2026, 4, 5)),
    ("Australia/Sydney", date(2026, 10, 4)),
    ("Asia/Kolkata", date(2026, 3, 8)),  # no change at all
    ("America/Santiago", date(2026, 9, 6)),  # spring forward at midnight: 00:00 does not exist
    ("America/Santiago", date(2026, 4, 5)),  # fall back at midnight: 23:00-24:00 twice
    ("America/Havana", date(2026, 3, 8)),  # 00:00 -> 01:00
    ("America/Havana", date(2026, 11, 1)),  # 01:00 -> 00:00: midnight happens twice
    ("Asia/Beirut", date(2026, 3, 29)),
    ("Asia/Beirut", date(2026, 10, 25)),  # 00:00 -> 23:00 the day before
    ("Pacific/Apia", date(2011, 12, 30)),  # a whole day skipped
    ("Africa/Casablanca", date(2026, 2, 15)),  # Ramadan: two changes a month apart
    ("Pacific/Chatham", date(2026, 4, 5)),  # +13:45 / +12:45
]


def ts(text: str, zone: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp())


def window(zone: str, day: date, *, before: int = 3, after: int = 4, shift: int = 0) -> Span:
    tz = ZoneInfo(zone)
    start = datetime(day.year, day.month, day.day, tzinfo=tz) - timedelta(days=before)
    end = datetime(day.year, day.month, day.day, tzinfo=tz) + timedelta(days=after)
    return int(start.timestamp()) + shift, int(end.timestamp()) + shift


# --- local_days -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("zone", "day"), CHANGES)
@pytest.mark.parametrize("shift", [0, 1, 3600 * 5 + 17, -3600 * 7])
def test_local_days_matches_local_epoch_around_clock_changes(zone: str, day: date, shift: int) -> None:
    tz = ZoneInfo(zone)
    for before, after in ((3, 4), (0, 1), (1, 0), (40, 40)):
        bounds = window(zone, day, before=before, after=after, shift=shift)
        if bounds[1] <= bounds[0]:
            continue
        days = local_days(tz, bounds)
        expected = list(local_dates(bounds, tz))
        assert days.dates == expected
        assert days.midnights == [local_epoch(d, 0, tz) for d in [*expected, expected[-1] + timedelta(days=1)]]


def test_local_days_new_york_spring_forward_table() -> None:
    tz = ZoneInfo("America/New_York")
    days = local_days(tz, (ts("2026-03-07 00:00", "America/New_York"), ts("2026-03-10 00:00", "America/New_York")))
    assert days.dates == [date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 9)]
    assert [b - a for a, b in zip(days.midnights, days.midnights[1:], strict=False)] == [86400, 82800, 86400]
    assert [days.ordinary(i) for i in range(3)] == [True, False, True]


def test_local_days_santiago_midnight_in_the_gap_is_the_jump() -> None:
    tz = ZoneInfo("America/Santiago")
    days = local_days(tz, window("America/Santiago", date(2026, 9, 6), before=1, after=1))
    i = days.dates.index(date(2026, 9, 6))
    # 00:00 does not exist that day: the day starts when the clock jumps to 01:00 (04:00Z).
    assert days.midnights[i] == int(datetime(2026, 9, 6, 4, tzinfo=UTC).timestamp())
    assert datetime.fromtimestamp(days.midnights[i], tz).hour == 1


def test_local_days_apia_skipped_day_is_empty() -> None:
    tz = ZoneInfo("Pacific/Apia")
    days = local_days(tz, window("Pacific/Apia", date(2011, 12, 30), before=2, after=2))
    i = days.dates.index(date(2011, 12, 30))
    assert days.midnights[i] == days.midnights[i + 1]


# --- expand_hours_on --------------------------------------------------------------------------------------


def reference_hours(hours: WeeklyHours, tz: ZoneInfo, bounds: Span) -> list[Span]:
    """Day by day with DayClock, merged, clipped: the plain algorithm."""
    clock = DayClock(tz)
    spans: list[Span] = []
    for day in local_dates(bounds, tz):
        for r in hours.ranges_on(day):
            start, end = clock.at(day, r.start), clock.at(day, r.end)
            if start < end:
                spans.append((start, end))
    return [
        (max(a, bounds[0]), min(b, bounds[1])) for a, b in merge_spans(spans) if max(a, bounds[0]) < min(b, bounds[1])
    ]


ranges_strategy = st.lists(st.tuples(st.integers(0, 48), st.integers(1, 48)), max_size=3).map(
    lambda pairs: tuple(ClockRange(a * 30, b * 30) for a, b in pairs if a < b)
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    change=st.sampled_from(CHANGES),
    weekly=st.lists(ranges_strategy, min_size=7, max_size=7),
    overrides=st.dictionaries(st.integers(-3, 4), ranges_strategy, max_size=3),
    shift=st.integers(-86400, 86400),
    length=st.integers(1, 9 * 86400),
)
def test_expand_hours_on_matches_day_by_day(
    change: tuple[str, date],
    weekly: list[tuple[ClockRange, ...]],
    overrides: dict[int, tuple[ClockRange, ...]],
    shift: int,
    length: int,
) -> None:
    zone, day = change
    tz = ZoneInfo(zone)
    hours = WeeklyHours(tuple(weekly), {day + timedelta(days=k): v for k, v in overrides.items()})
    start = window(zone, day, before=3, after=0)[0] + shift
    bounds = (start, start + length)
    spans, crosses = expand_hours_on(hours, local_days(tz, bounds), bounds)
    assert spans == reference_hours(hours, tz, bounds)
    assert spans == expand_hours(hours, tz, bounds)
    if not crosses:  # then no span runs across a local midnight
        midnights = local_days(tz, bounds).midnights
        assert not any(a < m < b for a, b in spans for m in midnights)


def test_expand_hours_on_says_when_hours_join_across_midnight() -> None:
    tz = ZoneInfo("Europe/Berlin")
    bounds = window("Europe/Berlin", date(2026, 3, 29), before=2, after=2)
    night = WeeklyHours(tuple((ClockRange(0, 120), ClockRange(1320, 1440)) for _ in range(7)))
    spans, crosses = expand_hours_on(night, local_days(tz, bounds), bounds)
    assert crosses
    assert spans == reference_hours(night, tz, bounds)
    day = WeeklyHours(tuple((ClockRange(540, 1020),) for _ in range(7)))
    assert expand_hours_on(day, local_days(tz, bounds), bounds)[1] is False


# --- merge_widen_sorted -----------------------------------------------------------------------------------


def widen_reference(spans: list[Span], before: int, after: int) -> tuple[list[Span], list[Span]]:
    merged = merge_sorted_spans(sorted(spans))
    return merged, merge_sorted_spans([(s - before, e + after) for s, e in merged])


@pytest.mark.parametrize(
    ("spans", "before", "after", "merged", "widened"),
    [
        ([], 5, 5, [], []),
        ([(10, 20)], 0, 0, [(10, 20)], [(10, 20)]),
        ([(10, 20)], 3, 4, [(10, 20)], [(7, 24)]),
        ([(10, 20), (20, 30)], 0, 0, [(10, 30)], [(10, 30)]),  # touching spans join
        ([(10, 20), (27, 30)], 3, 4, [(10, 20), (27, 30)], [(7, 34)]),  # a gap of exactly before + after joins
        ([(10, 20), (28, 30)], 3, 4, [(10, 20), (28, 30)], [(7, 24), (25, 34)]),  # one second more does not
        ([(10, 50), (12, 20), (30, 40)], 1, 1, [(10, 50)], [(9, 51)]),  # nested
        ([(10, 20), (10, 30), (10, 15)], 0, 2, [(10, 30)], [(10, 32)]),  # equal starts in any order
    ],
)
def test_merge_widen_sorted_cases(
    spans: list[Span], before: int, after: int, merged: list[Span], widened: list[Span]
) -> None:
    assert merge_widen_sorted(spans, before, after) == (merged, widened)


@given(
    spans=st.lists(st.tuples(st.integers(0, 500), st.integers(1, 60)).map(lambda p: (p[0], p[0] + p[1]))),
    before=st.integers(0, 30),
    after=st.integers(0, 30),
)
def test_merge_widen_sorted_matches_merge_then_widen(spans: list[Span], before: int, after: int) -> None:
    ordered = sorted(spans, key=lambda s: s[0])  # sorted by start only, as the search sorts
    assert merge_widen_sorted(ordered, before, after) == widen_reference(spans, before, after)


# --- intersect_spans, short against long ------------------------------------------------------------------

merged_lists = st.lists(st.tuples(st.integers(0, 2000), st.integers(1, 40)), max_size=80).map(
    lambda pairs: merge_spans((a, a + n) for a, n in pairs)
)


def points(spans: list[Span]) -> set[int]:
    return {t for a, b in spans for t in range(a, b)}


@given(few=merged_lists.map(lambda s: s[:4]), many=merged_lists)
def test_intersect_short_with_long_matches_point_sets(few: list[Span], many: list[Span]) -> None:
    for a, b in ((few, many), (many, few)):
        result = intersect_spans(a, b)
        assert result == merge_spans(result)  # sorted, disjoint, apart
        assert points(result) == points(a) & points(b)


def test_intersect_sparse_keeps_a_long_span_for_the_next_short_one() -> None:
    many = [(0, 1), (3, 4), (5, 100), (200, 201), (300, 301), (400, 401), (500, 501), (600, 601)]
    assert intersect_spans([(10, 20), (30, 40)], many) == [(10, 20), (30, 40)]
    assert intersect_spans(many, [(0, 4), (50, 60)]) == [(0, 1), (3, 4), (50, 60)]


# --- explanations: counted at once == counted day by day; fast formatting == datetime formatting ----------

ALL_DAY = tuple((ClockRange(0, 1440),) for _ in range(7))


def _participant(zone: str, hours: WeeklyHours, busy: list[tuple[int, int, str]], **kw: Any) -> Participant:
    events = tuple(
        BusyEvent(
            Interval(datetime.fromtimestamp(a, UTC), datetime.fromtimestamp(b, UTC)),
            kind="booking" if kind == "booking" else "event",
        )
        for a, b, kind in busy
    )
    return Participant(id="p", timezone=zone, hours=hours, busy=events, **kw)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    change=st.sampled_from(CHANGES),
    weekly=st.lists(ranges_strategy, min_size=7, max_size=7),
    busy=st.lists(
        st.tuples(st.integers(0, 8 * 96), st.integers(1, 12), st.sampled_from(["event", "event", "booking"])),
        max_size=40,
    ),
    buffers=st.tuples(st.integers(0, 30), st.integers(0, 30)),
    limit=st.integers(0, 30),
    max_per_day=st.one_of(st.none(), st.integers(0, 2)),
    duration=st.sampled_from([15, 30, 60]),
)
def test_explanations_counted_at_once_match_day_by_day(
    change: tuple[str, date],
    weekly: list[tuple[ClockRange, ...]],
    busy: list[tuple[int, int, str]],
    buffers: tuple[int, int],
    limit: int,
    max_per_day: int | None,
    duration: int,
) -> None:
    zone, day = change
    bounds = window(zone, day, before=3, after=4, shift=3600)
    spans = [(bounds[0] + q * 900, bounds[0] + (q + n) * 900, kind) for q, n, kind in busy]
    p = _participant(
        zone,
        WeeklyHours(tuple(weekly), {day: weekly[0]}),
        spans,
        buffer_before=timedelta(minutes=buffers[0]),
        buffer_after=timedelta(minutes=buffers[1]),
        max_per_day=max_per_day,
    )
    request = SlotRequest(
        now=datetime.fromtimestamp(bounds[0], UTC),
        duration=timedelta(minutes=duration),
        window=Interval(datetime.fromtimestamp(bounds[0], UTC), datetime.fromtimestamp(bounds[1], UTC)),
        participants=(p,),
    )
    plan = search._plan(p, request, bounds, duration * 60)
    results = []
    for bulk in (True, False):
        lines = search._Lines(limit)
        search._explain_person(plan, lines, bounds=bounds, duration=duration * 60, named=False, bulk=bulk)
        results.append((lines.lines, lines.dropped))
    assert results[0] == results[1]
    everything = search._Lines(10_000)
    search._explain_person(plan, everything, bounds=bounds, duration=duration * 60, named=False)
    assert len(everything.lines) == len(results[0][0]) + results[0][1]  # the count is what wording all would give
    assert everything.lines[:limit] == results[0][0]


@pytest.mark.parametrize(("zone", "day"), CHANGES)
def test_fast_range_text_matches_datetime_formatting(zone: str, day: date) -> None:
    tz = ZoneInfo(zone)
    days = local_days(tz, window(zone, day, before=2, after=2))
    for i in range(len(days.dates)):
        lo, hi = days.midnights[i], days.midnights[i + 1]
        if lo == hi:
            continue
        for a, b in ((lo, hi), (lo, lo + 1), (lo + 3599, hi - 61), (lo + 34_200, lo + 36_000), (hi - 900, hi)):
            if lo <= a < b <= hi:
                assert search._fmt_range_on((a, b), days, i) == search._fmt_range((a, b), tz)


@pytest.mark.parametrize(("zone", "day"), CHANGES)
@pytest.mark.parametrize("step", [5, 15, 25, 45, 60, 90])
def test_aligned_starts_and_dates_match_the_zone_conversions(zone: str, day: date, step: int) -> None:
    tz = ZoneInfo(zone)
    bounds = window(zone, day, before=1, after=2)
    days = local_days(tz, bounds)
    for moment in range(bounds[0], bounds[1] - 2 * 86400 // 3, 1234):
        aligned = search._aligned(moment, days, step * 60)
        assert aligned == search._aligned_at_or_after(moment, tz, step * 60)
        if aligned < bounds[1]:
            assert search._date_of(aligned, days) == local_date(aligned, tz)


# --- a made-up zone whose clock jumps across midnight (no real zone does it today) ------------------------


def _tzif(transitions: list[tuple[int, int]], offsets: list[int]) -> bytes:
    """A minimal version-1 TZif file: ``offsets`` (seconds east of UTC, one type each) and the transitions
    ``(epoch, type index)`` between them."""
    names = b"".join(b"Z%d\x00" % i for i in range(len(offsets)))
    header = b"TZif" + b"\x00" + b"\x00" * 15 + struct.pack(">6l", 0, 0, 0, len(transitions), len(offsets), len(names))
    body = b"".join(struct.pack(">l", t) for t, _ in transitions)
    body += bytes(i for _, i in transitions)
    body += b"".join(struct.pack(">lBB", off, int(i > 0), 3 * i) for i, off in enumerate(offsets))
    return header + body + names


def _made_up_zone() -> ZoneInfo:
    # UTC+0 until 2026-03-07 23:30Z, when the clock jumps to 00:30 (UTC+1): 8 March starts at the jump.
    # Back to UTC+0 at 2026-10-24 23:30Z (00:30 -> 23:30): 23:30-24:00 on 24 October happens twice.
    jump = int(datetime(2026, 3, 7, 23, 30, tzinfo=UTC).timestamp())
    back = int(datetime(2026, 10, 24, 23, 30, tzinfo=UTC).timestamp())
    return ZoneInfo.from_file(io.BytesIO(_tzif([(jump, 1), (back, 0)], [0, 3600])), key="Test/Midnight_Jump")


@pytest.mark.parametrize("day", [date(2026, 3, 8), date(2026, 10, 25)])
def test_local_days_with_a_clock_change_across_midnight(day: date) -> None:
    tz = _made_up_zone()
    for before, after in ((3, 3), (0, 1), (1, 0), (0, 3)):
        start = int(datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp())
        bounds = (start - before * 86400, start + after * 86400)
        days = local_days(tz, bounds)
        expected = list(local_dates(bounds, tz))
        assert days.dates == expected
        assert days.midnights == [local_epoch(d, 0, tz) for d in [*expected, expected[-1] + timedelta(days=1)]]
    if day == date(2026, 3, 8):
        days = local_days(tz, (start - 86400, start + 86400))
        assert days.midnights[1] == int(datetime(2026, 3, 7, 23, 30, tzinfo=UTC).timestamp())  # the jump


def test_slots_in_a_zone_whose_clock_jumps_across_midnight() -> None:
    tz = _made_up_zone()
    hours = WeeklyHours(ALL_DAY)
    bounds = (int(datetime(2026, 3, 6, tzinfo=UTC).timestamp()), int(datetime(2026, 3, 10, tzinfo=UTC).timestamp()))
    days = local_days(tz, bounds)
    assert expand_hours_on(hours, days, bounds)[0] == reference_hours(hours, tz, bounds)
    for step in (15, 25, 60):
        for moment in range(bounds[0], bounds[1] - 86400, 977):
            assert search._aligned(moment, days, step * 60) == search._aligned_at_or_after(moment, tz, step * 60)
