"""Time windows: every phrase family, with a frozen `now`, across weekday, month, year and DST boundaries."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.language import parse_request

NY = "America/New_York"
BER = "Europe/Berlin"
# Thursday 2026-03-05 10:00 in New York (before the US DST change on Sunday 2026-03-08)
THU = datetime.fromisoformat("2026-03-05T10:00:00-05:00")


def windows(text: str, now: datetime = THU, tz: str = NY) -> list[tuple[str, str]]:
    out = parse_request(text, now=now, tz=tz).to_json()
    return [(w["start"], w["end"]) for w in out["windows"]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # days
        ("tomorrow", [("2026-03-06T00:00:00-05:00", "2026-03-07T00:00:00-05:00")]),
        ("the day after tomorrow", [("2026-03-07T00:00:00-05:00", "2026-03-08T00:00:00-05:00")]),
        ("today", [("2026-03-05T00:00:00-05:00", "2026-03-06T00:00:00-05:00")]),
        ("on March 16", [("2026-03-16T00:00:00-04:00", "2026-03-17T00:00:00-04:00")]),
        ("the 16th", [("2026-03-16T00:00:00-04:00", "2026-03-17T00:00:00-04:00")]),
        ("first Monday of April", [("2026-04-06T00:00:00-04:00", "2026-04-07T00:00:00-04:00")]),
        ("last Friday of March", [("2026-03-27T00:00:00-04:00", "2026-03-28T00:00:00-04:00")]),
        ("3/20", [("2026-03-20T00:00:00-04:00", "2026-03-21T00:00:00-04:00")]),
        ("2026-04-01", [("2026-04-01T00:00:00-04:00", "2026-04-02T00:00:00-04:00")]),
        # weekdays: "next Tuesday" said on a Thursday is the coming Tuesday
        ("next Tuesday", [("2026-03-10T00:00:00-04:00", "2026-03-11T00:00:00-04:00")]),
        ("Tuesday", [("2026-03-10T00:00:00-04:00", "2026-03-11T00:00:00-04:00")]),
        ("friday next week", [("2026-03-13T00:00:00-04:00", "2026-03-14T00:00:00-04:00")]),
        ("this Friday", [("2026-03-06T00:00:00-05:00", "2026-03-07T00:00:00-05:00")]),
        # weeks and ranges of days
        ("this week", [("2026-03-02T00:00:00-05:00", "2026-03-09T00:00:00-04:00")]),
        ("next week", [("2026-03-09T00:00:00-04:00", "2026-03-16T00:00:00-04:00")]),
        ("March 16-20", [("2026-03-16T00:00:00-04:00", "2026-03-21T00:00:00-04:00")]),
        ("this weekend", [("2026-03-07T00:00:00-05:00", "2026-03-09T00:00:00-04:00")]),
        # clock times: 12 h, 24 h, noon, words, business-hours reading of bare numbers
        ("tomorrow at 3pm", [("2026-03-06T15:00:00-05:00", "2026-03-06T15:30:00-05:00")]),
        ("tomorrow at 15:00", [("2026-03-06T15:00:00-05:00", "2026-03-06T15:30:00-05:00")]),
        ("tomorrow at 3", [("2026-03-06T15:00:00-05:00", "2026-03-06T15:30:00-05:00")]),
        ("tomorrow at noon", [("2026-03-06T12:00:00-05:00", "2026-03-06T12:30:00-05:00")]),
        ("tomorrow at quarter past two", [("2026-03-06T14:15:00-05:00", "2026-03-06T14:45:00-05:00")]),
        ("friday at half past 9am", [("2026-03-06T09:30:00-05:00", "2026-03-06T10:00:00-05:00")]),
        ("in 2 hours", [("2026-03-05T12:00:00-05:00", "2026-03-05T12:30:00-05:00")]),
        # time ranges
        ("friday between 1 and 3pm", [("2026-03-06T13:00:00-05:00", "2026-03-06T15:00:00-05:00")]),
        ("March 16 10:30-11:15", [("2026-03-16T10:30:00-04:00", "2026-03-16T11:15:00-04:00")]),
        ("tomorrow after 3pm", [("2026-03-06T15:00:00-05:00", "2026-03-07T00:00:00-05:00")]),
        ("Monday before noon", [("2026-03-09T00:00:00-04:00", "2026-03-09T12:00:00-04:00")]),
        # parts of day and lists
        ("tomorrow morning", [("2026-03-06T08:00:00-05:00", "2026-03-06T12:00:00-05:00")]),
        ("friday lunch", [("2026-03-06T11:00:00-05:00", "2026-03-06T13:00:00-05:00")]),
        ("tonight", [("2026-03-05T20:00:00-05:00", "2026-03-06T00:00:00-05:00")]),
        ("Tue or Wed afternoon", [("2026-03-10T12:00:00-04:00", "2026-03-10T17:00:00-04:00"),
                                  ("2026-03-11T12:00:00-04:00", "2026-03-11T17:00:00-04:00")]),
        # durations stretch a point in time
        ("45 minutes tomorrow at 10am", [("2026-03-06T10:00:00-05:00", "2026-03-06T10:45:00-05:00")]),
    ],
)
def test_phrase_families(text: str, expected: list[tuple[str, str]]) -> None:
    assert windows(text) == expected


def test_any_weekday_morning_next_week_is_one_window_per_day() -> None:
    got = windows("any weekday morning next week")
    assert [s[:10] for s, _ in got] == ["2026-03-09", "2026-03-10", "2026-03-11", "2026-03-12", "2026-03-13"]
    assert all(s[11:16] == "08:00" and e[11:16] == "12:00" for s, e in got)


def test_next_weekday_assumption_is_noted() -> None:
    out = parse_request("next Tuesday at 10am", now=THU, tz=NY)
    assert any("next Tuesday" in n for n in out.notes)


def test_bare_hour_assumption_is_noted() -> None:
    out = parse_request("tomorrow at 3", now=THU, tz=NY)
    assert any("15:00" in n for n in out.notes)


@pytest.mark.parametrize(
    ("text", "now", "tz", "expected"),
    [
        # US spring forward (Sun 2026-03-08): 09:00 is EDT, the whole day is 23 hours long
        ("sunday at 9am", "2026-03-07T12:00:00-05:00", NY,
         [("2026-03-08T09:00:00-04:00", "2026-03-08T09:30:00-04:00")]),
        ("tomorrow", "2026-03-07T12:00:00-05:00", NY, [("2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00")]),
        # a wall time that does not exist moves forward by the gap
        ("tomorrow at 2:30am", "2026-03-07T12:00:00-05:00", NY,
         [("2026-03-08T03:30:00-04:00", "2026-03-08T04:00:00-04:00")]),
        # US fall back (Sun 2026-11-01): 30 minutes of elapsed time from the first 01:30
        ("tomorrow at 1:30am", "2026-10-31T12:00:00-04:00", NY,
         [("2026-11-01T01:30:00-04:00", "2026-11-01T01:00:00-05:00")]),
        # EU spring forward (Sun 2026-03-29)
        ("Sunday morning", "2026-03-26T12:00:00+01:00", BER,
         [("2026-03-29T08:00:00+02:00", "2026-03-29T12:00:00+02:00")]),
        ("in 2 hours", "2026-03-29T01:30:00+01:00", BER, [("2026-03-29T04:30:00+02:00", "2026-03-29T05:00:00+02:00")]),
        # EU fall back (Sun 2026-10-25)
        ("sunday at 10am", "2026-10-23T12:00:00+02:00", BER,
         [("2026-10-25T10:00:00+01:00", "2026-10-25T10:30:00+01:00")]),
        # year and month boundaries
        ("tomorrow", "2026-12-31T12:00:00+00:00", "UTC", [("2027-01-01T00:00:00+00:00", "2027-01-02T00:00:00+00:00")]),
        ("next week", "2026-12-30T12:00:00+00:00", "UTC", [("2027-01-04T00:00:00+00:00", "2027-01-11T00:00:00+00:00")]),
        ("the 16th", "2026-01-20T12:00:00+00:00", "UTC", [("2026-02-16T00:00:00+00:00", "2026-02-17T00:00:00+00:00")]),
        ("Jan 5", "2026-12-20T12:00:00+00:00", "UTC", [("2027-01-05T00:00:00+00:00", "2027-01-06T00:00:00+00:00")]),
        # "now" given in another offset is converted to the person's zone first (10:00 UTC = 19:00 Tokyo)
        ("in 30 minutes", "2026-03-05T10:00:00+00:00", "Asia/Tokyo",
         [("2026-03-05T19:30:00+09:00", "2026-03-05T20:00:00+09:00")]),
        # a zone with a 30-minute offset
        ("tomorrow at 9", "2026-03-05T10:00:00+05:30", "Asia/Kolkata",
         [("2026-03-06T09:00:00+05:30", "2026-03-06T09:30:00+05:30")]),
    ],
)
def test_boundaries_and_dst(text: str, now: str, tz: str, expected: list[tuple[str, str]]) -> None:
    assert windows(text, datetime.fromisoformat(now), tz) == expected


@pytest.mark.parametrize(
    ("text", "zone", "start"),
    [
        ("friday at 3pm Berlin time", "Europe/Berlin", "2026-03-06T15:00:00+01:00"),
        ("friday at 9am PST", "America/Los_Angeles", "2026-03-06T09:00:00-08:00"),
        ("friday 4pm CET", "Europe/Berlin", "2026-03-06T16:00:00+01:00"),
        ("friday at 4pm London time", "Europe/London", "2026-03-06T16:00:00+00:00"),
        ("friday at 10 my time", NY, "2026-03-06T10:00:00-05:00"),
    ],
)
def test_named_zones(text: str, zone: str, start: str) -> None:
    out = parse_request(text, now=THU, tz=NY).to_json()
    assert out["timezone"] == zone
    assert out["windows"][0]["start"] == start


def test_unknown_zone_falls_back_to_utc_with_a_note() -> None:
    out = parse_request("tomorrow", now=THU, tz="Not/AZone")
    assert out.timezone == "UTC"
    assert any("unknown time zone" in n for n in out.notes)


# Thursday 2026-11-19 15:00 UTC, the person in London
NOV = datetime.fromisoformat("2026-11-19T15:00:00+00:00")


@pytest.mark.parametrize(
    ("text", "zone", "words", "window"),
    [
        # the place is the city name(s) right before "time": a clock time said before it is kept
        ("at quarter past two Berlin time on Friday", BER, "Berlin time",
         ("2026-11-20T14:15:00+01:00", "2026-11-20T14:45:00+01:00")),
        ("on Friday at quarter past two Berlin time", BER, "Berlin time",
         ("2026-11-20T14:15:00+01:00", "2026-11-20T14:45:00+01:00")),
        ("quarter past two Berlin time, Friday", BER, "Berlin time",
         ("2026-11-20T14:15:00+01:00", "2026-11-20T14:45:00+01:00")),
        ("find a time the first Monday of April at quarter past two Berlin time", BER, "Berlin time",
         ("2027-04-05T14:15:00+02:00", "2027-04-05T14:45:00+02:00")),
        ("Friday at 9:30am New York time", NY, "New York time",
         ("2026-11-20T09:30:00-05:00", "2026-11-20T10:00:00-05:00")),
        ("half past ten New York time on Friday", NY, "New York time",
         ("2026-11-20T10:30:00-05:00", "2026-11-20T11:00:00-05:00")),
        ("Friday, New York time, at 4pm", NY, "New York time",
         ("2026-11-20T16:00:00-05:00", "2026-11-20T16:30:00-05:00")),
        ("at 8am Los Angeles time tomorrow", "America/Los_Angeles", "Los Angeles time",
         ("2026-11-20T08:00:00-08:00", "2026-11-20T08:30:00-08:00")),
        ("tomorrow 11:45 Los Angeles time", "America/Los_Angeles", "Los Angeles time",
         ("2026-11-20T11:45:00-08:00", "2026-11-20T12:15:00-08:00")),
        ("9am Hong Kong time on Friday", "Asia/Hong_Kong", "Hong Kong time",
         ("2026-11-20T09:00:00+08:00", "2026-11-20T09:30:00+08:00")),
        ("on Friday at quarter to six Hong Kong time", "Asia/Hong_Kong", "Hong Kong time",
         ("2026-11-20T17:45:00+08:00", "2026-11-20T18:15:00+08:00")),
        ("Saturday at 3pm in Tokyo time", "Asia/Tokyo", "Tokyo time",
         ("2026-11-21T15:00:00+09:00", "2026-11-21T15:30:00+09:00")),
        ("at noon London time on Friday", "Europe/London", "London time",
         ("2026-11-20T12:00:00+00:00", "2026-11-20T12:30:00+00:00")),
        ("Friday 10am Pacific standard time", "America/Los_Angeles", "Pacific standard time",
         ("2026-11-20T10:00:00-08:00", "2026-11-20T10:30:00-08:00")),
        ("viernes a las 10 hora de Nueva York", NY, "hora de Nueva York",
         ("2026-11-20T10:00:00-05:00", "2026-11-20T10:30:00-05:00")),
        ("vendredi à 15h heure de Paris", "Europe/Paris", "heure de Paris",
         ("2026-11-20T15:00:00+01:00", "2026-11-20T15:30:00+01:00")),
    ],
)
def test_clock_then_city_time(text: str, zone: str, words: str, window: tuple[str, str]) -> None:
    out = parse_request(text, now=NOV, tz="Europe/London").to_json()
    assert out["timezone"] == zone
    assert [(w["start"], w["end"]) for w in out["windows"]] == [window]
    assert f"times read in {zone} ({words})" in out["notes"]


@pytest.mark.parametrize(
    "text", ["find a time on Friday", "around christmas time", "same time on Friday", "Friday, my time",
             "free time on Friday", "what time works Friday"])
def test_time_after_ordinary_words_is_not_a_zone(text: str) -> None:
    out = parse_request(text, now=NOV, tz="Europe/London").to_json()
    assert out["timezone"] == "Europe/London"
    assert not any(n.startswith("times read in") for n in out["notes"])
    assert out["windows"]
