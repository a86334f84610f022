"""ICS busy-time parser: a library of awkward calendars, each with its busy intervals asserted exactly."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.providers import ics
from bot.providers.ics import IcsError, load_ics_file, parse_ics
from bot.scheduling.intervals import Interval
from bot.scheduling.model import BusyEvent

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ics"
DEMO = Path(__file__).resolve().parents[3] / "bot" / "demo" / "sample_coach.ics"

JAN_WEEK = Interval(datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 12, tzinfo=UTC))
YEAR_2026 = Interval(datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
SECRET = "Top secret title"


def utc(text: str) -> datetime:
    """'2026-01-06 09:00' -> aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def spans(events: list[BusyEvent]) -> list[tuple[str, str]]:
    return [(e.interval.start.strftime("%Y-%m-%d %H:%M"), e.interval.end.strftime("%Y-%m-%d %H:%M")) for e in events]


def fixture(name: str, *, window: Interval = JAN_WEEK, tz: str = "UTC", **kwargs: object) -> list[BusyEvent]:
    events = load_ics_file(FIXTURES / name, window=window, default_tz=tz, **kwargs)  # type: ignore[arg-type]
    assert [e.interval.start for e in events] == sorted(e.interval.start for e in events)
    for e in events:
        assert e.interval.start.tzinfo is UTC and e.interval.end.tzinfo is UTC
        assert e.status != "cancelled"
        assert not hasattr(e, "title") and not hasattr(e, "summary")
    return events


# --- time zones -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "expected"),
    [
        ("UTC", ("2026-01-06 09:00", "2026-01-06 10:00")),
        ("America/New_York", ("2026-01-06 14:00", "2026-01-06 15:00")),
        ("Europe/Berlin", ("2026-01-06 08:00", "2026-01-06 09:00")),
        ("Asia/Kolkata", ("2026-01-06 03:30", "2026-01-06 04:30")),  # a 30-minute offset
        ("Australia/Adelaide", ("2026-01-05 22:30", "2026-01-05 23:30")),  # southern summer, +10:30
    ],
)
def test_floating_times_are_read_in_the_default_zone(tz: str, expected: tuple[str, str]) -> None:
    assert spans(fixture("floating.ics", tz=tz)) == [expected]


def test_tzid_with_vtimezone_follows_its_rules_in_winter_and_summer() -> None:
    events = fixture("tzid_vtimezone.ics", window=YEAR_2026, tz="Asia/Tokyo")
    assert spans(events) == [("2026-01-06 14:00", "2026-01-06 15:00"), ("2026-07-07 13:00", "2026-07-07 14:00")]


def test_tzid_with_iana_and_windows_names_without_vtimezone() -> None:
    events = fixture("tzid_iana.ics", tz="Europe/Berlin")
    assert spans(events) == [
        ("2026-01-06 04:00", "2026-01-06 05:00"),  # Asia/Kolkata 09:30 (+05:30)
        ("2026-01-06 22:30", "2026-01-06 23:30"),  # Australia/Adelaide 09:00 on the 7th (+10:30)
        ("2026-01-08 14:00", "2026-01-08 15:00"),  # "Eastern Standard Time" 09:00
    ]


def test_utc_times_ignore_the_default_zone_and_crlf_line_endings_work() -> None:
    assert b"\r\n" in (FIXTURES / "utc.ics").read_bytes()
    for tz in ("UTC", "Pacific/Kiritimati", "America/Los_Angeles"):
        assert spans(fixture("utc.ics", tz=tz)) == [("2026-01-06 15:00", "2026-01-06 16:30")]


def test_unknown_tzid_falls_back_to_the_default_zone() -> None:
    assert spans(fixture("unknown_tzid.ics", tz="America/New_York")) == [("2026-01-06 14:00", "2026-01-06 15:00")]
    assert spans(fixture("unknown_tzid.ics", tz="UTC")) == [("2026-01-06 09:00", "2026-01-06 10:00")]


def test_x_wr_timezone_is_used_for_floating_times() -> None:
    events = fixture("x_wr_timezone.ics", tz="America/New_York")
    assert spans(events) == [("2026-01-06 08:00", "2026-01-06 09:00"), ("2026-01-06 15:00", "2026-01-06 16:00")]


def test_invalid_x_wr_timezone_is_ignored() -> None:
    text = (FIXTURES / "x_wr_timezone.ics").read_text().replace("Europe/Berlin", "Nowhere/Special")
    events = parse_ics(text, window=JAN_WEEK, default_tz="America/New_York")
    assert spans(events) == [("2026-01-06 14:00", "2026-01-06 15:00"), ("2026-01-06 15:00", "2026-01-06 16:00")]


# --- all-day and lengths ----------------------------------------------------------------------------------


def test_all_day_single_and_multi_day_are_local_midnights() -> None:
    events = fixture("all_day.ics", tz="America/New_York")
    assert spans(events) == [("2026-01-07 05:00", "2026-01-08 05:00"), ("2026-01-08 05:00", "2026-01-10 05:00")]
    assert all(e.all_day for e in events)
    tokyo = fixture("all_day.ics", tz="Asia/Tokyo", window=YEAR_2026)
    assert spans(tokyo) == [("2026-01-06 15:00", "2026-01-07 15:00"), ("2026-01-07 15:00", "2026-01-09 15:00")]


def test_duration_instead_of_dtend_and_zero_length_skipped() -> None:
    window = Interval(utc("2026-01-05 00:00"), utc("2026-03-31 00:00"))
    events = fixture("duration.ics", window=window, tz="America/New_York")
    assert spans(events) == [
        ("2026-01-06 15:00", "2026-01-06 15:45"),  # PT45M
        ("2026-01-08 05:00", "2026-01-10 05:00"),  # all-day, P2D
        ("2026-03-07 17:00", "2026-03-08 16:00"),  # P1D over the US DST change: same wall-clock time, 23 h
    ]
    assert [e.all_day for e in events] == [False, True, False]


# --- recurrence -------------------------------------------------------------------------------------------


def test_rrule_with_until_utc_and_until_date() -> None:
    window = Interval(utc("2026-01-01 00:00"), utc("2026-02-01 00:00"))
    assert spans(fixture("rrule_until.ics", window=window)) == [
        ("2026-01-05 10:00", "2026-01-05 11:00"),
        ("2026-01-05 17:00", "2026-01-05 18:00"),
        ("2026-01-06 17:00", "2026-01-06 18:00"),
        ("2026-01-07 10:00", "2026-01-07 11:00"),
        ("2026-01-12 10:00", "2026-01-12 11:00"),
        ("2026-01-14 10:00", "2026-01-14 11:00"),
    ]


def test_rrule_with_count() -> None:
    assert spans(fixture("rrule_count.ics", window=YEAR_2026)) == [
        ("2026-01-06 08:00", "2026-01-06 08:30"),
        ("2026-01-07 08:00", "2026-01-07 08:30"),
        ("2026-01-08 08:00", "2026-01-08 08:30"),
    ]


def test_exdate_single_and_list() -> None:
    window = Interval(utc("2026-01-05 00:00"), utc("2026-01-17 00:00"))
    days = [s[0][:10] for s in spans(fixture("exdate.ics", window=window))]
    assert days == [
        "2026-01-05", "2026-01-06", "2026-01-08", "2026-01-09",  # 7th excluded
        "2026-01-12", "2026-01-15", "2026-01-16",  # 13th and 14th excluded
    ]  # fmt: skip


def test_recurrence_id_overrides_moves_and_cancellations() -> None:
    events = fixture("recurrence_id.ics", tz="America/New_York")
    assert spans(events) == [
        ("2026-01-05 09:00", "2026-01-05 10:00"),  # as the rule says (10:00 Berlin)
        ("2026-01-06 14:00", "2026-01-06 15:00"),  # moved to 15:00 Berlin
        ("2026-01-08 00:00", "2026-01-08 01:00"),  # the 7th moved to 09:00 Tokyo on the 8th
        # the 8th is cancelled; the 9th moved out of the window, to the 20th
    ]
    later = fixture("recurrence_id.ics", window=Interval(utc("2026-01-12 00:00"), utc("2026-02-01 00:00")))
    assert spans(later) == [("2026-01-20 09:00", "2026-01-20 10:00")]


def test_weekly_meeting_across_us_dst_change_keeps_local_time() -> None:
    window = Interval(utc("2026-03-01 00:00"), utc("2026-03-17 00:00"))
    assert spans(fixture("dst_us.ics", window=window)) == [
        ("2026-03-02 14:00", "2026-03-02 15:00"),  # EST
        ("2026-03-09 13:00", "2026-03-09 14:00"),  # EDT from 2026-03-08
        ("2026-03-16 13:00", "2026-03-16 14:00"),
    ]


def test_weekly_meeting_across_eu_dst_change_with_outlook_vtimezone() -> None:
    window = Interval(utc("2026-03-16 00:00"), utc("2026-04-06 00:00"))
    assert spans(fixture("dst_eu.ics", window=window)) == [
        ("2026-03-19 08:00", "2026-03-19 09:00"),  # CET
        ("2026-03-26 08:00", "2026-03-26 09:00"),
        ("2026-04-02 07:00", "2026-04-02 08:00"),  # CEST from 2026-03-29
    ]
    autumn = Interval(utc("2026-10-19 00:00"), utc("2026-11-02 00:00"))
    assert spans(fixture("dst_eu.ics", window=autumn)) == [
        ("2026-10-22 07:00", "2026-10-22 08:00"),
        ("2026-10-29 08:00", "2026-10-29 09:00"),  # CET again from 2026-10-25
    ]


def test_rdate_adds_instances() -> None:
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nBEGIN:VEVENT\r\nUID:r\r\nDTSTAMP:20260101T000000Z\r\n"
        "DTSTART:20260105T100000Z\r\nDTEND:20260105T110000Z\r\nRDATE:20260107T100000Z,20260109T120000Z\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    assert spans(parse_ics(text, window=JAN_WEEK)) == [
        ("2026-01-05 10:00", "2026-01-05 11:00"),
        ("2026-01-07 10:00", "2026-01-07 11:00"),
        ("2026-01-09 12:00", "2026-01-09 13:00"),
    ]


# --- transparency, status, free/busy ----------------------------------------------------------------------


def test_transparent_tentative_and_cancelled() -> None:
    events = fixture("transp_status.ics")
    assert [(s, e.transparency, e.status) for s, e in zip(spans(events), events, strict=True)] == [
        (("2026-01-06 09:00", "2026-01-06 10:00"), "transparent", "confirmed"),
        (("2026-01-06 11:00", "2026-01-06 12:00"), "opaque", "tentative"),
        (("2026-01-06 13:00", "2026-01-06 14:00"), "opaque", "confirmed"),
    ]


def test_vfreebusy_periods() -> None:
    events = fixture("freebusy.ics")
    assert [(s, e.status) for s, e in zip(spans(events), events, strict=True)] == [
        (("2026-01-05 09:00", "2026-01-05 10:00"), "confirmed"),
        (("2026-01-05 14:00", "2026-01-05 14:30"), "confirmed"),  # start/duration period
        (("2026-01-06 09:00", "2026-01-06 10:00"), "tentative"),
        (("2026-01-07 00:00", "2026-01-07 08:00"), "confirmed"),  # BUSY-UNAVAILABLE
        # FREE on the 8th ignored, February outside the window
    ]


def test_source_is_the_argument_or_the_path() -> None:
    text = (FIXTURES / "utc.ics").read_bytes()
    assert [e.source for e in parse_ics(text, window=JAN_WEEK, source="cal-42")] == ["cal-42"]
    assert [e.source for e in parse_ics(text, window=JAN_WEEK)] == [None]
    path = FIXTURES / "utc.ics"
    assert [e.source for e in load_ics_file(path, window=JAN_WEEK)] == [str(path)]


# --- window edges -----------------------------------------------------------------------------------------


def test_window_is_half_open() -> None:
    window = Interval(utc("2026-01-06 00:00"), utc("2026-01-07 00:00"))
    assert spans(fixture("edges.ics", window=window)) == [
        ("2026-01-05 23:00", "2026-01-06 00:30"),  # straddles the start: kept whole
        ("2026-01-06 12:00", "2026-01-06 13:00"),
        ("2026-01-06 23:30", "2026-01-07 00:30"),  # straddles the end
        # ends exactly at the start, starts exactly at the end: excluded
    ]


def test_empty_window_gives_nothing() -> None:
    moment = utc("2026-01-06 12:30")
    assert fixture("edges.ics", window=Interval(moment, moment)) == []


def test_recurring_instances_exactly_at_window_edges() -> None:
    # dst_us: Mondays 13:00-14:00 UTC in late March
    first_end = Interval(utc("2026-03-16 14:00"), utc("2026-03-23 13:00"))
    assert fixture("dst_us.ics", window=first_end) == []
    assert len(fixture("dst_us.ics", window=Interval(utc("2026-03-16 13:59"), utc("2026-03-23 13:01")))) == 2


# --- limits -----------------------------------------------------------------------------------------------


def test_minutely_rule_without_end_is_refused_quickly() -> None:
    started = time.monotonic()
    with pytest.raises(IcsError, match=r"^minutely\.ics has more than 5000 events between 2026-01-01 00:00 UTC"):
        fixture("minutely.ics", window=YEAR_2026)
    assert time.monotonic() - started < 2


def test_minutely_rule_begun_years_ago_is_refused_quickly() -> None:
    started = time.monotonic()
    with pytest.raises(IcsError, match=r"event 'runaway-old' repeats too often"):
        fixture("minutely_since_2020.ics", window=JAN_WEEK)
    assert time.monotonic() - started < 5


def test_cap_is_max_instances_exactly() -> None:
    window = Interval(utc("2026-01-05 00:00"), utc("2026-01-05 01:00"))  # 60 one-minute instances
    assert len(fixture("minutely.ics", window=window, max_instances=60)) == 60
    with pytest.raises(IcsError, match="more than 59 events"):
        fixture("minutely.ics", window=window, max_instances=59)


def test_cap_counts_single_events_too() -> None:
    body = "".join(
        f"BEGIN:VEVENT\r\nUID:e{i}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260106T{i:02d}0000Z\r\n"
        f"DTEND:20260106T{i:02d}3000Z\r\nEND:VEVENT\r\n"
        for i in range(10)
    )
    text = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\n{body}END:VCALENDAR\r\n"
    assert len(parse_ics(text, window=JAN_WEEK, max_instances=10)) == 10
    with pytest.raises(IcsError, match="more than 9 events"):
        parse_ics(text, window=JAN_WEEK, max_instances=9)


def test_expansion_budget_is_shared_by_the_whole_calendar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ics, "EXPANSION_BUDGET", 20)
    window = Interval(utc("2026-03-01 00:00"), utc("2026-12-31 00:00"))
    with pytest.raises(IcsError, match="dst-us' repeats too often"):
        fixture("dst_us.ics", window=window)


# --- malformed input --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the calendar is empty"),
        ("  \r\n\n ", "the calendar is empty"),
        ("Hello, this is not a calendar.\n", r"the calendar is not an iCalendar file \(no BEGIN:VCALENDAR\)"),
        ("<html><body>Sign in</body></html>", r"not an iCalendar file \(no BEGIN:VCALENDAR\)"),
        (bytes(range(256)) * 64, r"not an iCalendar file \(binary data\)"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, r"binary data"),
        ("/etc/passwd", r"no BEGIN:VCALENDAR"),  # icalendar would open a path given as str
        (
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20260106T09",
            r"the calendar is incomplete \(no END:VCALENDAR",
        ),
        ("BEGIN:VCALENDAR\r\nthis line has no colon\r\nEND:VCALENDAR\r\n", "not a valid iCalendar file"),
        ("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VCALENDAR\r\n", r"not a valid iCalendar file \(no complete"),
    ],
)
def test_not_a_calendar(data: bytes | str, message: str) -> None:
    with pytest.raises(IcsError, match=message) as info:
        parse_ics(data, window=JAN_WEEK)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("no_dtstart.ics", "no_dtstart.ics: event 'no-start' has no start (DTSTART)"),
        ("bad_date.ics", "bad_date.ics: event 'bad-date' has an unreadable DTSTART value"),
        ("end_before_start.ics", "end_before_start.ics: event 'backwards' has an end before its start"),
        ("bad_rrule.ics", "bad_rrule.ics: event 'bad-rule' has an unreadable RRULE value"),
    ],
)
def test_broken_events_are_named_by_uid_never_by_title(name: str, message: str) -> None:
    with pytest.raises(IcsError) as info:
        fixture(name)
    assert str(info.value) == message
    assert SECRET not in str(info.value)


def test_empty_calendar_has_no_busy_time() -> None:
    assert parse_ics("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", window=JAN_WEEK) == []


def test_utf8_bom_and_utf16_are_accepted() -> None:
    text = (FIXTURES / "utc.ics").read_text()
    for data in (b"\xef\xbb\xbf" + text.encode(), text.encode("utf-16")):
        assert spans(parse_ics(data, window=JAN_WEEK)) == [("2026-01-06 15:00", "2026-01-06 16:30")]


def test_bad_default_zone_is_an_ics_error() -> None:
    with pytest.raises(IcsError, match="unknown time zone 'Mars/Base'"):
        fixture("utc.ics", tz="Mars/Base")


def test_library_errors_are_wrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    import recurring_ical_events

    def boom(*args: object, **kwargs: object) -> None:
        raise KeyError("SUMMARY: " + SECRET)

    monkeypatch.setattr(recurring_ical_events, "of", boom)
    with pytest.raises(IcsError, match=r"^utc\.ics could not be read as iCalendar \(KeyError\)$") as info:
        fixture("utc.ics")
    assert SECRET not in str(info.value)


# --- files ------------------------------------------------------------------------------------------------


def test_huge_file_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "calendar.ics"
    with big.open("wb") as handle:
        handle.truncate(100 * 1024 * 1024)  # sparse: 100 MB of nothing
    started = time.monotonic()
    with pytest.raises(IcsError, match=r"^calendar\.ics is larger than 10 MB$"):
        load_ics_file(big, window=JAN_WEEK)
    assert time.monotonic() - started < 0.5


def test_size_cap_is_configurable(tmp_path: Path) -> None:
    path = tmp_path / "small.ics"
    path.write_bytes((FIXTURES / "utc.ics").read_bytes())
    size = path.stat().st_size
    assert len(load_ics_file(path, window=JAN_WEEK, max_bytes=size)) == 1
    with pytest.raises(IcsError, match=f"small.ics is larger than {size - 1} bytes"):
        load_ics_file(path, window=JAN_WEEK, max_bytes=size - 1)


def test_missing_file_directory_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(IcsError, match=r"^nope\.ics does not exist$"):
        load_ics_file(tmp_path / "nope.ics", window=JAN_WEEK)
    with pytest.raises(IcsError, match=r"is a directory"):
        load_ics_file(tmp_path, window=JAN_WEEK)
    empty = tmp_path / "empty.ics"
    empty.write_bytes(b"")
    with pytest.raises(IcsError, match=r"^empty\.ics is empty$"):
        load_ics_file(str(empty), window=JAN_WEEK)


def test_unreadable_file(tmp_path: Path) -> None:
    import os

    path = tmp_path / "locked.ics"
    path.write_bytes((FIXTURES / "utc.ics").read_bytes())
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root: permissions are not enforced")
        with pytest.raises(IcsError, match=r"^locked\.ics cannot be read \(permission denied\)$"):
            load_ics_file(path, window=JAN_WEEK)
    finally:
        path.chmod(0o600)


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "pipe.ics"
    os.mkfifo(fifo)
    with pytest.raises(IcsError, match="not a regular file"):
        load_ics_file(fifo, window=JAN_WEEK)


# --- demo calendar ----------------------------------------------------------------------------------------


def test_demo_calendar_has_busy_time_every_week_2026_to_2028() -> None:
    monday = datetime(2026, 1, 5, tzinfo=UTC)
    weeks = 0
    while monday.year <= 2028:
        window = Interval(monday, monday + timedelta(days=7))
        events = load_ics_file(DEMO, window=window, default_tz="Europe/Berlin")
        busy = [e for e in events if e.transparency == "opaque" and e.status == "confirmed" and not e.all_day]
        assert len(busy) >= 10, monday
        assert {e.interval.start.weekday() for e in busy} == {0, 1, 2, 3, 4}, monday
        weeks += 1
        monday += timedelta(days=7)
    assert weeks == 156


def test_demo_calendar_features() -> None:
    events = load_ics_file(DEMO, window=Interval(utc("2026-01-05 00:00"), utc("2026-02-16 00:00")))
    assert any(e.transparency == "transparent" for e in events)
    assert any(e.status == "tentative" for e in events)
    assert any(e.all_day for e in events)  # the offsite
    starts = {e.interval.start for e in events}
    assert utc("2026-01-06 08:00") not in starts  # EXDATE on the stand-up
    assert utc("2026-01-14 10:00") in starts and utc("2026-01-14 08:00") not in starts  # moved stand-up
    assert utc("2026-01-21 08:00") not in starts  # cancelled stand-up
    assert utc("2026-01-13 15:00") in starts  # 10:00 New York


# --- floating recurrences and zone hints ------------------------------------------------------------------


def _calendar(*lines: str) -> str:
    return "\r\n".join(("BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:t", *lines, "END:VCALENDAR", ""))


def test_floating_rrule_with_floating_until_and_exdate_in_default_zone() -> None:
    text = _calendar(
        "BEGIN:VEVENT", "UID:fl", "DTSTAMP:20260101T000000Z",
        "DTSTART:20260105T090000", "DTEND:20260105T093000",
        "RRULE:FREQ=DAILY;UNTIL=20260108T090000", "EXDATE:20260106T090000",
        "END:VEVENT",
    )  # fmt: skip
    assert spans(parse_ics(text, window=JAN_WEEK, default_tz="America/New_York")) == [
        ("2026-01-05 14:00", "2026-01-05 14:30"),
        ("2026-01-07 14:00", "2026-01-07 14:30"),
        ("2026-01-08 14:00", "2026-01-08 14:30"),  # UNTIL is inclusive, in local time
    ]


def test_all_day_window_edges_are_exact_in_the_default_zone() -> None:
    window = Interval(utc("2026-01-07 05:00"), utc("2026-01-08 05:00"))  # 7 January in New York
    assert spans(fixture("all_day.ics", window=window, tz="America/New_York")) == [
        ("2026-01-07 05:00", "2026-01-08 05:00")
    ]
    assert fixture("all_day.ics", window=Interval(utc("2026-01-07 00:00"), utc("2026-01-07 05:00")),
                   tz="America/New_York") == []  # fmt: skip


def test_x_wr_timezone_does_not_clobber_zones_without_tzname() -> None:
    text = (FIXTURES / "dst_eu.ics").read_text().replace("BEGIN:VTIMEZONE", "X-WR-TIMEZONE:UTC\nBEGIN:VTIMEZONE", 1)
    window = Interval(utc("2026-03-16 00:00"), utc("2026-03-23 00:00"))
    assert spans(parse_ics(text, window=window, default_tz="Asia/Tokyo")) == [("2026-03-19 08:00", "2026-03-19 09:00")]


def test_permission_denied_on_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "locked.ics"
    path.write_bytes((FIXTURES / "utc.ics").read_bytes())

    def denied(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", denied)
    with pytest.raises(IcsError, match=r"^locked\.ics cannot be read \(permission denied\)$"):
        load_ics_file(path, window=JAN_WEEK)


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.ics") if "minutely" not in p.name))
def test_truncated_and_corrupted_fixtures_raise_only_ics_error(name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    variants = [data[:cut] + b"\r\nEND:VCALENDAR\r\n" for cut in range(15, len(data), 7)]
    variants += [data[:cut] + b"\xff\xfe" + data[cut + 2 :] for cut in range(15, len(data), 23)]
    variants += [data.replace(b":2026", b":2O26", 1), data.replace(b"TZID=", b"TZID=Nowhere/", 1)]
    for variant in variants:
        try:
            result = parse_ics(variant, window=YEAR_2026, default_tz="Europe/Berlin")
        except IcsError as exc:
            assert "\n" not in str(exc) and SECRET not in str(exc)
        else:
            assert all(isinstance(e, BusyEvent) for e in result)
