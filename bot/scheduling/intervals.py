"""Half-open intervals ``[start, end)``: merge, intersect, subtract by sort and sweep.

Two layers share one algorithm:

* ``Span`` is a pair of integers (UTC epoch seconds).  The slot search works on spans because integer
  comparisons are several times cheaper than comparisons of aware datetimes.
* ``Interval`` is the public, aware-datetime value object; its functions convert to spans and back.

Inside the slot search, spans count seconds from ``SEARCH_EPOCH`` instead of 1970: the same algorithms, on
numbers that CPython keeps in one 30-bit digit for dates within about 34 years of 2030, where its integer
arithmetic, comparisons and ``list.sort`` take their fast paths (epoch seconds of today need two digits).
Outside that range the numbers simply grow a digit: slower, never wrong.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter

__all__ = [
    "SEARCH_EPOCH",
    "Interval",
    "Span",
    "from_epoch",
    "intersect",
    "intersect_spans",
    "merge",
    "merge_sorted_spans",
    "merge_spans",
    "merge_widen_sorted",
    "split_spans",
    "subtract",
    "subtract_spans",
    "to_epoch_ceil",
    "to_epoch_floor",
    "total_seconds",
]

Span = tuple[int, int]

SEARCH_EPOCH = 1_893_456_000  # 2030-01-01T00:00:00Z: a UTC midnight, so a whole number of days after 1970

_end_of = itemgetter(1)


def to_epoch_floor(moment: datetime) -> int:
    """Epoch seconds of an aware datetime, rounded down (sub-second parts widen busy time, never shrink it)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()} has no time zone")
    return math.floor(moment.timestamp())


def to_epoch_ceil(moment: datetime) -> int:
    """Epoch seconds of an aware datetime, rounded up."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()} has no time zone")
    return math.ceil(moment.timestamp())


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    """An aware, half-open interval ``[start, end)``; stored in UTC."""

    start: datetime
    end: datetime
    # Epoch seconds, computed once: the slot search compares integers, not datetimes.
    _span: Span = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value: datetime = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"interval {name} {value.isoformat()} has no time zone")
            if value.utcoffset() != timedelta(0) or value.tzinfo is not UTC:
                object.__setattr__(self, name, value.astimezone(UTC))
        if self.end < self.start:
            raise ValueError(f"interval ends ({self.end.isoformat()}) before it starts ({self.start.isoformat()})")
        object.__setattr__(self, "_span", (to_epoch_floor(self.start), to_epoch_ceil(self.end)))

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    @property
    def empty(self) -> bool:
        return self.end <= self.start

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end

    def contains(self, other: Interval) -> bool:
        return self.start <= other.start and other.end <= self.end

    def span(self) -> Span:
        return self._span

    @classmethod
    def from_span(cls, span: Span) -> Interval:
        return cls(from_epoch(span[0]), from_epoch(span[1]))


# --- spans -------------------------------------------------------------------------------------------


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Sorted, disjoint, non-adjacent spans covering the same points; empty spans dropped."""
    return merge_sorted_spans(sorted(spans))


def merge_sorted_spans(ordered: Sequence[Span]) -> list[Span]:
    """``merge_spans`` for input already sorted by start (one linear pass)."""
    out: list[Span] = []
    cur_start = cur_end = 0
    started = False
    for start, end in ordered:
        if end <= start:
            continue
        if not started:
            cur_start, cur_end, started = start, end, True
        elif start <= cur_end:
            if end > cur_end:
                cur_end = end
        else:
            out.append((cur_start, cur_end))
            cur_start, cur_end = start, end
    if started:
        out.append((cur_start, cur_end))
    return out


def merge_widen_sorted(ordered: Sequence[Span], before: int, after: int) -> tuple[list[Span], list[Span]]:
    """One pass over non-empty spans sorted by start: ``merge_sorted_spans(ordered)``, and the same merged spans
    each widened to ``(start - before, end + after)`` and merged again (``before`` and ``after`` at least 0).

    Widening every merged span by the same amounts keeps their order, and two neighbours ``(a, b)`` and
    ``(c, d)`` join once widened exactly when ``c - b <= before + after``.  Empty spans are not allowed here.
    """
    merged: list[Span] = []
    widened: list[Span] = []
    if not ordered:
        return merged, widened
    gap = before + after
    cur_start, cur_end = ordered[0]
    wide_start = cur_start  # start of the widened span being built, before widening
    for start, end in ordered:
        if start > cur_end:
            merged.append((cur_start, cur_end))
            if start - cur_end > gap:
                widened.append((wide_start - before, cur_end + after))
                wide_start = start
            cur_start, cur_end = start, end
        elif end > cur_end:
            cur_end = end
    merged.append((cur_start, cur_end))
    widened.append((wide_start - before, cur_end + after))
    return merged, widened


def intersect_spans(a: Sequence[Span], b: Sequence[Span]) -> list[Span]:
    """Intersection of two merged span lists (both sorted and disjoint)."""
    if len(a) > len(b):
        a, b = b, a
    if 3 * len(a) < len(b):
        return _intersect_sparse(a, b)
    out: list[Span] = []
    i = j = 0
    na, nb = len(a), len(b)
    while i < na and j < nb:
        a0, a1 = a[i]
        b0, b1 = b[j]
        start = a0 if a0 > b0 else b0
        if a1 < b1:
            end = a1
            i += 1
        else:
            end = b1
            j += 1
        if start < end:
            out.append((start, end))
    return out


def _intersect_sparse(few: Sequence[Span], many: Sequence[Span]) -> list[Span]:
    """``intersect_spans`` when one list is much shorter: each of its spans finds its first overlap by bisection,
    so the long stretches of ``many`` between them are skipped instead of walked."""
    out: list[Span] = []
    j, n = 0, len(many)
    for a0, a1 in few:
        j = bisect_right(many, a0, j, n, key=_end_of)  # the first span that ends after a0
        while j < n:
            b0, b1 = many[j]
            if b0 >= a1:
                break
            out.append((a0 if a0 > b0 else b0, a1 if a1 < b1 else b1))
            if b1 > a1:  # it may overlap the next span of ``few`` too
                break
            j += 1
    return out


def subtract_spans(base: Sequence[Span], remove: Sequence[Span]) -> list[Span]:
    """``base`` minus ``remove``; both merged (sorted and disjoint)."""
    out: list[Span] = []
    j = 0
    n = len(remove)
    for start, end in base:
        cur = start
        while j < n and remove[j][1] <= cur:
            j += 1
        k = j
        while k < n and remove[k][0] < end:
            r_start, r_end = remove[k]
            if r_start > cur:
                out.append((cur, r_start))
            if r_end > cur:
                cur = r_end
            if cur >= end:
                break
            k += 1
        if cur < end:
            out.append((cur, end))
    return out


def split_spans(
    base: Sequence[Span], outer: Sequence[Span], inner: Sequence[Span]
) -> tuple[list[Span], list[Span], list[Span]]:
    """``base`` split three ways in one pass: ``base - outer``; and ``base & outer`` split again by ``inner``,
    into ``(base & outer) & inner`` and ``(base & outer) - inner``.  All merged (sorted and disjoint).

    Each span of ``base`` is walked once, outside and inside ``outer`` in turn, and each piece inside ``outer``
    outside and inside ``inner`` in turn; spans of ``outer`` and ``inner`` that end before the walk reaches
    them are skipped by bisection.
    """
    out_outer: list[Span] = []
    in_inner: list[Span] = []
    out_inner: list[Span] = []
    j, n = 0, len(outer)
    k, m = 0, len(inner)
    for start, end in base:
        if j < n and outer[j][1] <= start:
            j = bisect_right(outer, start, j + 1, n, key=_end_of)  # the first span of outer that ends after start
        cur = start
        while j < n:
            o0, o1 = outer[j]
            if o0 >= end:
                break
            if o0 > cur:
                out_outer.append((cur, o0))
                cur = o0
            stop = o1 if o1 < end else end  # [cur, stop) is inside outer: split it by inner
            if k < m and inner[k][1] <= cur:
                k = bisect_right(inner, cur, k + 1, m, key=_end_of)
            while k < m:
                i0, i1 = inner[k]
                if i0 >= stop:
                    break
                if i0 > cur:
                    out_inner.append((cur, i0))
                    cur = i0
                if i1 >= stop:  # it may reach past this piece
                    in_inner.append((cur, stop))
                    cur = stop
                    break
                in_inner.append((cur, i1))
                cur = i1
                k += 1
            if cur < stop:
                out_inner.append((cur, stop))
                cur = stop
            if o1 >= end:  # it may reach into the next span of base too
                break
            j += 1
        if cur < end:
            out_outer.append((cur, end))
    return out_outer, in_inner, out_inner


def total_seconds(spans: Iterable[Span]) -> int:
    return sum(end - start for start, end in spans)


# --- aware intervals -----------------------------------------------------------------------------------


def _spans(intervals: Iterable[Interval]) -> list[Span]:
    return [iv.span() for iv in intervals]


def _intervals(spans: Iterable[Span]) -> list[Interval]:
    return [Interval.from_span(s) for s in spans]


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    return _intervals(merge_spans(_spans(intervals)))


def intersect(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    return _intervals(intersect_spans(merge_spans(_spans(a)), merge_spans(_spans(b))))


def subtract(base: Iterable[Interval], remove: Iterable[Interval]) -> list[Interval]:
    return _intervals(subtract_spans(merge_spans(_spans(base)), merge_spans(_spans(remove))))
