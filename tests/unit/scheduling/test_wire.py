"""The JSON shape of a slot request: defaults, conversions, and one-line validation messages."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.scheduling import find_slots
from bot.scheduling.intervals import Interval
from bot.scheduling.model import BusyEvent, ClockRange, Policy
from bot.scheduling.wire import busy_from_json, ics_paths, parse_instant, request_from_json, result_to_json

BASE: dict[str, Any] = {
    "now": "2026-03-01T00:00:00Z",
    "duration_minutes": 30,
    "step_minutes": 15,
    "window": {"start": "2026-03-02T00:00:00Z", "end": "2026-03-03T00:00:00Z"},
    "participants": [{"id": "dana", "timezone": "America/New_York", "hours": {"mon": [["09:00", "17:00"]]}}],
}


def with_(path: str, value: Any) -> dict[str, Any]:
    """A copy of BASE with one value set; ``path`` like 'window.end' or 'participants.0.hours'."""
    data = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node: Any = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


def without(path: str) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node: Any = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    del node[last]
    return data


def test_full_request_is_converted() -> None:
    data = {
        "now": "2026-03-01T08:00:00+01:00",
        "duration_minutes": 45,
        "step_minutes": 30,
        "window": {"start": "2026-03-02T00:00:00Z", "end": "2026-03-09T00:00:00Z"},
        "min_notice_minutes": 120,
        "horizon_days": 14,
        "required": 1,
        "max_results": 4,
        "ranking": "earliest",
        "explain_limit": 7,
        "policy": {"weekdays": ["mon", "Tuesday", "WED"], "earliest": "08:00", "latest": "24:00"},
        "participants": [
            {
                "id": "dana",
                "timezone": "America/New_York",
                "hours": {"mon": [["09:00", "12:00"], ["13:00", "17:00"]]},
                "overrides": {"2026-03-10": [["13:00", "15:00"]], "2026-03-11": []},
                "buffer_before_minutes": 15,
                "buffer_after_minutes": 10,
                "busy": [
                    {"start": "2026-03-02T14:00:00Z", "end": "2026-03-02T15:00:00Z"},
                    {
                        "start": "2026-03-03T00:00:00Z",
                        "end": "2026-03-04T00:00:00Z",
                        "transparency": "transparent",
                        "all_day": True,
                        "status": "tentative",
                        "kind": "booking",
                    },
                ],
                "all_day_blocks": False,
                "tentative_blocks": False,
                "max_per_day": 2,
                "max_per_week": 5,
            },
            {"id": "lee"},
        ],
    }
    request = request_from_json(data)
    assert request.now == datetime(2026, 3, 1, 7, tzinfo=UTC)
    assert request.duration == timedelta(minutes=45)
    assert request.step == timedelta(minutes=30)
    assert request.window == Interval(datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 9, tzinfo=UTC))
    assert request.min_notice == timedelta(hours=2)
    assert request.horizon == timedelta(days=14)
    assert request.required == 1
    assert request.needed == 1
    assert request.max_results == 4
    assert request.ranking == "earliest"
    assert request.explain_limit == 7
    assert request.policy == Policy(weekdays=frozenset({0, 1, 2}), earliest=480, latest=1440)
    dana, lee = request.participants
    assert dana.id == "dana"
    assert dana.timezone == "America/New_York"
    assert dana.hours.days[0] == (ClockRange(540, 720), ClockRange(780, 1020))
    assert dana.hours.days[1] == ()
    assert dana.hours.overrides == {date(2026, 3, 10): (ClockRange(780, 900),), date(2026, 3, 11): ()}
    assert dana.buffer_before == timedelta(minutes=15)
    assert dana.buffer_after == timedelta(minutes=10)
    assert dana.busy == (
        BusyEvent(Interval(datetime(2026, 3, 2, 14, tzinfo=UTC), datetime(2026, 3, 2, 15, tzinfo=UTC))),
        BusyEvent(
            Interval(datetime(2026, 3, 3, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC)),
            transparency="transparent",
            all_day=True,
            status="tentative",
            kind="booking",
        ),
    )
    assert (dana.all_day_blocks, dana.tentative_blocks, dana.max_per_day, dana.max_per_week) == (False, False, 2, 5)
    # defaults: UTC, every hour of every day, no buffers, no limits
    assert lee.timezone == "UTC"
    assert lee.hours.days == ((ClockRange(0, 1440),),) * 7
    assert lee.busy == ()
    assert (lee.buffer_before, lee.buffer_after) == (timedelta(0), timedelta(0))
    assert (lee.all_day_blocks, lee.tentative_blocks, lee.max_per_day, lee.max_per_week) == (True, True, None, None)


def test_defaults() -> None:
    request = request_from_json(
        {
            "now": "2026-03-01T00:00:00Z",
            "window": {"start": "2026-03-02T00:00:00Z", "end": "2026-03-03T00:00:00Z"},
            "participants": [{"id": "dana"}],
        }
    )
    assert request.duration == timedelta(minutes=30)
    assert request.step == timedelta(minutes=15)
    assert request.min_notice == timedelta(0)
    assert request.horizon == timedelta(days=60)
    assert request.required is None
    assert request.max_results == 10
    assert request.policy == Policy()
    assert request.ranking is None
    assert request.explain_limit == 40


def test_overrides_without_weekly_hours() -> None:
    request = request_from_json(with_("participants.0", {"id": "dana", "overrides": {"2026-03-02": []}}))
    hours = request.participants[0].hours
    assert hours.ranges_on(date(2026, 3, 2)) == ()
    assert hours.ranges_on(date(2026, 3, 3)) == (ClockRange(0, 1440),)


def test_required_all_and_number() -> None:
    two = with_("participants", [{"id": "a"}, {"id": "b"}])
    assert request_from_json({**two, "required": "all"}).needed == 2
    assert request_from_json({**two, "required": 1}).needed == 1


def test_extra_busy_is_added_per_participant() -> None:
    extra = BusyEvent(Interval(datetime(2026, 3, 2, 15, tzinfo=UTC), datetime(2026, 3, 2, 16, tzinfo=UTC)))
    request = request_from_json(BASE, extra_busy={"dana": [extra], "nobody": [extra]})
    assert request.participants[0].busy == (extra,)


def test_result_to_json_uses_the_given_zone_and_aware_iso() -> None:
    request = request_from_json({**BASE, "max_results": 2, "ranking": "earliest"})
    answer = result_to_json(find_slots(request), timezone="America/New_York")
    assert answer == {
        "slots": [
            {"start": "2026-03-02T09:00:00-05:00", "end": "2026-03-02T09:30:00-05:00", "participants": ["dana"]},
            {"start": "2026-03-02T09:15:00-05:00", "end": "2026-03-02T09:45:00-05:00", "participants": ["dana"]},
        ],
        "explain": ["Sun 1 Mar outside working hours", "Mon 2 Mar outside working hours (hours: 09:00-17:00)"],
    }
    in_utc = result_to_json(find_slots(request))
    assert in_utc["slots"][0]["start"] == "2026-03-02T14:00:00+00:00"


def test_parse_instant() -> None:
    assert parse_instant("2026-03-02T09:00:00Z", "x") == datetime(2026, 3, 2, 9, tzinfo=UTC)
    assert parse_instant(" 2026-03-02T10:00+01:00 ", "x") == datetime(2026, 3, 2, 9, tzinfo=UTC)


def test_busy_from_json_rejects_a_non_list() -> None:
    with pytest.raises(ValueError, match=r"^busy: expected a list of \{start, end\} objects$"):
        busy_from_json({"start": "x"}, "busy")


def test_ics_paths() -> None:
    data = with_("participants", [{"id": "a", "ics": ["one.ics", "two.ics"]}, {"id": "b"}, "junk"])
    assert ics_paths(data) == {"a": ["one.ics", "two.ics"]}
    assert ics_paths([]) == {}
    assert ics_paths({"participants": "nope"}) == {}
    with pytest.raises(ValueError, match=r"^participants\[0\]\.ics: expected a list of file paths$"):
        ics_paths(with_("participants", [{"id": "a", "ics": "one.ics"}]))
    with pytest.raises(ValueError, match=r"^participants\[1\]\.ics: expected a list of file paths$"):
        ics_paths(with_("participants", [{"id": "a"}, {"id": "b", "ics": [""]}]))


P = "participant 'dana': "

INVALID = [
    ([], "request: expected a JSON object"),
    ("text", "request: expected a JSON object"),
    (None, "request: expected a JSON object"),
    ({**BASE, "colour": "blue"}, "request: unknown field 'colour'"),
    (without("now"), "now: expected an ISO 8601 date-time string with a UTC offset"),
    (with_("now", 1700000000), "now: expected an ISO 8601 date-time string with a UTC offset"),
    (with_("now", "soon"), "now: 'soon' is not an ISO 8601 date-time"),
    (with_("now", "2026-03-01T00:00:00"), "now: '2026-03-01T00:00:00' has no UTC offset (add e.g. 'Z' or '+01:00')"),
    (with_("now", "2026-03-01"), "now: '2026-03-01' has no UTC offset (add e.g. 'Z' or '+01:00')"),
    (
        with_("now", "9999-12-31T23:00:00Z"),
        "now: '9999-12-31T23:00:00Z' is out of range (use a year from 1900 to 9000)",
    ),
    (without("window"), "window: expected a JSON object"),
    (with_("window", ["a", "b"]), "window: expected a JSON object"),
    (with_("window.end", "2026-03-01T00:00:00Z"), "window: the end must come after the start"),
    (with_("window.end", "2026-03-02T00:00:00Z"), "window: the end must come after the start"),
    (with_("window.end", "2027-03-05T00:00:00Z"), "window: at most 366 days can be searched at once"),
    (
        with_("window.start", "2026-03-02T00:00"),
        "window.start: '2026-03-02T00:00' has no UTC offset (add e.g. 'Z' or '+01:00')",
    ),
    (with_("window.end", None), "window.end: expected an ISO 8601 date-time string with a UTC offset"),
    (with_("window.tz", "UTC"), "window: unknown field 'tz'"),
    (
        with_("window.start", "0001-01-01T00:00:00Z"),
        "window.start: '0001-01-01T00:00:00Z' is out of range (use a year from 1900 to 9000)",
    ),
    (without("participants"), "participants: expected a non-empty list"),
    (with_("participants", []), "participants: expected a non-empty list"),
    (with_("participants", {"id": "dana"}), "participants: expected a non-empty list"),
    (with_("participants", [{"id": str(i)} for i in range(501)]), "participants: at most 500 people in one search"),
    (with_("participants", ["dana"]), "participants[0]: expected a JSON object"),
    (with_("participants.0.name", "Dana"), "participants[0]: unknown field 'name'"),
    (without("participants.0.id"), "participants[0].id: expected a non-empty string"),
    (with_("participants.0.id", " "), "participants[0].id: expected a non-empty string"),
    (with_("participants.0.id", 7), "participants[0].id: expected a non-empty string"),
    (with_("participants", [{"id": "a"}, {"id": "a"}]), "participant ids must be unique"),
    (
        with_("participants.0.timezone", "Mars/Base"),
        P + "unknown time zone 'Mars/Base' (use an IANA name such as 'Europe/Berlin')",
    ),
    (with_("participants.0.timezone", "../../etc/passwd"), P + "unknown time zone '../../etc/passwd'"),
    (with_("participants.0.timezone", "/etc/localtime"), P + "unknown time zone '/etc/localtime'"),
    (with_("participants.0.timezone", ""), P + "unknown time zone ''"),
    (with_("participants.0.timezone", 5), P + "unknown time zone 5"),
    (
        with_("participants.0.hours", {"mon": [["09:00", "25:00"]]}),
        P + "hours for mon: bad time '25:00': there is no such time of day",
    ),
    (
        with_("participants.0.hours", {"mon": [["25:00", "26:00"]]}),
        P + "hours for mon: bad time '25:00': there is no such time of day",
    ),
    (
        with_("participants.0.hours", {"mon": [["24:00", "24:00"]]}),
        P + "hours for mon: bad time '24:00': there is no such time of day",
    ),
    (
        with_("participants.0.hours", {"mon": [["09:60", "10:00"]]}),
        P + "hours for mon: bad time '09:60': there is no such time of day",
    ),
    (
        with_("participants.0.hours", {"mon": [["9am", "5pm"]]}),
        P + "hours for mon: bad time '9am': expected HH:MM, e.g. '09:30'",
    ),
    (
        with_("participants.0.hours", {"mon": [["17:00", "09:00"]]}),
        P + "hours for mon: bad time range 17:00-09:00: the end must come after the start, within one day",
    ),
    (
        with_("participants.0.hours", {"mon": [["09:00", "09:00"]]}),
        P + "hours for mon: bad time range 09:00-09:00: the end must come after the start, within one day",
    ),
    (
        with_("participants.0.hours", {"mon": [["09:00"]]}),
        P + "hours for mon: expected [start, end] pairs such as ['09:00', '17:00']",
    ),
    (with_("participants.0.hours", {"mon": "09:00-17:00"}), P + "hours for mon: expected a list of [start, end] pairs"),
    (
        with_("participants.0.hours", {"funday": []}),
        P + "unknown weekday 'funday': use mon, tue, wed, thu, fri, sat or sun",
    ),
    (with_("participants.0.hours", [["09:00", "17:00"]]), P + "hours: expected a JSON object"),
    (with_("participants.0.overrides", {"2026-13-01": []}), P + "bad override date '2026-13-01': expected YYYY-MM-DD"),
    (with_("participants.0.overrides", {"tomorrow": []}), P + "bad override date 'tomorrow': expected YYYY-MM-DD"),
    (
        with_("participants.0.overrides", {"2026-03-02": [["10:00", "25:00"]]}),
        P + "override for 2026-03-02: bad time '25:00': there is no such time of day",
    ),
    (with_("participants.0.overrides", ["2026-03-02"]), P + "overrides: expected a JSON object"),
    (with_("participants.0.busy", "all day"), P + "busy: expected a list of {start, end} objects"),
    (with_("participants.0.busy", ["x"]), P + "busy[0]: expected a JSON object"),
    (
        with_("participants.0.busy", [{"start": "2026-03-02T09:00:00", "end": "2026-03-02T10:00:00Z"}]),
        P + "busy[0].start: '2026-03-02T09:00:00' has no UTC offset (add e.g. 'Z' or '+01:00')",
    ),
    (
        with_("participants.0.busy", [{"start": "2026-03-02T09:00:00Z"}]),
        P + "busy[0].end: expected an ISO 8601 date-time string with a UTC offset",
    ),
    (
        with_("participants.0.busy", [{"start": "2026-03-02T10:00:00Z", "end": "2026-03-02T09:00:00Z"}]),
        P + "busy[0]: ends before it starts",
    ),
    (
        with_(
            "participants.0.busy",
            [{"start": "2026-03-02T09:00:00Z", "end": "2026-03-02T10:00:00Z", "title": "Dentist"}],
        ),
        P + "busy[0]: unknown field 'title'",
    ),
    (
        with_(
            "participants.0.busy",
            [{"start": "2026-03-02T09:00:00Z", "end": "2026-03-02T10:00:00Z", "transparency": "busy"}],
        ),
        P + "busy[0]: bad transparency 'busy': use 'opaque' or 'transparent'",
    ),
    (
        with_(
            "participants.0.busy", [{"start": "2026-03-02T09:00:00Z", "end": "2026-03-02T10:00:00Z", "status": "maybe"}]
        ),
        P + "busy[0]: bad status 'maybe': use 'confirmed', 'tentative' or 'cancelled'",
    ),
    (
        with_(
            "participants.0.busy", [{"start": "2026-03-02T09:00:00Z", "end": "2026-03-02T10:00:00Z", "kind": "hold"}]
        ),
        P + "busy[0]: bad kind 'hold': use 'event' or 'booking'",
    ),
    (
        with_(
            "participants.0.busy", [{"start": "2026-03-02T09:00:00Z", "end": "2026-03-02T10:00:00Z", "all_day": "yes"}]
        ),
        P + "busy[0].all_day: expected true or false",
    ),
    (
        with_("participants.0.busy", [{"start": "9999-12-31T20:00:00-05:00", "end": "9999-12-31T23:00:00-05:00"}]),
        P + "busy[0].start: '9999-12-31T20:00:00-05:00' is out of range (use a year from 1900 to 9000)",
    ),
    (with_("participants.0.buffer_before_minutes", -5), P + "buffer_before_minutes: must be between 0 and 1440"),
    (with_("participants.0.buffer_after_minutes", 1441), P + "buffer_after_minutes: must be between 0 and 1440"),
    (with_("participants.0.buffer_after_minutes", "15"), P + "buffer_after_minutes: expected a whole number"),
    (with_("participants.0.buffer_after_minutes", 7.5), P + "buffer_after_minutes: expected a whole number"),
    (with_("participants.0.buffer_after_minutes", True), P + "buffer_after_minutes: expected a whole number"),
    (with_("participants.0.all_day_blocks", "no"), P + "all_day_blocks: expected true or false"),
    (with_("participants.0.tentative_blocks", 0), P + "tentative_blocks: expected true or false"),
    (with_("participants.0.max_per_day", -1), P + "max_per_day: must be between 0 and 1000"),
    (with_("participants.0.max_per_week", 2.5), P + "max_per_week: expected a whole number"),
    (with_("duration_minutes", 0), "duration_minutes: must be between 1 and 1440"),
    (with_("duration_minutes", 1441), "duration_minutes: must be between 1 and 1440"),
    (with_("duration_minutes", "30"), "duration_minutes: expected a whole number"),
    (with_("duration_minutes", 30.5), "duration_minutes: expected a whole number"),
    (with_("duration_minutes", float("inf")), "duration_minutes: expected a whole number"),
    (with_("duration_minutes", float("nan")), "duration_minutes: expected a whole number"),
    (with_("duration_minutes", None), "duration_minutes: expected a whole number"),
    (with_("step_minutes", 0), "step_minutes: must be between 1 and 1440"),
    (with_("min_notice_minutes", -1), "min_notice_minutes: must be between 0 and 525600"),
    (with_("horizon_days", 3661), "horizon_days: must be between 0 and 3660"),
    (with_("max_results", 0), "max_results: must be between 1 and 1000"),
    (with_("explain_limit", -1), "explain_limit: must be between 0 and 10000"),
    (with_("required", "most"), 'required: expected "all" or a number of participants'),
    (with_("required", True), 'required: expected "all" or a number of participants'),
    (with_("required", 1.0), 'required: expected "all" or a number of participants'),
    (with_("required", 2), "required must be 'all' or a number from 1 to 1"),
    (with_("required", 0), "required must be 'all' or a number from 1 to 1"),
    (with_("ranking", "random"), 'ranking: expected "earliest" or "spread"'),
    (with_("policy", ["mon"]), "policy: expected a JSON object"),
    (with_("policy", {"weekdays": "mon"}), "policy weekdays: expected a list such as ['mon', 'tue']"),
    (with_("policy", {"weekdays": ["someday"]}), "policy: unknown weekday 'someday'"),
    (with_("policy", {"earliest": "18:00", "latest": "08:00"}), "policy: the latest time must come after the earliest"),
    (with_("policy", {"earliest": "24:00"}), "bad time '24:00': there is no such time of day"),
    (with_("policy", {"latest": "25:00"}), "bad time '25:00': there is no such time of day"),
    (with_("policy", {"latests": "18:00"}), "policy: unknown field 'latests'"),
]


@pytest.mark.parametrize(("data", "message"), INVALID, ids=[m[:60] for _, m in INVALID])
def test_invalid_requests_give_one_line_messages(data: Any, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        request_from_json(data)
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)
