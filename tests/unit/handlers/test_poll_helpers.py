"""Small pure helpers of the poll handler: names typed after "with", spreading candidate times over days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.handlers.poll import _names_after_with, _spread
from bot.scheduling.model import Slot


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("poll with amy, bo and cy next week", ["amy", "bo", "cy"]),
        ("poll 30 min with @amy @bo & cy", ["amy", "bo", "cy"]),
        ("poll with amy bo on tuesday", ["amy", "bo"]),
        ("poll with amy for 45 minutes", ["amy"]),
        ("poll next week", []),
    ],
)
def test_names_after_with(text: str, names: list[str]) -> None:
    assert _names_after_with(text) == names


def _slot(day: int, hour: int, minute: int = 0) -> Slot:
    start = datetime(2026, 3, day, hour, minute, tzinfo=UTC)
    return Slot(start, start + timedelta(minutes=30), ("olga",))


def test_spread_takes_one_per_day_first_then_more_without_overlap() -> None:
    slots = [_slot(9, 9), _slot(9, 9, 15), _slot(9, 10), _slot(10, 9), _slot(11, 14)]
    picked = _spread(slots, 4, "UTC")
    assert [s.start for s in picked] == [_slot(9, 9).start, _slot(10, 9).start, _slot(11, 14).start,
                                         _slot(9, 10).start]
    # when nothing else is left, overlapping times fill up rather than offering fewer
    assert len(_spread(slots, 5, "UTC")) == 5


def test_spread_counts_days_in_the_given_zone() -> None:
    # 23:30 UTC on the 9th is already the 10th in Berlin: two different Berlin days, one UTC day apart
    late, early = _slot(9, 23, 30), _slot(10, 8)
    assert [s.start for s in _spread([late, early], 1, "Europe/Berlin")] == [late.start]
    assert len(_spread([late, early], 5, "Europe/Berlin")) == 2
