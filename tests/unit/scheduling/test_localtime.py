"""Local wall-clock rules expanded into UTC spans: DST days, 30-minute offsets and shifts, southern hemisphere."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.scheduling.localtime import (
    day_span,
    expand_hours,
    expand_policy,
    local_date,
    local_dates,
    local_epoch,
    wall_minutes,
)
from bot.scheduling.model import ClockRange, Policy, WeeklyHours, parse_clock


def utc(text: str) -> int:
    """Epoch seconds of a naive-looking 'YYYY-MM-DD HH:MM' read as UTC."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def hm(text: str) -> int:
    return parse_clock(text, allow_24=True)


# (zone, local date, wall time, UTC instant): the first real instant at or after that wall time.
LOCAL_EPOCH_CASES = [
    # America/New_York spring forward 2026-03-08 02:00 EST -> 03:00 EDT (07:00Z)
    ("America/New_York", "2026-03-07", "09:00", "2026-03-07 14:00"),
    ("America/New_York", "2026-03-08", "00:00", "2026-03-08 05:00"),
    ("America/New_York", "2026-03-08", "01:59", "2026-03-08 06:59"),
    ("America/New_York", "2026-03-08", "02:00", "2026-03-08 07:00"),  # gap -> the jump
    ("America/New_York", "2026-03-08", "02:30", "2026-03-08 07:00"),  # gap -> the jump
    ("America/New_York", "2026-03-08", "03:00", "2026-03-08 07:00"),
    ("America/New_York", "2026-03-08", "09:00", "2026-03-08 13:00"),
    ("America/New_York", "2026-03-08", "24:00", "2026-03-09 04:00"),
    # America/New_York fall back 2026-11-01 02:00 EDT -> 01:00 EST (06:00Z)
    ("America/New_York", "2026-11-01", "00:00", "2026-11-01 04:00"),
    ("America/New_York", "2026-11-01", "01:00", "2026-11-01 05:00"),  # ambiguous -> first (EDT)
    ("America/New_York", "2026-11-01", "01:30", "2026-11-01 05:30"),
    ("America/New_York", "2026-11-01", "02:00", "2026-11-01 07:00"),
    ("America/New_York", "2026-11-01", "09:00", "2026-11-01 14:00"),
    ("America/New_York", "2026-10-31", "09:00", "2026-10-31 13:00"),
    # Europe/Berlin spring forward 2026-03-29 02:00 CET -> 03:00 CEST (01:00Z)
    ("Europe/Berlin", "2026-03-28", "09:00", "2026-03-28 08:00"),
    ("Europe/Berlin", "2026-03-29", "02:30", "2026-03-29 01:00"),
    ("Europe/Berlin", "2026-03-29", "09:00", "2026-03-29 07:00"),
    # Europe/Berlin fall back 2026-10-25 03:00 CEST -> 02:00 CET (01:00Z)
    ("Europe/Berlin", "2026-10-25", "02:00", "2026-10-25 00:00"),  # first occurrence (CEST)
    ("Europe/Berlin", "2026-10-25", "02:59", "2026-10-25 00:59"),
    ("Europe/Berlin", "2026-10-25", "03:00", "2026-10-25 02:00"),
    ("Europe/Berlin", "2026-10-25", "09:00", "2026-10-25 08:00"),
    # Asia/Kolkata +05:30, no DST
    ("Asia/Kolkata", "2026-03-08", "09:00", "2026-03-08 03:30"),
    ("Asia/Kolkata", "2026-03-08", "00:00", "2026-03-07 18:30"),
    # Australia/Lord_Howe: +11 (DST) / +10:30; 2026-04-05 02:00 -> 01:30 (15:00Z), 2026-10-04 02:00 -> 02:30 (15:30Z)
    ("Australia/Lord_Howe", "2026-04-04", "09:00", "2026-04-03 22:00"),
    ("Australia/Lord_Howe", "2026-04-05", "01:30", "2026-04-04 14:30"),  # ambiguous -> first (+11)
    ("Australia/Lord_Howe", "2026-04-05", "02:00", "2026-04-04 15:30"),
    ("Australia/Lord_Howe", "2026-04-05", "09:00", "2026-04-04 22:30"),
    ("Australia/Lord_Howe", "2026-10-04", "02:00", "2026-10-03 15:30"),  # gap -> the jump
    ("Australia/Lord_Howe", "2026-10-04", "02:15", "2026-10-03 15:30"),
    ("Australia/Lord_Howe", "2026-10-04", "02:30", "2026-10-03 15:30"),
    ("Australia/Lord_Howe", "2026-10-04", "09:00", "2026-10-03 22:00"),
    ("Australia/Lord_Howe", "2026-10-03", "09:00", "2026-10-02 22:30"),
    # Australia/Sydney: AEDT +11 until 2026-04-05 03:00 -> 02:00; AEST +10 until 2026-10-04 02:00 -> 03:00
    ("Australia/Sydney", "2026-01-15", "09:00", "2026-01-14 22:00"),
    ("Australia/Sydney", "2026-07-15", "09:00", "2026-07-14 23:00"),
    ("Australia/Sydney", "2026-04-04", "09:00", "2026-04-03 22:00"),
    ("Australia/Sydney", "2026-04-05", "02:30", "2026-04-04 15:30"),  # ambiguous -> first (+11)
    ("Australia/Sydney", "2026-04-05", "09:00", "2026-04-04 23:00"),
    ("Australia/Sydney", "2026-10-04", "02:30", "2026-10-03 16:00"),  # gap -> the jump
    ("Australia/Sydney", "2026-10-04", "09:00", "2026-10-03 22:00"),
]


@pytest.mark.parametrize(("zone", "day", "wall", "expected"), LOCAL_EPOCH_CASES)
def test_local_epoch(zone: str, day: str, wall: str, expected: str) -> None:
    assert local_epoch(date.fromisoformat(day), hm(wall), ZoneInfo(zone)) == utc(expected)


# (zone, date, range, expected real length in minutes)
RANGE_LENGTH_CASES = [
    ("America/New_York", "2026-03-08", ("01:00", "03:00"), 60),  # spring forward: one real hour
    ("America/New_York", "2026-03-08", ("09:00", "17:00"), 480),
    ("America/New_York", "2026-03-08", ("00:00", "24:00"), 23 * 60),
    ("America/New_York", "2026-11-01", ("01:00", "02:00"), 120),  # fall back: two real hours
    ("America/New_York", "2026-11-01", ("00:00", "24:00"), 25 * 60),
    ("America/New_York", "2026-11-01", ("09:00", "17:00"), 480),
    ("Europe/Berlin", "2026-03-29", ("01:00", "04:00"), 120),
    ("Europe/Berlin", "2026-10-25", ("02:00", "03:00"), 120),
    ("Europe/Berlin", "2026-10-25", ("00:00", "24:00"), 25 * 60),
    ("Australia/Lord_Howe", "2026-04-05", ("01:00", "02:00"), 90),  # 30-minute fall back
    ("Australia/Lord_Howe", "2026-04-05", ("00:00", "24:00"), 24 * 60 + 30),
    ("Australia/Lord_Howe", "2026-10-04", ("02:00", "03:00"), 30),  # 30-minute spring forward
    ("Australia/Lord_Howe", "2026-10-04", ("00:00", "24:00"), 24 * 60 - 30),
    ("Australia/Sydney", "2026-04-05", ("00:00", "24:00"), 25 * 60),
    ("Australia/Sydney", "2026-10-04", ("01:00", "04:00"), 120),
    ("Asia/Kolkata", "2026-03-08", ("00:00", "24:00"), 24 * 60),
]


@pytest.mark.parametrize(("zone", "day", "pair", "minutes"), RANGE_LENGTH_CASES)
def test_range_lasts_real_time(zone: str, day: str, pair: tuple[str, str], minutes: int) -> None:
    the_day = date.fromisoformat(day)
    hours = WeeklyHours(overrides={the_day: (ClockRange.parse(*pair),)})
    tz = ZoneInfo(zone)
    spans = expand_hours(hours, tz, day_span(the_day, tz))
    assert len(spans) == 1
    assert (spans[0][1] - spans[0][0]) // 60 == minutes


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        ("America/New_York", "2026-03-08", 23),
        ("America/New_York", "2026-11-01", 25),
        ("Asia/Kolkata", "2026-11-01", 24),
    ],
)
def test_day_span(zone: str, day: str, hours: int) -> None:
    start, end = day_span(date.fromisoformat(day), ZoneInfo(zone))
    assert end - start == hours * 3600


def test_expand_hours_several_ranges_and_overrides_new_york_dst_week() -> None:
    tz = ZoneInfo("America/New_York")
    hours = WeeklyHours.from_mapping(
        {"sat": [["09:00", "12:00"], ["13:00", "17:00"]], "sun": [["09:00", "17:00"]]},
        {"2026-03-09": [["10:00", "11:00"]], "2026-03-10": []},
    )
    bounds = (utc("2026-03-07 00:00"), utc("2026-03-11 12:00"))
    assert expand_hours(hours, tz, bounds) == [
        (utc("2026-03-07 14:00"), utc("2026-03-07 17:00")),  # Sat EST
        (utc("2026-03-07 18:00"), utc("2026-03-07 22:00")),
        (utc("2026-03-08 13:00"), utc("2026-03-08 21:00")),  # Sun EDT: 09:00 local all the same
        (utc("2026-03-09 14:00"), utc("2026-03-09 15:00")),  # Mon: override replaces (there are no Mon hours)
    ]  # Tue: empty override, day off


def test_expand_hours_clips_to_bounds_and_joins_across_midnight() -> None:
    tz = ZoneInfo("UTC")
    hours = WeeklyHours.from_mapping({"mon": [["20:00", "24:00"]], "tue": [["00:00", "02:00"], ["08:00", "09:00"]]})
    bounds = (utc("2026-03-02 21:00"), utc("2026-03-03 08:30"))  # Mon 21:00 .. Tue 08:30
    assert expand_hours(hours, tz, bounds) == [
        (utc("2026-03-02 21:00"), utc("2026-03-03 02:00")),
        (utc("2026-03-03 08:00"), utc("2026-03-03 08:30")),
    ]


def test_expand_hours_kolkata_half_hour_offset() -> None:
    tz = ZoneInfo("Asia/Kolkata")
    hours = WeeklyHours.from_mapping({"mon": [["09:00", "17:00"]]})
    bounds = (utc("2026-03-01 00:00"), utc("2026-03-03 00:00"))
    assert expand_hours(hours, tz, bounds) == [(utc("2026-03-02 03:30"), utc("2026-03-02 11:30"))]


def test_expand_policy_weekdays_and_times_in_local_time() -> None:
    policy = Policy.from_mapping({"weekdays": ["mon", "tue"], "earliest": "08:00", "latest": "20:00"})
    bounds = (utc("2026-03-01 00:00"), utc("2026-03-04 00:00"))  # Sun..Tue UTC
    assert expand_policy(policy, ZoneInfo("Europe/Berlin"), bounds) == [
        (utc("2026-03-02 07:00"), utc("2026-03-02 19:00")),
        (utc("2026-03-03 07:00"), utc("2026-03-03 19:00")),
    ]
    assert expand_policy(policy, ZoneInfo("Australia/Sydney"), bounds) == [
        (utc("2026-03-01 21:00"), utc("2026-03-02 09:00")),  # Mon in Sydney (+11)
        (utc("2026-03-02 21:00"), utc("2026-03-03 09:00")),
    ]


def test_expand_policy_without_times_joins_whole_days() -> None:
    policy = Policy(weekdays=frozenset({0, 1}))
    bounds = (utc("2026-03-01 00:00"), utc("2026-03-05 00:00"))
    assert expand_policy(policy, ZoneInfo("UTC"), bounds) == [(utc("2026-03-02 00:00"), utc("2026-03-04 00:00"))]


def test_local_dates_wall_minutes_and_local_date() -> None:
    tz = ZoneInfo("Asia/Kolkata")
    span = (utc("2026-03-01 18:00"), utc("2026-03-02 18:30"))  # 23:30 Sun .. 24:00 Mon local
    assert list(local_dates(span, tz)) == [date(2026, 3, 1), date(2026, 3, 2)]
    assert list(local_dates((utc("2026-03-01 18:30"), utc("2026-03-01 18:30")), tz)) == [date(2026, 3, 2)]
    assert wall_minutes(utc("2026-03-02 03:30"), tz) == 9 * 60
    assert local_date(utc("2026-03-01 18:29"), tz) == date(2026, 3, 1)
    assert local_date(utc("2026-03-01 18:30"), tz) == date(2026, 3, 2)
