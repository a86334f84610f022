"""The slot search's fast paths against the plain computations they stand in for.

Each fast path (midnights from one offset lookup a day, hours expanded from that table, one-pass merge and
widening, bisection in a short-vs-long intersection, a three-way split in one pass, explanations counted for
the whole rest of the window, start times and dates read from the table in runs, events picked by comparing
their flags with a bound, times counted from SEARCH_EPOCH) is checked against the straightforward version, with
DST days in both hemispheres, 30-minute shifts, clock changes at midnight and a skipped day.
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
    SEARCH_EPOCH,
    Interval,
    intersect_spans,
    merge_sorted_spans,
    merge_spans,
    merge_widen_sorted,
    split_spans,
    subtract_spans,
)
from bot.scheduling.localtime import (
    DayClock,
    LocalDays,
    expand_hours,
    expand_hours_on,
    local_date,
    local_dates,
    local_days,
    local_epoch,
)
from bot.scheduling.model import BusyEvent, ClockRange, Participant, SlotRequest, WeeklyHours
from bot.scheduling.search import find_slots, free_spans

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
@pytest.mark.parametrize("base", [0, SEARCH_EPOCH])
def test_local_days_matches_local_epoch_around_clock_changes(zone: str, day: date, shift: int, base: int) -> None:
    tz = ZoneInfo(zone)
    for before, after in ((3, 4), (0, 1), (1, 0), (40, 40)):
        bounds = window(zone, day, before=before, after=after, shift=shift)
        if bounds[1] <= bounds[0]:
            continue
        days = local_days(tz, (bounds[0] - base, bounds[1] - base), base)
        expected = list(local_dates(bounds, tz))
        assert days.dates == expected
        assert days.base == base
        midnights = [local_epoch(d, 0, tz) - base for d in [*expected, expected[-1] + timedelta(days=1)]]
        assert days.midnights == midnights


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
    # The same from SEARCH_EPOCH: every number shifted, nothing else.
    near = (bounds[0] - SEARCH_EPOCH, bounds[1] - SEARCH_EPOCH)
    assert expand_hours_on(hours, local_days(tz, near, SEARCH_EPOCH), near) == (
        [(a - SEARCH_EPOCH, b - SEARCH_EPOCH) for a, b in spans],
        crosses,
    )


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


# --- split_spans: three ways in one pass ------------------------------------------------------------------


@given(base=merged_lists, outer=merged_lists, inner=merged_lists, nested=st.booleans())
def test_split_spans_matches_intersect_and_subtract(
    base: list[Span], outer: list[Span], inner: list[Span], nested: bool
) -> None:
    if nested:  # as the search calls it: busy time inside blocked time
        inner = intersect_spans(inner, outer)
    taken = intersect_spans(base, outer)
    assert split_spans(base, outer, inner) == (
        subtract_spans(base, outer),
        intersect_spans(taken, inner),
        subtract_spans(taken, inner),
    )


@pytest.mark.parametrize(
    ("base", "outer", "inner", "expected"),
    [
        ([], [(0, 5)], [(1, 2)], ([], [], [])),
        ([(0, 10)], [], [(1, 2)], ([(0, 10)], [], [])),
        ([(0, 10)], [(2, 8)], [], ([(0, 2), (8, 10)], [], [(2, 8)])),
        # one span of outer (and of inner) over two spans of base
        ([(0, 10), (20, 30)], [(5, 25)], [(8, 22)], ([(0, 5), (25, 30)], [(8, 10), (20, 22)], [(5, 8), (22, 25)])),
        # many spans of outer and inner before base starts are skipped
        (
            [(100, 110)],
            [(i, i + 1) for i in range(0, 90, 3)] + [(105, 120)],
            [(i, i + 1) for i in range(0, 90, 5)],
            ([(100, 105)], [], [(105, 110)]),
        ),
    ],
)
def test_split_spans_cases(
    base: list[Span], outer: list[Span], inner: list[Span], expected: tuple[list[Span], list[Span], list[Span]]
) -> None:
    assert split_spans(base, outer, inner) == expected


# --- which events count: flags compared with a bound == flags masked -----------------------------------------


@pytest.mark.parametrize("all_day_blocks", [True, False])
@pytest.mark.parametrize("tentative_blocks", [True, False])
def test_events_that_count_for_every_kind_of_event_and_setting(all_day_blocks: bool, tentative_blocks: bool) -> None:
    day = date(2026, 3, 2)
    events: list[BusyEvent] = []
    counts: list[bool] = []
    hour = 0
    for transparency in ("opaque", "transparent"):
        for all_day in (False, True):
            for status in ("confirmed", "tentative", "cancelled"):
                for kind in ("event", "booking"):
                    for empty in (False, True):
                        start = datetime(2026, 3, 2, tzinfo=UTC) + timedelta(minutes=20 * hour)
                        end = start if empty else start + timedelta(minutes=10)
                        hour += 1
                        events.append(
                            BusyEvent(
                                Interval(start, end),
                                transparency=transparency,
                                all_day=all_day,
                                status=status,
                                kind=kind,
                            )
                        )
                        counts.append(
                            not empty
                            and status != "cancelled"
                            and transparency == "opaque"
                            and (all_day_blocks or not all_day)
                            and (tentative_blocks or status != "tentative")
                        )
    p = Participant(
        id="p",
        timezone="UTC",
        hours=WeeklyHours(ALL_DAY),
        busy=tuple(events),
        all_day_blocks=all_day_blocks,
        tentative_blocks=tentative_blocks,
    )
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    request = SlotRequest(
        now=start, duration=timedelta(minutes=5), window=Interval(start, start + timedelta(days=1)), participants=(p,)
    )
    whole = (int(start.timestamp()), int(start.timestamp()) + 86400)
    expected = subtract_spans([whole], merge_spans(e.span for e, c in zip(events, counts, strict=True) if c))
    assert free_spans(p, request) == expected
    assert sum(counts) == 2 * (1 + all_day_blocks) * (1 + tentative_blocks)  # both kinds, the rest as set


def test_busy_events_carry_their_span_from_search_epoch() -> None:
    start, end = datetime(2026, 3, 8, 6, 59, 59, 500_000, tzinfo=UTC), datetime(2026, 3, 8, 8, tzinfo=UTC)
    event = BusyEvent(Interval(start, end))
    assert event.span == (int(start.timestamp()), int(end.timestamp()))  # sub-seconds widen busy time
    assert event.search_span == (event.span[0] - SEARCH_EPOCH, event.span[1] - SEARCH_EPOCH)
    assert int(datetime(2030, 1, 1, tzinfo=UTC).timestamp()) == SEARCH_EPOCH


# --- times far from SEARCH_EPOCH (numbers of more than one digit inside CPython) give the same answers ----


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata"])
@pytest.mark.parametrize("years", [-56, 28, 56])  # 1970, 2054, 2082: the same calendar as 2026
def test_a_search_far_from_search_epoch_is_the_same_search(zone: str, years: int) -> None:
    def request(year: int) -> SlotRequest:
        tz = ZoneInfo(zone)
        first = datetime(year, 3, 2, tzinfo=tz)
        busy = tuple(
            BusyEvent(Interval(first + timedelta(hours=h), first + timedelta(hours=h, minutes=m)), kind=kind)  # type: ignore[arg-type]
            for h, m, kind in ((9, 30, "event"), (13, 90, "booking"), (34, 45, "event"), (58, 600, "event"))
        )
        hours = WeeklyHours(tuple((ClockRange(540, 720), ClockRange(780, 1020)) for _ in range(7)))
        who = Participant(
            id="p", timezone=zone, hours=hours, busy=busy, buffer_before=timedelta(minutes=10), max_per_day=3
        )
        return SlotRequest(
            now=first + timedelta(hours=1),
            duration=timedelta(minutes=30),
            window=Interval(first, first + timedelta(days=5)),
            participants=(who,),
            min_notice=timedelta(hours=2),
            max_results=40,
        )

    near, far = find_slots(request(2026)), find_slots(request(2026 + years))
    shift = datetime(2026 + years, 3, 2, tzinfo=UTC) - datetime(2026, 3, 2, tzinfo=UTC)
    assert [(s.start + shift, s.end + shift, s.participants) for s in near.slots] == [
        (s.start, s.end, s.participants) for s in far.slots
    ]
    assert len(near.slots) > 10
    assert near.explain == far.explain
    assert any("busy" in line for line in near.explain)


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
    near = (bounds[0] - SEARCH_EPOCH, bounds[1] - SEARCH_EPOCH)  # the search counts from SEARCH_EPOCH
    plan = search._plan(p, request, near, duration * 60)
    assert plan.busy == merge_spans((a - SEARCH_EPOCH, b - SEARCH_EPOCH) for a, b, _ in spans)
    assert plan.hours == [(a - SEARCH_EPOCH, b - SEARCH_EPOCH) for a, b in expand_hours(p.hours, p.zone, bounds)]
    results = []
    for bulk in (True, False):
        lines = search._Lines(limit)
        search._explain_person(plan, lines, bounds=near, duration=duration * 60, named=False, bulk=bulk)
        results.append((lines.lines, lines.dropped))
    assert results[0] == results[1]
    everything = search._Lines(10_000)
    search._explain_person(plan, everything, bounds=near, duration=duration * 60, named=False)
    assert len(everything.lines) == len(results[0][0]) + results[0][1]  # the count is what wording all would give
    assert everything.lines[:limit] == results[0][0]


@pytest.mark.parametrize(("zone", "day"), CHANGES)
@pytest.mark.parametrize("shift", [0, 3600, -3600])
@pytest.mark.parametrize("limit", [0, 4])
def test_explanations_counted_at_once_with_days_that_hours_fill(zone: str, day: date, shift: int, limit: int) -> None:
    """Whole days of hours that do not join across midnight (days they fill take no line, also when the window
    cuts them), a day off, and such days closed by a daily limit."""
    whole, part = (ClockRange(0, 1440),), (ClockRange(540, 1020),)
    hours = WeeklyHours((whole, part, whole, part, whole, (), ()), {day + timedelta(days=2): ()})
    bounds = window(zone, day, before=3, after=4, shift=shift)
    bookings = [(bounds[0] + k * 86400 + 5 * 3600, bounds[0] + k * 86400 + 6 * 3600, "booking") for k in (1, 4, 5)]
    for limits in ({}, {"max_per_day": 1}):
        p = _participant(zone, hours, bookings, **limits)
        request = SlotRequest(
            now=datetime.fromtimestamp(bounds[0], UTC),
            duration=timedelta(minutes=30),
            window=Interval(datetime.fromtimestamp(bounds[0], UTC), datetime.fromtimestamp(bounds[1], UTC)),
            participants=(p,),
        )
        near = (bounds[0] - SEARCH_EPOCH, bounds[1] - SEARCH_EPOCH)
        plan = search._plan(p, request, near, 1800)
        assert not plan.crosses
        results = []
        for bulk in (True, False):
            lines = search._Lines(limit)
            search._explain_person(plan, lines, bounds=near, duration=1800, named=False, bulk=bulk)
            results.append((lines.lines, lines.dropped))
        assert results[0] == results[1]
        everything = search._Lines(10_000)
        search._explain_person(plan, everything, bounds=near, duration=1800, named=False)
        assert len(everything.lines) == len(results[0][0]) + results[0][1]
        day_lines = [line for line in everything.lines if "outside working hours" in line or "day off" in line]
        assert len(day_lines) < len(plan.days.dates)  # days that hours fill take no such line
        assert any("daily limit" in line for line in everything.lines) == bool(limits)


@pytest.mark.parametrize(("zone", "day"), CHANGES)
@pytest.mark.parametrize("base", [0, SEARCH_EPOCH])
def test_fast_range_text_matches_datetime_formatting(zone: str, day: date, base: int) -> None:
    tz = ZoneInfo(zone)
    bounds = window(zone, day, before=2, after=2)
    days = local_days(tz, (bounds[0] - base, bounds[1] - base), base)
    for i in range(len(days.dates)):
        lo, hi = days.midnights[i], days.midnights[i + 1]
        if lo == hi:
            continue
        for a, b in ((lo, hi), (lo, lo + 1), (lo + 3599, hi - 61), (lo + 34_200, lo + 36_000), (hi - 900, hi)):
            if lo <= a < b <= hi:
                assert search._fmt_range_on((a, b), days, i) == search._fmt_range((a + base, b + base), tz)


@pytest.mark.parametrize(("zone", "day"), CHANGES)
@pytest.mark.parametrize("step", [5, 15, 25, 45, 60, 90])
@pytest.mark.parametrize("base", [0, SEARCH_EPOCH])
def test_aligned_starts_and_dates_match_the_zone_conversions(zone: str, day: date, step: int, base: int) -> None:
    tz = ZoneInfo(zone)
    bounds = window(zone, day, before=1, after=2)
    days = local_days(tz, (bounds[0] - base, bounds[1] - base), base)
    for moment in range(bounds[0], bounds[1] - 2 * 86400 // 3, 1234):
        aligned = search._aligned(moment - base, days, step * 60) + base
        assert aligned == search._aligned_at_or_after(moment, tz, step * 60)
        if aligned < bounds[1]:
            assert search._date_of(aligned - base, days) == local_date(aligned, tz)


def starts_one_by_one(segments: list[tuple[int, int]], days: LocalDays, step: int) -> list[tuple[int, date]]:
    """Every aligned start of the segments, each found from the one before, with its local date: the plain loop."""
    out = []
    for a, b in segments:
        t = search._aligned(a, days, step)
        while t < b:
            out.append((t, local_date(t + days.base, days.zone)))
            t = search._aligned(t + 1, days, step)
    return out


@pytest.mark.parametrize(("zone", "day"), CHANGES)
@pytest.mark.parametrize("step", [5, 25, 45, 60, 90])
def test_start_runs_match_starts_one_by_one(zone: str, day: date, step: int) -> None:
    tz = ZoneInfo(zone)
    bounds = window(zone, day, before=2, after=2)
    near = (bounds[0] - SEARCH_EPOCH, bounds[1] - SEARCH_EPOCH)
    days = local_days(tz, near, SEARCH_EPOCH)
    lo = near[0]
    # Segments inside one day, across midnights and across the clock change, touching, odd seconds.
    segments = [
        (lo + 3600, lo + 5400),
        (lo + 5400, lo + 5401),
        (lo + 9 * 3600 + 17, lo + 30 * 3600 + 1),
        (lo + 47 * 3600, lo + 49 * 3600),
        (lo + 50 * 3600 + 59, lo + 100 * 3600),
        (near[1] - 900, near[1]),
    ]
    runs = list(search._runs(((a, b, ("p",)) for a, b in segments), days, step * 60))
    flat = [(t, days.dates[i] if i >= 0 else local_date(t + SEARCH_EPOCH, tz)) for i, run, _ in runs for t in run]
    assert flat == starts_one_by_one(segments, days, step * 60)
    assert all(len(run) == 1 for i, run, _ in runs if i < 0)
    assert all(search._date_of(t, days) == days.dates[i] for i, run, _ in runs if i >= 0 for t in run)


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
