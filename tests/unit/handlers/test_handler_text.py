"""Pure parts of the handlers: how times read, hours fields, names in text, the console rendering."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.adapters.console import field_answer, field_prompt, render_replies
from bot.handlers.coach import parse_day_ranges
from bot.handlers.format import hours_summary, range_label, slot_label, window_label
from bot.handlers.people import find_names
from bot.handlers.replies import Choice, Field, FieldOption, Form, Reply
from bot.scheduling.model import ClockRange, WeeklyHours


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end", "tz", "other", "expected"),
    [
        (utc(11, 24, 13), utc(11, 24, 13, 30), "Europe/Berlin", None, "Tue 24 Nov 14:00-14:30 (Europe/Berlin)"),
        # before and after the US change (8 March 2026) against Berlin (29 March)
        (utc(3, 6, 8), utc(3, 6, 8, 30), "America/New_York", "Europe/Berlin",
         "Fri 6 Mar 03:00-03:30 (America/New_York) / 09:00-09:30 Europe/Berlin"),
        (utc(3, 9, 8), utc(3, 9, 8, 30), "America/New_York", "Europe/Berlin",
         "Mon 9 Mar 04:00-04:30 (America/New_York) / 09:00-09:30 Europe/Berlin"),
        # half-hour zone, other side on another date
        (utc(3, 9, 20), utc(3, 9, 21), "America/Los_Angeles", "Asia/Kolkata",
         "Mon 9 Mar 13:00-14:00 (America/Los_Angeles) / Tue 10 Mar 01:30-02:30 Asia/Kolkata"),
        (utc(3, 9, 8), utc(3, 9, 8, 30), "Europe/Berlin", "Europe/Berlin", "Mon 9 Mar 09:00-09:30 (Europe/Berlin)"),
    ],
)
def test_slot_labels(start: datetime, end: datetime, tz: str, other: str | None, expected: str) -> None:
    assert slot_label(start, end, tz, other) == expected


def test_ranges_over_midnight_and_windows() -> None:
    assert range_label(utc(3, 9, 22), utc(3, 9, 23), "UTC") == "Mon 9 Mar 22:00-23:00 (UTC)"
    assert range_label(utc(3, 9, 23), utc(3, 10, 0), "UTC") == "Mon 9 Mar 23:00-24:00 (UTC)"
    assert range_label(utc(3, 9, 23), utc(3, 10, 1), "UTC") == "Mon 9 Mar 23:00-Tue 10 Mar 01:00 (UTC)"
    assert window_label(utc(3, 9, 0), utc(3, 10, 0), "UTC") == "on Mon 9 Mar"
    assert window_label(utc(3, 9, 0), utc(3, 16, 0), "UTC") == "between Mon 9 Mar and Sun 15 Mar"
    assert window_label(utc(3, 9, 12), utc(3, 9, 17), "UTC") == "on Mon 9 Mar 12:00-17:00"


def test_hours_summary_groups_days() -> None:
    day = (ClockRange(540, 720), ClockRange(780, 1020))
    hours = WeeklyHours((day, day, day, (ClockRange(600, 660),), day, (), ()))
    assert hours_summary(hours) == [
        "Mon-Wed 09:00-12:00, 13:00-17:00", "Thu 10:00-11:00", "Fri 09:00-12:00, 13:00-17:00", "Sat-Sun off",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ()),
        ("off", ()),
        ("09:00-12:00, 13:00-17:00", ((540, 720), (780, 1020))),
        ("9-17", ((540, 1020),)),
        ("9am - 5pm", ((540, 1020),)),
        ("13:00-17:00; 8:30 to 12", ((510, 720), (780, 1020))),
        ("18:00-24:00", ((1080, 1440),)),
    ],
)
def test_day_ranges(text: str, expected: tuple[tuple[int, int], ...]) -> None:
    assert parse_day_ranges(text) == tuple(ClockRange(a, b) for a, b in expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [("9 to lunch", "lunch"), ("17-9", "after the start"), ("25:00-26:00", "not a time"),
     ("09:00-12:00, 11:00-13:00", "overlap"), ("nine", "not a time range"), ("24:00-24:30", "not a time")],
)
def test_bad_day_ranges(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_day_ranges(text)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("book with dana", ["dana"]),
        ("book with Dana Smith next week", ["Dana Smith"]),
        ("book with dana next tuesday", ["dana"]),
        ("when is dana free this week", ["dana"]),
        ("show me dana's availability", ["dana"]),
        ("book a session with me", []),
        ("book a session", []),
    ],
)
def test_names_in_text(text: str, names: list[str]) -> None:
    assert find_names(text) == names


def test_console_rendering_numbers_choices_across_replies() -> None:
    replies = [
        Reply("Pick one:", choices=(Choice("A", "x.a", "s:0"), Choice("B", "x.b", "s:1")), details=("small print",)),
        Reply("Line one\nline two", to="dana"),
        Reply("For you", to="sam", choices=(Choice("C", "x.c", "s:2"),)),
    ]
    rendered = render_replies(replies, me="sam", names={"dana": "Dana"})
    assert rendered.text == (
        "Pick one:\n    small print\n  1. A\n  2. B\n[to Dana] Line one\n    line two\n[direct message] For you\n  3. C"
    )
    assert [c.label for c in rendered.choices] == ["A", "B", "C"]
    form = Form("hours", "Hours", (Field("mon", "Monday", value="09:00-17:00", error="bad"),))
    assert render_replies([Reply("Fill in", form=form)], me="sam").forms == (form,)


def test_console_form_prompts() -> None:
    field = Field("mon", "Monday", value="09:00-17:00", hint="blank = off")
    assert field_prompt(field) == "  (blank = off)\nMonday [09:00-17:00]: "
    assert field_prompt(Field("tue", "Tuesday", error="bad time")) == "  ! bad time\nTuesday []: "
    assert field_answer(field, "") == "09:00-17:00"
    assert field_answer(field, " - ") == ""
    assert field_answer(field, "10-12") == "10-12"


def test_console_fields_with_options_are_numbered_and_answered_by_number_or_label() -> None:
    busy = Field("busy", "Which calendars count as busy?", kind="multiselect", value="id-w,id-h",
                 options=(FieldOption("id-w", "Work"), FieldOption("id-p", "Private"), FieldOption("id-h", "Home")))
    assert field_prompt(busy) == (
        "Which calendars count as busy? (numbers, comma-separated)\n    1. Work\n    2. Private\n    3. Home\n[1,3]: "
    )
    assert field_answer(busy, "") == "id-w,id-h"
    assert field_answer(busy, "2, 3") == "id-p,id-h"
    assert field_answer(busy, "home,1") == "id-h,id-w"
    assert field_answer(busy, "9") == "9"  # not an option: passed on, the handler says so
    push = Field("push", "Which calendar receives new bookings?", kind="select", value="none",
                 options=(FieldOption("id-w", "Work"), FieldOption("none", "None")))
    assert field_prompt(push).endswith("(a number)\n    1. Work\n    2. None\n[2]: ")
    assert field_answer(push, "1") == "id-w"
