"""Half-open intervals: merge, intersect, subtract (spans and aware intervals), validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.scheduling.intervals import (
    Interval,
    from_epoch,
    intersect,
    intersect_spans,
    merge,
    merge_spans,
    subtract,
    subtract_spans,
    to_epoch_ceil,
    to_epoch_floor,
    total_seconds,
)


def at(hour: int, minute: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def iv(a: tuple[int, int], b: tuple[int, int]) -> Interval:
    return Interval(at(*a), at(*b))


# --- spans --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spans", "expected"),
    [
        ([], []),
        ([(5, 5)], []),  # empty spans are dropped
        ([(7, 3)], []),  # so are reversed ones
        ([(1, 3)], [(1, 3)]),
        ([(5, 8), (1, 3)], [(1, 3), (5, 8)]),  # sorted
        ([(1, 3), (3, 5)], [(1, 5)]),  # touching spans are joined (documented: "non-adjacent")
        ([(1, 4), (2, 6)], [(1, 6)]),  # overlapping
        ([(1, 10), (2, 3), (4, 5)], [(1, 10)]),  # nested
        ([(1, 3), (1, 3)], [(1, 3)]),  # duplicates
        ([(1, 2), (4, 5), (2, 4)], [(1, 5)]),  # a bridge joins three
        ([(1, 2), (3, 4)], [(1, 2), (3, 4)]),  # a gap of one second stays a gap
        ([(1, 3), (3, 3), (4, 5)], [(1, 3), (4, 5)]),
    ],
)
def test_merge_spans(spans: list[tuple[int, int]], expected: list[tuple[int, int]]) -> None:
    assert merge_spans(spans) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([], [(1, 5)], []),
        ([(1, 5)], [], []),
        ([(1, 5)], [(5, 9)], []),  # touching is not overlapping: half-open
        ([(1, 5)], [(4, 9)], [(4, 5)]),
        ([(1, 10)], [(2, 3), (5, 7)], [(2, 3), (5, 7)]),  # nested
        ([(2, 3), (5, 7)], [(1, 10)], [(2, 3), (5, 7)]),
        ([(1, 3), (4, 8)], [(2, 5), (6, 9)], [(2, 3), (4, 5), (6, 8)]),
        ([(1, 5)], [(1, 5)], [(1, 5)]),
    ],
)
def test_intersect_spans(a: list[tuple[int, int]], b: list[tuple[int, int]], expected: list[tuple[int, int]]) -> None:
    assert intersect_spans(a, b) == expected
    assert intersect_spans(b, a) == expected


@pytest.mark.parametrize(
    ("base", "remove", "expected"),
    [
        ([], [(1, 5)], []),
        ([(1, 5)], [], [(1, 5)]),
        ([(1, 5)], [(5, 9)], [(1, 5)]),  # touching removes nothing
        ([(5, 9)], [(1, 5)], [(5, 9)]),
        ([(1, 10)], [(3, 4)], [(1, 3), (4, 10)]),  # nested hole
        ([(1, 10)], [(0, 11)], []),  # swallowed
        ([(1, 10)], [(1, 10)], []),
        ([(1, 10)], [(0, 3), (5, 6), (9, 12)], [(3, 5), (6, 9)]),
        ([(1, 3), (5, 8), (10, 12)], [(2, 6), (7, 11)], [(1, 2), (6, 7), (11, 12)]),
        ([(1, 3), (5, 8)], [(3, 5)], [(1, 3), (5, 8)]),
    ],
)
def test_subtract_spans(
    base: list[tuple[int, int]], remove: list[tuple[int, int]], expected: list[tuple[int, int]]
) -> None:
    assert subtract_spans(base, remove) == expected


def test_total_seconds() -> None:
    assert total_seconds([(0, 10), (20, 25)]) == 15
    assert total_seconds([]) == 0


# --- epoch conversion -----------------------------------------------------------------------------------


def test_epoch_rounding_widens() -> None:
    moment = datetime(2026, 3, 2, 9, 0, 0, 500_000, tzinfo=UTC)
    whole = int(datetime(2026, 3, 2, 9, tzinfo=UTC).timestamp())
    assert to_epoch_floor(moment) == whole
    assert to_epoch_ceil(moment) == whole + 1
    assert to_epoch_floor(at(9)) == to_epoch_ceil(at(9)) == whole
    assert from_epoch(whole) == at(9)
    assert from_epoch(whole).tzinfo is UTC


@pytest.mark.parametrize("func", [to_epoch_floor, to_epoch_ceil])
def test_epoch_rejects_naive(func: object) -> None:
    with pytest.raises(ValueError, match="naive datetime 2026-03-02T09:00:00 has no time zone"):
        func(datetime(2026, 3, 2, 9))  # type: ignore[operator]


# --- aware intervals ------------------------------------------------------------------------------------


def test_interval_is_stored_in_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    value = Interval(datetime(2026, 3, 2, 11, tzinfo=plus_two), datetime(2026, 3, 2, 12, tzinfo=plus_two))
    assert value.start == at(9)
    assert value.start.tzinfo is UTC
    assert value.end.tzinfo is UTC
    assert value.duration == timedelta(hours=1)
    assert value.span() == (int(at(9).timestamp()), int(at(10).timestamp()))
    assert Interval.from_span(value.span()) == value


@pytest.mark.parametrize("which", ["start", "end"])
def test_interval_rejects_naive(which: str) -> None:
    naive = datetime(2026, 3, 2, 9)
    args = {"start": at(8), "end": at(10)}
    args[which] = naive
    with pytest.raises(ValueError, match=f"interval {which} 2026-03-02T09:00:00 has no time zone"):
        Interval(**args)


def test_interval_rejects_end_before_start() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        Interval(at(10), at(9))


def test_empty_interval_is_allowed_and_empty() -> None:
    value = Interval(at(9), at(9))
    assert value.empty
    assert value.duration == timedelta(0)
    assert not Interval(at(9), at(10)).empty


def test_overlaps_and_contains_are_half_open() -> None:
    morning = iv((9, 0), (12, 0))
    assert morning.overlaps(iv((11, 0), (13, 0)))
    assert not morning.overlaps(iv((12, 0), (13, 0)))  # back to back
    assert not iv((12, 0), (13, 0)).overlaps(morning)
    assert morning.contains(iv((9, 0), (12, 0)))
    assert morning.contains(iv((10, 0), (11, 0)))
    assert not morning.contains(iv((11, 0), (12, 1)))


def test_merge_intervals() -> None:
    assert merge([]) == []
    assert merge([iv((13, 0), (14, 0)), iv((9, 0), (10, 0)), iv((10, 0), (11, 0))]) == [
        iv((9, 0), (11, 0)),  # back-to-back joined
        iv((13, 0), (14, 0)),
    ]
    assert merge([iv((9, 0), (17, 0)), iv((10, 0), (11, 0))]) == [iv((9, 0), (17, 0))]
    assert merge([iv((9, 0), (9, 0))]) == []


def test_intersect_intervals() -> None:
    hours = [iv((9, 0), (12, 0)), iv((13, 0), (17, 0))]
    assert intersect(hours, [iv((11, 0), (14, 0))]) == [iv((11, 0), (12, 0)), iv((13, 0), (14, 0))]
    assert intersect(hours, [iv((12, 0), (13, 0))]) == []
    assert intersect([], hours) == []
    # unsorted, overlapping input is merged first
    assert intersect([iv((10, 0), (11, 0)), iv((9, 0), (10, 30))], [iv((8, 0), (18, 0))]) == [iv((9, 0), (11, 0))]


def test_subtract_intervals() -> None:
    day = [iv((9, 0), (17, 0))]
    busy = [iv((12, 0), (13, 0)), iv((10, 0), (10, 30)), iv((16, 30), (18, 0))]
    assert subtract(day, busy) == [iv((9, 0), (10, 0)), iv((10, 30), (12, 0)), iv((13, 0), (16, 30))]
    assert subtract(day, []) == day
    assert subtract([], busy) == []
    assert subtract(day, [iv((8, 0), (18, 0))]) == []
    assert subtract(day, [iv((17, 0), (18, 0))]) == day  # touching at the end removes nothing


def test_sub_second_busy_widens() -> None:
    busy = Interval(datetime(2026, 3, 2, 9, 59, 59, 1, tzinfo=UTC), datetime(2026, 3, 2, 10, 0, 0, 1, tzinfo=UTC))
    assert busy.span() == (int(at(9, 59).timestamp()) + 59, int(at(10).timestamp()) + 1)
