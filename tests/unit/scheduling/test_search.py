"""Slot search, table-driven: DST days, odd offsets, southern hemisphere, buffers, limits, policy, ranking, explain."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.scheduling import find_slots
from bot.scheduling.intervals import Interval
from bot.scheduling.model import BusyEvent, Participant, Policy, SlotRequest, SlotResult, WeeklyHours
from bot.scheduling.search import free_spans

ALL_WEEK = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
NINE_TO_FIVE = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def T(text: str, zone: str = "UTC") -> datetime:
    """'YYYY-MM-DD HH:MM' as an aware datetime in ``zone`` (first occurrence when ambiguous)."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


def ev(start: str, end: str, zone: str = "UTC", **kw: object) -> BusyEvent:
    return BusyEvent(Interval(T(start, zone), T(end, zone)), **kw)  # type: ignore[arg-type]


def person(
    pid: str = "dana",
    zone: str = "UTC",
    hours: Mapping[str, list[list[str]]] | None = None,
    overrides: Mapping[str, list[list[str]]] | None = None,
    busy: Iterable[BusyEvent] = (),
    before: int = 0,
    after: int = 0,
    **kw: object,
) -> Participant:
    return Participant(
        id=pid,
        timezone=zone,
        hours=WeeklyHours.from_mapping(NINE_TO_FIVE if hours is None else hours, overrides),
        busy=tuple(busy),
        buffer_before=timedelta(minutes=before),
        buffer_after=timedelta(minutes=after),
        **kw,  # type: ignore[arg-type]
    )


def search(
    *people: Participant,
    start: str,
    end: str,
    zone: str = "UTC",
    now: str | None = None,
    duration: int = 60,
    step: int = 15,
    notice: int = 0,
    horizon_days: float = 60,
    required: int | None = None,
    max_results: int = 50,
    policy: Policy | None = None,
    ranking: str | None = "earliest",
    explain_limit: int = 40,
) -> SlotResult:
    return find_slots(
        SlotRequest(
            now=T(now, zone) if now else T(start, zone) - timedelta(days=1),
            duration=timedelta(minutes=duration),
            window=Interval(T(start, zone), T(end, zone)),
            participants=people,
            step=timedelta(minutes=step),
            min_notice=timedelta(minutes=notice),
            horizon=timedelta(days=horizon_days),
            required=required,
            max_results=max_results,
            policy=policy or Policy(),
            ranking=ranking,  # type: ignore[arg-type]
            explain_limit=explain_limit,
        )
    )


def local(result: SlotResult, zone: str = "UTC") -> list[str]:
    """Slot starts as local 'MM-DD HH:MM' (with the UTC offset when it is not the zone's only one)."""
    return [s.start.astimezone(ZoneInfo(zone)).strftime("%m-%d %H:%M") for s in result.slots]


def utc(result: SlotResult) -> list[str]:
    return [s.start.astimezone(UTC).strftime("%m-%d %H:%M") for s in result.slots]


# --- DST change days and odd offsets ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day_before", "dst_day", "utc_before", "utc_after"),
    [
        ("America/New_York", "2026-03-07", "2026-03-08", "03-07 14:00", "03-08 13:00"),
        ("America/New_York", "2026-10-31", "2026-11-01", "10-31 13:00", "11-01 14:00"),
        ("Europe/Berlin", "2026-03-28", "2026-03-29", "03-28 08:00", "03-29 07:00"),
        ("Europe/Berlin", "2026-10-24", "2026-10-25", "10-24 07:00", "10-25 08:00"),
        ("Australia/Lord_Howe", "2026-04-04", "2026-04-05", "04-03 22:00", "04-04 22:30"),
        ("Australia/Lord_Howe", "2026-10-03", "2026-10-04", "10-02 22:30", "10-03 22:00"),
        ("Australia/Sydney", "2026-04-04", "2026-04-05", "04-03 22:00", "04-04 23:00"),
        ("Australia/Sydney", "2026-10-03", "2026-10-04", "10-02 23:00", "10-03 22:00"),
    ],
)
def test_nine_to_five_on_dst_days_starts_at_nine_local(
    zone: str, day_before: str, dst_day: str, utc_before: str, utc_after: str
) -> None:
    result = search(
        person(zone=zone), start=f"{day_before} 00:00", end=f"{dst_day} 23:59", zone=zone, max_results=2, ranking=None
    )  # two results: spread over days by default
    assert local(result, zone) == [f"{day_before[5:]} 09:00", f"{dst_day[5:]} 09:00"]
    assert utc(result) == [utc_before, utc_after]
    assert [s.end - s.start for s in result.slots] == [timedelta(hours=1)] * 2


@pytest.mark.parametrize(
    ("zone", "dst_day", "last_start"),
    [
        ("America/New_York", "2026-03-08", "03-08 20:00"),  # 16:00 EDT
        ("America/New_York", "2026-11-01", "11-01 21:00"),  # 16:00 EST
        ("Europe/Berlin", "2026-10-25", "10-25 15:00"),
    ],
)
def test_nine_to_five_on_dst_day_has_eight_hourly_slots(zone: str, dst_day: str, last_start: str) -> None:
    result = search(person(zone=zone), start=f"{dst_day} 00:00", end=f"{dst_day} 23:00", zone=zone, step=60)
    assert local(result, zone) == [f"{dst_day[5:]} {h:02d}:00" for h in range(9, 17)]
    assert utc(result)[-1] == last_start


def test_spring_forward_range_is_one_real_hour() -> None:
    ny = "America/New_York"
    someone = person(zone=ny, hours={}, overrides={"2026-03-08": [["01:00", "03:00"]]})
    result = search(someone, start="2026-03-08 00:00", end="2026-03-08 12:00", zone=ny, step=15)
    assert utc(result) == ["03-08 06:00"]  # 01:00 EST; 02:00 EST does not exist
    assert result.slots[0].end == datetime(2026, 3, 8, 7, tzinfo=UTC)
    longer = search(someone, start="2026-03-08 00:00", end="2026-03-08 12:00", zone=ny, duration=90)
    assert longer.slots == ()
    assert "Sun 8 Mar 01:00-03:00 free, but shorter than 90 min" in longer.explain


def test_fall_back_range_is_two_real_hours() -> None:
    ny = "America/New_York"
    someone = person(zone=ny, hours={}, overrides={"2026-11-01": [["01:00", "02:00"]]})
    hourly = search(someone, start="2026-11-01 00:00", end="2026-11-01 12:00", zone=ny, step=60)
    # 01:00 EDT and 01:00 EST: both are 01:00 on the wall clock
    assert utc(hourly) == ["11-01 05:00", "11-01 06:00"]
    assert [s.start.astimezone(ZoneInfo(ny)).utcoffset() for s in hourly.slots] == [
        timedelta(hours=-4),
        timedelta(hours=-5),
    ]
    two_hours = search(someone, start="2026-11-01 00:00", end="2026-11-01 12:00", zone=ny, duration=120)
    assert [(s.start, s.end) for s in two_hours.slots] == [
        (datetime(2026, 11, 1, 5, tzinfo=UTC), datetime(2026, 11, 1, 7, tzinfo=UTC))
    ]


def test_step_aligns_across_spring_forward_on_local_wall_clock() -> None:
    ny = "America/New_York"
    someone = person(zone=ny, hours=ALL_WEEK)
    result = search(someone, start="2026-03-08 00:00", end="2026-03-08 04:30", zone=ny, step=45, duration=15)
    # wall minutes divisible by 45: 00:00 00:45 01:30 | 02:15 does not exist | 03:00 is 180 = 4*45, 03:45
    assert local(result, ny) == ["03-08 00:00", "03-08 00:45", "03-08 01:30", "03-08 03:00", "03-08 03:45"]


def test_kolkata_hourly_step_aligns_to_local_hour_which_is_half_past_utc() -> None:
    kolkata = person(zone="Asia/Kolkata", hours={"mon": [["09:00", "12:00"]]})
    result = search(kolkata, start="2026-03-02 00:00", end="2026-03-03 00:00", step=60)
    assert utc(result) == ["03-02 03:30", "03-02 04:30", "03-02 05:30"]
    assert local(result, "Asia/Kolkata") == ["03-02 09:00", "03-02 10:00", "03-02 11:00"]


def test_alignment_follows_the_first_participants_clock() -> None:
    london = person("lee", zone="UTC", hours=ALL_WEEK)
    kolkata = person("kiran", zone="Asia/Kolkata", hours={"mon": [["09:00", "12:00"]]})
    first_utc = search(london, kolkata, start="2026-03-02 00:00", end="2026-03-03 00:00", step=60)
    assert utc(first_utc) == ["03-02 04:00", "03-02 05:00"]  # :00 UTC, inside 03:30-06:30Z
    first_kolkata = search(kolkata, london, start="2026-03-02 00:00", end="2026-03-03 00:00", step=60)
    assert utc(first_kolkata) == ["03-02 03:30", "03-02 04:30", "03-02 05:30"]
    assert all(s.participants == ("kiran", "lee") for s in first_kolkata.slots)


@pytest.mark.parametrize(
    ("day", "start", "end", "expected_utc", "expected_local"),
    [
        # fall back 2026-04-05: 02:00 +11 -> 01:30 +10:30 at 15:00Z; 01:30 +10:30 is not on the hour
        (
            "2026-04-05",
            "2026-04-04 13:00",
            "2026-04-04 17:00",
            ["04-04 13:00", "04-04 14:00", "04-04 15:30", "04-04 16:30"],
            ["00:00", "01:00", "02:00", "03:00"],
        ),
        # spring forward 2026-10-04: 02:00 +10:30 -> 02:30 +11 at 15:30Z; 02:30 is not on the hour
        (
            "2026-10-04",
            "2026-10-03 13:30",
            "2026-10-03 17:30",
            ["10-03 13:30", "10-03 14:30", "10-03 16:00", "10-03 17:00"],
            ["00:00", "01:00", "03:00", "04:00"],
        ),
    ],
)
def test_lord_howe_half_hour_shift(
    day: str, start: str, end: str, expected_utc: list[str], expected_local: list[str]
) -> None:
    lh = person(zone="Australia/Lord_Howe", hours=ALL_WEEK)
    result = search(lh, start=start, end=end, step=60, duration=30)
    assert utc(result) == expected_utc
    assert local(result, "Australia/Lord_Howe") == [f"{day[5:]} {t}" for t in expected_local]


def test_sydney_southern_hemisphere_summer_and_winter() -> None:
    sydney = person(zone="Australia/Sydney")
    summer = search(sydney, start="2026-01-15 00:00", end="2026-01-16 00:00", zone="Australia/Sydney", max_results=1)
    winter = search(sydney, start="2026-07-15 00:00", end="2026-07-16 00:00", zone="Australia/Sydney", max_results=1)
    assert utc(summer) == ["01-14 22:00"]  # AEDT +11 in January
    assert utc(winter) == ["07-14 23:00"]  # AEST +10 in July


# --- weekly hours, overrides, step ----------------------------------------------------------------------


def test_several_ranges_a_day() -> None:
    someone = person(hours={"mon": [["09:00", "10:00"], ["10:30", "12:00"]]})
    result = search(someone, start="2026-03-02 00:00", end="2026-03-03 00:00", duration=45)
    assert local(result) == ["03-02 09:00", "03-02 09:15", "03-02 10:30", "03-02 10:45", "03-02 11:00", "03-02 11:15"]
    assert result.explain == ("Mon 2 Mar outside working hours (hours: 09:00-10:00, 10:30-12:00)",)


def test_override_replaces_a_day_and_empty_override_is_a_day_off() -> None:
    someone = person(
        hours={"mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]]},
        overrides={"2026-03-02": [["13:00", "15:00"]], "2026-03-03": []},
    )
    result = search(someone, start="2026-03-02 00:00", end="2026-03-05 00:00", step=60)
    assert local(result) == ["03-02 13:00", "03-02 14:00"]
    assert result.explain == (
        "Mon 2 Mar outside working hours (hours: 13:00-15:00)",
        "Tue 3 Mar day off",
        "Wed 4 Mar outside working hours",
    )


def test_override_adds_hours_on_a_day_without_weekly_hours() -> None:
    someone = person(hours={"mon": [["09:00", "17:00"]]}, overrides={"2026-03-07": [["10:00", "11:00"]]})
    result = search(someone, start="2026-03-07 00:00", end="2026-03-08 00:00")
    assert local(result) == ["03-07 10:00"]


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (15, ["09:15", "09:30", "09:45", "10:00", "10:15", "10:30"]),
        (30, ["09:30", "10:00", "10:30"]),
        (45, ["09:45", "10:30"]),  # 585 and 630 minutes after midnight
        (60, ["10:00"]),
    ],
)
def test_step_alignment(step: int, expected: list[str]) -> None:
    someone = person(hours={"mon": [["09:10", "11:00"]]})
    result = search(someone, start="2026-03-02 00:00", end="2026-03-03 00:00", duration=30, step=step)
    assert local(result) == [f"03-02 {t}" for t in expected]


def test_step_45_wraps_at_local_midnight() -> None:
    someone = person(hours=ALL_WEEK)
    result = search(someone, start="2026-03-02 22:00", end="2026-03-03 01:00", duration=15, step=45)
    # 22:30 (1350), 23:15 (1395), then midnight restarts the count: 00:00, 00:45
    assert local(result) == ["03-02 22:30", "03-02 23:15", "03-03 00:00", "03-03 00:45"]


def test_session_may_span_midnight_when_hours_do() -> None:
    someone = person(hours={"mon": [["23:00", "24:00"]], "tue": [["00:00", "01:00"]]})
    result = search(someone, start="2026-03-02 00:00", end="2026-03-04 00:00", duration=120, step=60)
    assert [(s.start, s.end) for s in result.slots] == [(T("2026-03-02 23:00"), T("2026-03-03 01:00"))]


def test_window_bounds_the_session() -> None:
    someone = person()
    result = search(someone, start="2026-03-02 10:10", end="2026-03-02 12:00", duration=60, step=15)
    assert local(result) == ["03-02 10:15", "03-02 10:30", "03-02 10:45", "03-02 11:00"]


# --- busy time and buffers ------------------------------------------------------------------------------


def test_buffers_around_an_event() -> None:
    someone = person(busy=[ev("2026-03-02 12:00", "2026-03-02 13:00")], before=15, after=30)
    result = search(someone, start="2026-03-02 09:00", end="2026-03-02 17:00")
    starts = local(result)
    # [s - 15, s + 60 + 30) must stay clear of 12:00-13:00: s <= 10:30 or s >= 13:15
    assert starts[:7] == [
        "03-02 09:00",
        "03-02 09:15",
        "03-02 09:30",
        "03-02 09:45",
        "03-02 10:00",
        "03-02 10:15",
        "03-02 10:30",
    ]
    assert starts[7] == "03-02 13:15"
    assert result.explain == (
        "Mon 2 Mar 11:30-12:00 kept free as a buffer",
        "Mon 2 Mar 12:00-13:00 busy",
        "Mon 2 Mar 13:00-13:15 kept free as a buffer",
    )


def test_buffers_around_a_booking_use_the_larger_on_both_sides() -> None:
    someone = person(busy=[ev("2026-03-02 12:00", "2026-03-02 13:00", kind="booking")], before=15, after=30)
    result = search(someone, start="2026-03-02 09:00", end="2026-03-02 17:00")
    starts = local(result)
    assert "03-02 10:30" in starts
    assert "03-02 10:45" not in starts
    assert "03-02 13:15" not in starts
    assert starts[starts.index("03-02 10:30") + 1] == "03-02 13:30"
    assert "Mon 2 Mar 13:00-13:30 kept free as a buffer" in result.explain
    assert "Mon 2 Mar 11:30-12:00 kept free as a buffer" in result.explain


def test_back_to_back_without_buffers_is_fine() -> None:
    someone = person(busy=[ev("2026-03-02 10:00", "2026-03-02 11:00"), ev("2026-03-02 12:00", "2026-03-02 13:00")])
    result = search(someone, start="2026-03-02 09:00", end="2026-03-02 14:00", step=60)
    assert local(result) == ["03-02 09:00", "03-02 11:00", "03-02 13:00"]


def test_duration_not_fitting_in_a_short_gap() -> None:
    someone = person(busy=[ev("2026-03-02 09:00", "2026-03-02 10:00"), ev("2026-03-02 10:30", "2026-03-02 17:00")])
    result = search(someone, start="2026-03-02 00:00", end="2026-03-03 00:00", duration=45)
    assert result.slots == ()
    assert result.explain == (
        "Mon 2 Mar outside working hours (hours: 09:00-17:00)",
        "Mon 2 Mar 09:00-10:00 busy",
        "Mon 2 Mar 10:00-10:30 free, but shorter than 45 min",
        "Mon 2 Mar 10:30-17:00 busy",
    )


@pytest.mark.parametrize(
    ("event", "settings", "blocks"),
    [
        ({}, {}, True),
        ({"transparency": "transparent"}, {}, False),
        ({"all_day": True}, {}, True),
        ({"all_day": True}, {"all_day_blocks": False}, False),
        ({"status": "tentative"}, {}, True),
        ({"status": "tentative"}, {"tentative_blocks": False}, False),
        ({"status": "cancelled"}, {}, False),
        ({"status": "cancelled", "kind": "booking"}, {}, False),
        ({"transparency": "transparent", "all_day": True}, {}, False),
        ({"status": "tentative", "all_day": True}, {"tentative_blocks": False}, False),
        ({"status": "tentative", "all_day": True}, {"all_day_blocks": False, "tentative_blocks": True}, False),
        ({"all_day": True}, {"tentative_blocks": False}, True),
    ],
)
def test_what_counts_as_busy(event: dict[str, object], settings: dict[str, object], blocks: bool) -> None:
    busy = ev("2026-03-02 00:00", "2026-03-03 00:00", **event)
    someone = person(busy=[busy], **settings)
    result = search(someone, start="2026-03-02 00:00", end="2026-03-03 00:00", step=60)
    if blocks:
        assert result.slots == ()
        assert "Mon 2 Mar 09:00-17:00 busy" in result.explain
    else:
        assert len(result.slots) == 8
        assert not any("busy" in line for line in result.explain)


# --- notice, horizon, past --------------------------------------------------------------------------------


def test_minimum_notice() -> None:
    result = search(person(), start="2026-03-02 00:00", end="2026-03-03 00:00", now="2026-03-02 09:05", notice=60)
    assert local(result)[0] == "03-02 10:15"  # now + 1 hour = 10:05, next quarter hour
    assert result.explain[0] == "Before Mon 2 Mar 10:05 (UTC): inside the minimum notice of 1 hour"


def test_minimum_notice_shown_in_the_first_participants_zone() -> None:
    result = search(
        person(zone="Asia/Kolkata"),
        start="2026-03-02 00:00",
        end="2026-03-03 00:00",
        now="2026-03-02 04:00",
        notice=90,
        step=30,
    )
    assert local(result, "Asia/Kolkata")[0] == "03-02 11:00"  # 04:00Z + 90 min = 05:30Z = 11:00 IST
    assert result.explain[0] == "Before Mon 2 Mar 11:00 (Asia/Kolkata): inside the minimum notice of 90 min"


def test_already_past() -> None:
    result = search(person(), start="2026-03-02 00:00", end="2026-03-03 00:00", now="2026-03-02 12:20", step=30)
    assert local(result)[0] == "03-02 12:30"
    assert result.explain[0] == "Before Mon 2 Mar 12:20 (UTC): already past"


def test_horizon_limits_start_times_inclusive() -> None:
    result = search(
        person(), start="2026-03-02 00:00", end="2026-03-03 00:00", now="2026-03-01 12:00", horizon_days=1, step=60
    )
    assert local(result) == ["03-02 09:00", "03-02 10:00", "03-02 11:00", "03-02 12:00"]
    assert result.explain[0] == "After Mon 2 Mar 12:00 (UTC): beyond the booking horizon of 1 day"


def test_horizon_before_window_gives_nothing() -> None:
    result = search(person(), start="2026-03-10 00:00", end="2026-03-11 00:00", now="2026-03-01 00:00", horizon_days=2)
    assert result.slots == ()
    assert result.explain[0] == "After Tue 3 Mar 00:00 (UTC): beyond the booking horizon of 2 days"


# --- policy -----------------------------------------------------------------------------------------------


def test_policy_times_apply_in_each_participants_zone() -> None:
    policy = Policy.from_mapping({"earliest": "09:00", "latest": "17:00"})
    ny = person("ny", zone="America/New_York", hours=ALL_WEEK)
    berlin = person("be", zone="Europe/Berlin", hours=ALL_WEEK)
    result = search(ny, berlin, start="2026-03-02 00:00", end="2026-03-03 00:00", step=60, policy=policy)
    # NY 09-17 EST = 14-22Z, Berlin 09-17 CET = 08-16Z: together 14-16Z
    assert utc(result) == ["03-02 14:00", "03-02 15:00"]
    assert all(s.participants == ("ny", "be") for s in result.slots)
    assert "Before 09:00 and after 17:00 local time: not allowed by organisation policy" in result.explain


def test_policy_weekdays_apply_in_each_participants_zone() -> None:
    policy = Policy.from_mapping({"weekdays": ["mon", "tue", "wed", "thu", "fri"]})
    ny = person("ny", zone="America/New_York", hours=ALL_WEEK)
    berlin = person("be", zone="Europe/Berlin", hours=ALL_WEEK)
    result = search(
        ny, berlin, start="2026-03-06 12:00", end="2026-03-09 12:00", step=60, policy=policy, max_results=100
    )
    # Friday ends at 23:00Z in Berlin (05:00Z Saturday in NY); Monday starts at 04:00Z in NY (EDT since Sunday)
    assert utc(result) == [f"03-06 {h}:00" for h in range(12, 23)] + [f"03-09 {h:02d}:00" for h in range(4, 12)]
    assert "Sat, Sun: not allowed by organisation policy" in result.explain


def test_policy_only_latest_and_only_earliest() -> None:
    late = search(
        person(),
        start="2026-03-02 00:00",
        end="2026-03-03 00:00",
        step=60,
        policy=Policy.from_mapping({"latest": "11:00"}),
    )
    assert local(late) == ["03-02 09:00", "03-02 10:00"]
    assert "After 11:00 local time: not allowed by organisation policy" in late.explain
    early = search(
        person(),
        start="2026-03-02 00:00",
        end="2026-03-03 00:00",
        step=60,
        policy=Policy.from_mapping({"earliest": "15:00"}),
    )
    assert local(early) == ["03-02 15:00", "03-02 16:00"]
    assert "Before 15:00 local time: not allowed by organisation policy" in early.explain


def test_policy_that_removes_nothing_is_not_explained() -> None:
    result = search(
        person(),
        start="2026-03-02 00:00",
        end="2026-03-03 00:00",
        policy=Policy.from_mapping({"earliest": "08:00", "latest": "20:00"}),
    )
    assert not any("policy" in line for line in result.explain)


def test_policy_on_weekdays_that_removes_nothing_is_not_explained() -> None:
    weekdays = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    policy = Policy.from_mapping({"weekdays": ["mon", "tue", "wed", "thu", "fri"], "earliest": "08:00"})
    berlin = person(zone="Europe/Berlin", hours=weekdays)
    result = search(berlin, start="2026-03-23 00:00", end="2026-04-06 00:00", zone="Europe/Berlin", policy=policy)
    assert not any("policy" in line for line in result.explain)
    stricter = Policy.from_mapping({"weekdays": ["mon", "tue", "wed", "thu"], "earliest": "08:00"})
    result = search(berlin, start="2026-03-23 00:00", end="2026-04-06 00:00", zone="Europe/Berlin", policy=stricter)
    assert "Fri, Sat, Sun: not allowed by organisation policy" in result.explain


# --- daily and weekly limits ----------------------------------------------------------------------------


def test_max_per_day_counts_bookings_only() -> None:
    someone = person(
        busy=[ev("2026-03-02 09:00", "2026-03-02 10:00", kind="booking"), ev("2026-03-03 09:00", "2026-03-03 10:00")],
        max_per_day=1,
    )
    result = search(someone, start="2026-03-02 00:00", end="2026-03-04 00:00", step=60)
    assert local(result) == [f"03-03 {h}:00" for h in range(10, 17)]  # Monday full; Tuesday's event is no booking
    assert result.explain[0] == "Mon 2 Mar daily limit of 1 sessions reached"


def test_max_per_day_counts_per_local_date() -> None:
    berlin = "Europe/Berlin"
    # 23:30Z on Monday is 00:30 on Tuesday in Berlin
    someone = person(zone=berlin, busy=[ev("2026-03-02 23:30", "2026-03-03 00:00", kind="booking")], max_per_day=1)
    result = search(someone, start="2026-03-02 00:00", end="2026-03-04 00:00", zone=berlin, step=60)
    assert {s[:5] for s in local(result, berlin)} == {"03-02"}
    assert "Tue 3 Mar daily limit of 1 sessions reached" in result.explain


def test_max_per_day_not_reached() -> None:
    someone = person(busy=[ev("2026-03-02 09:00", "2026-03-02 10:00", kind="booking")], max_per_day=2)
    result = search(someone, start="2026-03-02 00:00", end="2026-03-03 00:00", step=60)
    assert local(result) == [f"03-02 {h}:00" for h in range(10, 17)]


def test_max_per_week_closes_the_rest_of_the_iso_week() -> None:
    someone = person(
        busy=[
            ev("2026-03-02 09:00", "2026-03-02 10:00", kind="booking"),  # Mon
            ev("2026-03-03 09:00", "2026-03-03 10:00", kind="booking"),  # Tue
            ev("2026-03-04 09:00", "2026-03-04 10:00", kind="booking", status="cancelled"),  # does not count
        ],
        max_per_week=2,
    )
    result = search(someone, start="2026-03-04 00:00", end="2026-03-10 00:00", ranking="spread", max_results=3)
    assert local(result) == ["03-09 09:00", "03-09 10:00", "03-09 11:00"]  # next ISO week only
    assert "Wed 4 Mar weekly limit of 2 sessions reached" in result.explain
    assert "Sun 8 Mar weekly limit of 2 sessions reached" in result.explain


def test_max_per_week_counts_bookings_days_before_the_window() -> None:
    someone = person(
        busy=[
            ev("2026-03-02 09:00", "2026-03-02 10:00", kind="booking"),  # Mon
            ev("2026-03-03 09:00", "2026-03-03 10:00", kind="booking"),  # Tue
        ],
        max_per_week=2,
    )
    result = search(someone, start="2026-03-06 00:00", end="2026-03-07 00:00")  # Fri of the same week
    assert result.slots == ()
    assert result.explain == ("Fri 6 Mar weekly limit of 2 sessions reached",)


# --- several participants ----------------------------------------------------------------------------------


def _trio() -> tuple[Participant, Participant, Participant]:
    ny = person("ny", zone="America/New_York")  # 14-22Z in March before the change
    london = person("ldn", zone="Europe/London")  # 09-17Z
    kolkata = person("kol", zone="Asia/Kolkata")  # 03:30-11:30Z
    return ny, london, kolkata


def test_required_all_needs_everyone() -> None:
    ny, london, kolkata = _trio()
    both = search(london, ny, start="2026-03-02 00:00", end="2026-03-03 00:00", step=60)
    assert utc(both) == ["03-02 14:00", "03-02 15:00", "03-02 16:00"]
    assert all(s.participants == ("ldn", "ny") for s in both.slots)
    everyone = search(london, ny, kolkata, start="2026-03-02 00:00", end="2026-03-03 00:00", step=60)
    assert everyone.slots == ()
    assert "Mon 2 Mar outside working hours (hours: 09:00-17:00) (kol)" in everyone.explain


def test_required_two_of_three_lists_who_is_free() -> None:
    ny, london, kolkata = _trio()
    result = search(
        london, ny, kolkata, start="2026-03-02 00:00", end="2026-03-03 00:00", step=60, required=2, max_results=100
    )
    got = [(s, tuple(p)) for s, p in zip(utc(result), (x.participants for x in result.slots), strict=True)]
    assert got == [
        ("03-02 09:00", ("ldn", "kol")),
        ("03-02 10:00", ("ldn", "kol")),
        ("03-02 14:00", ("ldn", "ny")),
        ("03-02 15:00", ("ldn", "ny")),
        ("03-02 16:00", ("ldn", "ny")),
    ]


def test_required_one_of_two_lists_both_where_both_are_free() -> None:
    a = person("a", hours={"mon": [["09:00", "11:00"]]})
    b = person("b", hours={"mon": [["10:00", "12:00"]]})
    result = search(a, b, start="2026-03-02 00:00", end="2026-03-03 00:00", step=60, required=1)
    assert [(t, s.participants) for t, s in zip(local(result), result.slots, strict=True)] == [
        ("03-02 09:00", ("a",)),
        ("03-02 10:00", ("a", "b")),
        ("03-02 11:00", ("b",)),
    ]


def test_partial_participant_freedom_with_buffers() -> None:
    a = person("a", busy=[ev("2026-03-02 10:00", "2026-03-02 11:00")], after=30)
    b = person("b")
    result = search(a, b, start="2026-03-02 09:00", end="2026-03-02 12:00", step=30, required=1, duration=60)
    got = [(t, s.participants) for t, s in zip(local(result), result.slots, strict=True)]
    # a is busy 10:00-11:00 and needs 30 min after a session: 09:00-10:00 would end inside that buffer
    assert got == [
        ("03-02 09:00", ("b",)),
        ("03-02 09:30", ("b",)),
        ("03-02 10:00", ("b",)),
        ("03-02 10:30", ("b",)),
        ("03-02 11:00", ("a", "b")),
    ]


# --- ranking ------------------------------------------------------------------------------------------------


def test_earliest_ranking() -> None:
    result = search(person(), start="2026-03-02 00:00", end="2026-03-05 00:00", max_results=3, ranking="earliest")
    assert local(result) == ["03-02 09:00", "03-02 09:15", "03-02 09:30"]


def test_spread_is_the_default_for_five_or_fewer() -> None:
    result = search(person(), start="2026-03-02 00:00", end="2026-03-05 00:00", max_results=3, ranking=None)
    assert local(result) == ["03-02 09:00", "03-03 09:00", "03-04 09:00"]


def test_earliest_is_the_default_for_more_than_five() -> None:
    result = search(person(), start="2026-03-02 00:00", end="2026-03-05 00:00", max_results=6, ranking=None)
    assert local(result) == [f"03-02 {t}" for t in ("09:00", "09:15", "09:30", "09:45", "10:00", "10:15")]


def test_spread_distinct_days_first_then_non_overlapping() -> None:
    result = search(person(), start="2026-03-02 00:00", end="2026-03-05 00:00", max_results=5, ranking="spread")
    assert local(result) == ["03-02 09:00", "03-02 10:00", "03-03 09:00", "03-03 10:00", "03-04 09:00"]
    by_day: dict[date, list[datetime]] = {}
    for s in result.slots:
        by_day.setdefault(s.start.date(), []).append(s.start)
    for starts in by_day.values():
        assert all(abs(x - y) >= timedelta(hours=1) for x in starts for y in starts if x != y)


def test_spread_fills_with_overlapping_times_rather_than_offer_fewer() -> None:
    someone = person(hours={"mon": [["09:00", "10:30"]]})
    result = search(someone, start="2026-03-02 00:00", end="2026-03-03 00:00", max_results=3, ranking="spread")
    assert local(result) == ["03-02 09:00", "03-02 09:15", "03-02 09:30"]


def test_spread_days_are_the_first_participants_local_days() -> None:
    kolkata = person(zone="Asia/Kolkata", hours=ALL_WEEK)
    result = search(kolkata, start="2026-03-01 18:00", end="2026-03-02 20:00", max_results=2, ranking="spread", step=30)
    # 18:30Z is local midnight: the second day starts there
    assert local(result, "Asia/Kolkata") == ["03-01 23:30", "03-02 00:00"]


# --- explain ---------------------------------------------------------------------------------------------------

ALLOWED_EXPLAIN = [
    r"Before (Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2} \d\d:\d\d \([A-Za-z_/+-]+\): "
    r"(inside the minimum notice of [\w ]+|already past)",
    r"After (Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2} \d\d:\d\d \([A-Za-z_/+-]+\): "
    r"beyond the booking horizon of [\w ]+",
    r"((Mon|Tue|Wed|Thu|Fri|Sat|Sun)(, )?)+: not allowed by organisation policy",
    r"(Before \d\d:\d\d( and after \d\d:\d\d)?|After \d\d:\d\d) local time: not allowed by organisation policy",
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2} "
    r"(day off|outside working hours( \(hours: ([0-9:, -]+|none in this window)\))?"
    r"|(daily|weekly) limit of \d+ sessions reached"
    r"|\d\d:\d\d-\d\d:\d\d (busy|kept free as a buffer|free, but shorter than [\w ]+))"
    r"( \([a-z]+\))?",
    r"\.\.\. and \d+ more",
]


def _explain_ok(line: str) -> bool:
    return any(re.fullmatch(p, line) for p in ALLOWED_EXPLAIN)


def test_explain_lines_are_only_times_and_reasons() -> None:
    policy = Policy.from_mapping(
        {"weekdays": ["mon", "tue", "wed", "thu", "fri"], "earliest": "08:00", "latest": "18:00"}
    )
    a = person(
        "ana",
        zone="Europe/Berlin",
        hours={"mon": [["07:00", "12:00"], ["13:00", "19:00"]], "tue": [["09:00", "17:00"]]},
        overrides={"2026-03-04": []},
        busy=[
            ev("2026-03-02 10:00", "2026-03-02 10:20"),
            ev("2026-03-02 15:00", "2026-03-02 16:00", kind="booking"),
            ev("2026-03-03 00:00", "2026-03-04 00:00", all_day=True),
        ],
        before=10,
        after=10,
        max_per_week=5,
    )
    b = person("bo", zone="America/New_York", hours=ALL_WEEK, busy=[ev("2026-03-05 12:00", "2026-03-05 13:00")])
    result = search(
        a,
        b,
        start="2026-03-02 00:00",
        end="2026-03-08 00:00",
        now="2026-03-02 08:00",
        notice=120,
        horizon_days=4,
        policy=policy,
        required=1,
        explain_limit=100,
        duration=45,
    )
    assert result.slots
    assert len(result.explain) > 10
    bad = [line for line in result.explain if not _explain_ok(line)]
    assert bad == []
    assert "Wed 4 Mar day off (ana)" in result.explain
    assert "Mon 2 Mar 11:00-11:20 busy (ana)" in result.explain  # 10:00Z is 11:00 in Berlin
    assert "Mon 2 Mar 10:50-11:00 kept free as a buffer (ana)" in result.explain
    assert "Mon 2 Mar 16:00-17:00 busy (ana)" in result.explain  # the booking
    assert "Mon 2 Mar 17:00-17:10 kept free as a buffer (ana)" in result.explain
    assert "Mon 2 Mar 11:30-12:00 free, but shorter than 45 min (ana)" in result.explain
    assert "Tue 3 Mar 09:00-17:00 busy (ana)" in result.explain  # all-day, blocks by default
    assert "Sat, Sun: not allowed by organisation policy" in result.explain
    assert result.explain[0] == "Before Mon 2 Mar 11:00 (Europe/Berlin): inside the minimum notice of 2 hours"
    assert result.explain[1] == "After Fri 6 Mar 09:00 (Europe/Berlin): beyond the booking horizon of 4 days"


def test_explain_clips_to_each_day_when_hours_run_across_midnight() -> None:
    night = {d: [["00:00", "02:00"], ["22:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    busy = [ev("2026-03-02 23:00", "2026-03-03 01:00"), ev("2026-03-03 23:30", "2026-03-03 23:45")]
    someone = person(hours=night, busy=busy, before=15, after=15)
    result = search(someone, start="2026-03-02 00:00", end="2026-03-05 00:00", duration=60, explain_limit=12)
    assert result.explain == (
        "Mon 2 Mar outside working hours (hours: 00:00-02:00, 22:00-24:00)",
        "Mon 2 Mar 22:00-22:45 free, but shorter than 1 hour",
        "Mon 2 Mar 22:45-23:00 kept free as a buffer",
        "Mon 2 Mar 23:00-24:00 busy",
        "Tue 3 Mar outside working hours (hours: 00:00-02:00, 22:00-24:00)",
        "Tue 3 Mar 00:00-01:00 busy",
        "Tue 3 Mar 01:00-01:15 kept free as a buffer",
        "Tue 3 Mar 01:15-02:00 free, but shorter than 1 hour",
        "Tue 3 Mar 23:15-23:30 kept free as a buffer",
        "Tue 3 Mar 23:30-23:45 busy",
        "Tue 3 Mar 23:45-24:00 kept free as a buffer",
        "Wed 4 Mar outside working hours (hours: 00:00-02:00, 22:00-24:00)",
    )
    assert [s.start.hour for s in result.slots[5:7]] == [22, 22]  # Tue 22:00 and 22:15, before the buffer


def test_explain_limit_summarises_the_rest() -> None:
    someone = person(hours={})
    result = search(someone, start="2026-03-02 00:00", end="2026-03-12 00:00", explain_limit=3)
    assert result.explain == (
        "Mon 2 Mar outside working hours",
        "Tue 3 Mar outside working hours",
        "Wed 4 Mar outside working hours",
        "... and 7 more",
    )


def test_explain_empty_when_everything_is_offered() -> None:
    result = search(person(hours=ALL_WEEK), start="2026-03-02 10:00", end="2026-03-02 12:00")
    assert result.explain == ()
    assert len(result.slots) == 5


# --- free_spans -------------------------------------------------------------------------------------------------


def test_free_spans() -> None:
    someone = person(busy=[ev("2026-03-02 12:00", "2026-03-02 13:00")], before=15, after=30)
    request = SlotRequest(
        now=T("2026-03-01 00:00"),
        duration=timedelta(hours=1),
        window=Interval(T("2026-03-02 00:00"), T("2026-03-03 00:00")),
        participants=(someone,),
    )
    ts = lambda s: int(T(s).timestamp())  # noqa: E731
    assert free_spans(someone, request) == [
        (ts("2026-03-02 09:00"), ts("2026-03-02 11:30")),
        (ts("2026-03-02 13:15"), ts("2026-03-02 17:00")),
    ]


def test_an_empty_event_blocks_nothing_even_with_buffers() -> None:
    someone = person(busy=[ev("2026-03-02 12:00", "2026-03-02 12:00")], before=15, after=15)
    result = search(someone, start="2026-03-02 11:00", end="2026-03-02 13:00", step=60)
    assert local(result) == ["03-02 11:00", "03-02 12:00"]
    assert result.explain == ()


def test_a_daily_limit_is_not_blamed_on_policy() -> None:
    someone = person(busy=[ev("2026-03-02 09:00", "2026-03-02 10:00", kind="booking")], max_per_day=1)
    result = search(
        someone,
        start="2026-03-02 00:00",
        end="2026-03-04 00:00",
        policy=Policy.from_mapping({"earliest": "08:00", "latest": "20:00"}),
    )
    assert result.explain == (
        "Mon 2 Mar daily limit of 1 sessions reached",
        "Tue 3 Mar outside working hours (hours: 09:00-17:00)",
    )


@pytest.mark.parametrize(("limits", "reason"), [({"max_per_day": 0}, "daily"), ({"max_per_week": 0}, "weekly")])
def test_a_limit_of_zero_closes_every_day(limits: dict[str, int], reason: str) -> None:
    result = search(person(**limits), start="2026-03-02 00:00", end="2026-03-04 00:00")
    assert result.slots == ()
    assert result.explain == (
        f"Mon 2 Mar {reason} limit of 0 sessions reached",
        f"Tue 3 Mar {reason} limit of 0 sessions reached",
    )
