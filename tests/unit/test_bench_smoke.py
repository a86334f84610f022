"""The benchmark code paths, once, on tiny sizes: the generator makes what it claims and the search answers.

Nothing here is timed: timings belong to ``python -m bench``, never to a test.
"""

from __future__ import annotations

import itertools
import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bench import Budget, Timing, measure
from bench.slots import Calendars, coach_workload, generate_calendars, group_workload, run
from bot.scheduling import find_slots

TINY = Budget(seconds=0.0, max_runs=1, min_runs=1, warmup=0, passes=1)


def _aware(moment: datetime) -> bool:
    return moment.tzinfo is not None and moment.utcoffset() is not None


def _check_calendars(cals: Calendars, *, calendars: int, per_calendar: int) -> None:
    zone = ZoneInfo(cals.zone)
    first = datetime(cals.first_day.year, cals.first_day.month, cals.first_day.day, tzinfo=zone)
    last_day = cals.first_day + timedelta(days=cals.days)
    last = datetime(last_day.year, last_day.month, last_day.day, tzinfo=zone)
    assert len(cals.events) == calendars
    assert all(len(cal) == per_calendar for cal in cals.events)
    assert len(cals.pairs) == calendars * per_calendar
    for ev, (start, end) in zip(cals.all_events, cals.pairs, strict=True):
        assert _aware(start) and _aware(end), "naive datetime in the generated pairs"
        assert _aware(ev.interval.start) and _aware(ev.interval.end)
        assert ev.interval.start == start and ev.interval.end == end  # the same intervals, in the same order
        assert first <= start < end <= last, f"event {start}..{end} outside the window"
    for cal in cals.events:  # each calendar arrives in start order
        starts = [ev.interval.start for ev in cal]
        assert starts == sorted(starts)


def test_generator_counts_window_and_awareness() -> None:
    cals = generate_calendars(
        random.Random(3),
        zone="America/New_York",
        first_day=date(2026, 3, 2),
        days=14,
        calendars=3,
        per_calendar=40,
        meetings_per_weekday=2,
    )
    _check_calendars(cals, calendars=3, per_calendar=40)
    events = cals.all_events
    assert sum(ev.all_day for ev in events) == 3
    assert any(ev.transparency == "transparent" for ev in events)
    assert any(ev.transparency == "opaque" for ev in events)
    # copies of another calendar's meetings overlap it
    spans = sorted(ev.interval.span() for ev in events if not ev.all_day)
    assert any(b[0] < a[1] for a, b in itertools.pairwise(spans))


def test_generator_is_deterministic() -> None:
    def make() -> Calendars:
        return generate_calendars(
            random.Random(7),
            zone="Europe/Berlin",
            first_day=date(2026, 3, 23),
            days=7,
            calendars=2,
            per_calendar=30,
            meetings_per_weekday=1,
        )

    assert make().pairs == make().pairs


def test_generator_refuses_impossible_mix() -> None:
    with pytest.raises(ValueError):
        generate_calendars(
            random.Random(1),
            zone="UTC",
            first_day=date(2026, 3, 2),
            days=14,
            calendars=1,
            per_calendar=5,
            meetings_per_weekday=4,
        )


def test_coach_workload_small_finds_slots() -> None:
    work = coach_workload(calendars=2, per_calendar=60, days=14)
    _check_calendars(work.calendars[0], calendars=2, per_calendar=60)
    assert work.events == 120
    assert len(work.request.participants) == 1
    assert work.request.window.end - work.request.window.start == timedelta(days=14)
    result = find_slots(work.request)
    assert result.slots
    for slot in result.slots:
        assert work.request.window.start <= slot.start < slot.end <= work.request.window.end


def test_group_workload_small_finds_slots() -> None:
    for required in (None, 3):
        work = group_workload(participants=4, per_participant=40, days=5, required=required)
        assert len(work.request.participants) == 4
        assert work.events == 160
        for cals in work.calendars:
            _check_calendars(cals, calendars=1, per_calendar=40)
        result = find_slots(work.request)
        assert result.slots
        needed = 4 if required is None else required
        assert all(len(slot.participants) >= needed for slot in result.slots)


def test_measure_and_percentiles() -> None:
    calls: list[str] = []
    timings = measure({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, TINY)
    assert set(timings) == {"a", "b"} and calls == ["a", "b"]
    assert all(t.runs == 1 for t in timings.values())
    t = Timing("x", (1_000_000, 2_000_000, 3_000_000, 4_000_000, 5_000_000))
    assert t.median_ms == 3.0
    assert t.percentile_ms(100) == 5.0 and t.percentile_ms(0) == 1.0


def test_run_prints_a_verdict_per_target(monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole ``python -m bench`` path, once, on tiny workloads (the verdicts themselves are not asserted)."""
    import bench.slots as slots

    monkeypatch.setattr(slots, "coach_workload", lambda: coach_workload(calendars=2, per_calendar=60, days=14))
    monkeypatch.setattr(
        slots,
        "group_workload",
        lambda required=None: group_workload(participants=4, per_participant=40, days=5, required=required and 3),
    )
    lines: list[str] = []
    targets = run(budget=TINY, out=lines.append)
    assert [t.name for t in targets] == [
        "slots-60d",
        "slots-60d spread (max 5)",
        "group-20x500-14d all",
        "group-20x500-14d 15 of 20",
    ]
    for target in targets:
        assert target.line() in lines
        assert target.line().endswith(("PASS", "FAIL"))
