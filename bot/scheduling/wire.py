"""The JSON shape of a slot request and its answer (the fixed ``python -m bot slots`` contract).

Pure: it turns already-decoded JSON into core values and back; reading files is the caller's business.
Every problem is a ``ValueError`` whose message is one line a person can act on.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.scheduling.intervals import Interval
from bot.scheduling.model import (
    BusyEvent,
    Participant,
    Policy,
    Slot,
    SlotRequest,
    SlotResult,
    WeeklyHours,
    load_zone,
)

__all__ = ["busy_from_json", "ics_paths", "parse_instant", "request_from_json", "result_to_json", "window_from_json"]

_REQUEST_KEYS = {
    "now",
    "duration_minutes",
    "step_minutes",
    "window",
    "min_notice_minutes",
    "horizon_days",
    "required",
    "max_results",
    "policy",
    "participants",
    "ranking",
    "explain_limit",
}
_PARTICIPANT_KEYS = {
    "id",
    "timezone",
    "hours",
    "overrides",
    "buffer_before_minutes",
    "buffer_after_minutes",
    "busy",
    "ics",
    "all_day_blocks",
    "tentative_blocks",
    "max_per_day",
    "max_per_week",
}
_BUSY_KEYS = {"start", "end", "transparency", "all_day", "status", "kind"}
_WINDOW_KEYS = {"start", "end"}
_POLICY_KEYS = {"weekdays", "earliest", "latest"}
_FIRST_YEAR, _LAST_YEAR = 1900, 9000


def parse_instant(value: object, what: str) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"{what}: expected an ISO 8601 date-time string with a UTC offset")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{what}: {value!r} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what}: {value!r} has no UTC offset (add e.g. 'Z' or '+01:00')")
    if not _FIRST_YEAR <= moment.year <= _LAST_YEAR:  # far-off years overflow date arithmetic later on
        raise ValueError(f"{what}: {value!r} is out of range (use a year from {_FIRST_YEAR} to {_LAST_YEAR})")
    return moment


def _int(data: Mapping[str, Any], key: str, default: int, *, low: int, high: int, what: str = "") -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what}{key}: expected a whole number")
    # float.is_integer() is False for inf and nan too (int() of those would raise an OverflowError)
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{what}{key}: expected a whole number")
    if not low <= value <= high:
        raise ValueError(f"{what}{key}: must be between {low} and {high}")
    return int(value)


def _bool(data: Mapping[str, Any], key: str, default: bool, what: str) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"{what}{key}: expected true or false")
    return value


def _object(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{what}: expected a JSON object")
    return value


def _reject_unknown(data: Mapping[str, Any], allowed: set[str], what: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValueError(f"{what}unknown field {unknown[0]!r}")


def busy_from_json(items: object, what: str) -> list[BusyEvent]:
    if not isinstance(items, list):
        raise ValueError(f"{what}: expected a list of {{start, end}} objects")
    out: list[BusyEvent] = []
    for index, raw in enumerate(items):
        label = f"{what}[{index}]"
        item = _object(raw, label)
        _reject_unknown(item, _BUSY_KEYS, f"{label}: ")
        start = parse_instant(item.get("start"), f"{label}.start")
        end = parse_instant(item.get("end"), f"{label}.end")
        if end < start:
            raise ValueError(f"{label}: ends before it starts")
        all_day = _bool(item, "all_day", False, f"{label}.")  # outside the try: its message is already labelled
        try:
            out.append(
                BusyEvent(
                    Interval(start, end),
                    transparency=item.get("transparency", "opaque"),
                    all_day=all_day,
                    status=item.get("status", "confirmed"),
                    kind=item.get("kind", "event"),
                )
            )
        except ValueError as exc:
            raise ValueError(f"{label}: {exc}") from None
    return out


def _participant(raw: object, index: int, extra_busy: Mapping[str, list[BusyEvent]]) -> Participant:
    what = f"participants[{index}]"
    data = _object(raw, what)
    _reject_unknown(data, _PARTICIPANT_KEYS, f"{what}: ")
    pid = data.get("id")
    if not isinstance(pid, str) or not pid.strip():
        raise ValueError(f"{what}.id: expected a non-empty string")
    what = f"participant {pid!r}"
    zone_name = data.get("timezone", "UTC")
    try:
        load_zone(zone_name)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None
    hours_raw = data.get("hours")
    overrides_raw = data.get("overrides") or {}
    try:
        if hours_raw is None:
            hours = WeeklyHours.always(WeeklyHours.from_mapping({}, _object(overrides_raw, "overrides")).overrides)
        else:
            hours = WeeklyHours.from_mapping(_object(hours_raw, "hours"), _object(overrides_raw, "overrides"))
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None
    busy = busy_from_json(data.get("busy", []), f"{what}: busy")
    busy.extend(extra_busy.get(pid, []))
    # Read outside the try below: these messages already name the participant.
    buffer_before = timedelta(minutes=_int(data, "buffer_before_minutes", 0, low=0, high=1440, what=f"{what}: "))
    buffer_after = timedelta(minutes=_int(data, "buffer_after_minutes", 0, low=0, high=1440, what=f"{what}: "))
    all_day_blocks = _bool(data, "all_day_blocks", True, f"{what}: ")
    tentative_blocks = _bool(data, "tentative_blocks", True, f"{what}: ")
    max_per_day = _optional_int(data, "max_per_day", what)
    max_per_week = _optional_int(data, "max_per_week", what)
    try:
        return Participant(
            id=pid,
            timezone=zone_name,
            hours=hours,
            busy=tuple(busy),
            buffer_before=buffer_before,
            buffer_after=buffer_after,
            all_day_blocks=all_day_blocks,
            tentative_blocks=tentative_blocks,
            max_per_day=max_per_day,
            max_per_week=max_per_week,
        )
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None


def _optional_int(data: Mapping[str, Any], key: str, what: str) -> int | None:
    if data.get(key) is None:
        return None
    return _int(data, key, 0, low=0, high=1000, what=f"{what}: ")


def ics_paths(data: object) -> dict[str, list[str]]:
    """The ICS file paths each participant names, so the caller can read them before building the request."""
    out: dict[str, list[str]] = {}
    if not isinstance(data, dict) or not isinstance(data.get("participants"), list):
        return out
    for index, raw in enumerate(data["participants"]):
        if not isinstance(raw, dict) or "ics" not in raw:
            continue
        paths = raw["ics"]
        if not isinstance(paths, list) or not all(isinstance(x, str) and x for x in paths):
            raise ValueError(f"participants[{index}].ics: expected a list of file paths")
        out.setdefault(str(raw.get("id")), []).extend(paths)
    return out


def window_from_json(data: object) -> Interval:
    """The search window: both ends aware, the end after the start, at most 366 days."""
    window_raw = _object(data, "window")
    _reject_unknown(window_raw, _WINDOW_KEYS, "window: ")
    start = parse_instant(window_raw.get("start"), "window.start")
    end = parse_instant(window_raw.get("end"), "window.end")
    if end <= start:
        raise ValueError("window: the end must come after the start")
    if end - start > timedelta(days=366):
        raise ValueError("window: at most 366 days can be searched at once")
    return Interval(start, end)


def request_from_json(data: object, *, extra_busy: Mapping[str, list[BusyEvent]] | None = None) -> SlotRequest:
    """A ``SlotRequest`` from decoded JSON; ``extra_busy`` adds busy time per participant id (from ICS files)."""
    body = _object(data, "request")
    _reject_unknown(body, _REQUEST_KEYS, "request: ")
    now = parse_instant(body.get("now"), "now")
    window = window_from_json(body.get("window"))
    participants_raw = body.get("participants")
    if not isinstance(participants_raw, list) or not participants_raw:
        raise ValueError("participants: expected a non-empty list")
    if len(participants_raw) > 500:
        raise ValueError("participants: at most 500 people in one search")
    participants = tuple(_participant(p, i, extra_busy or {}) for i, p in enumerate(participants_raw))
    required_raw = body.get("required", "all")
    required: int | None
    if required_raw == "all":
        required = None
    elif isinstance(required_raw, int) and not isinstance(required_raw, bool):
        required = required_raw
    else:
        raise ValueError('required: expected "all" or a number of participants')
    policy = Policy()
    if body.get("policy") is not None:
        policy_raw = _object(body["policy"], "policy")
        _reject_unknown(policy_raw, _POLICY_KEYS, "policy: ")
        policy = Policy.from_mapping(policy_raw)
    ranking = body.get("ranking")
    if ranking is not None and ranking not in ("earliest", "spread"):
        raise ValueError('ranking: expected "earliest" or "spread"')
    return SlotRequest(
        now=now,
        duration=timedelta(minutes=_int(body, "duration_minutes", 30, low=1, high=1440)),
        window=window,
        participants=participants,
        step=timedelta(minutes=_int(body, "step_minutes", 15, low=1, high=1440)),
        min_notice=timedelta(minutes=_int(body, "min_notice_minutes", 0, low=0, high=525600)),
        horizon=timedelta(days=_int(body, "horizon_days", 60, low=0, high=3660)),
        required=required,
        max_results=_int(body, "max_results", 10, low=1, high=1000),
        policy=policy,
        ranking=ranking,
        explain_limit=_int(body, "explain_limit", 40, low=0, high=10000),
    )


def _iso(moment: datetime, zone_name: str) -> str:
    return moment.astimezone(load_zone(zone_name)).isoformat()


def result_to_json(result: SlotResult, *, timezone: str = "UTC") -> dict[str, Any]:
    """The answer, with times shown in ``timezone`` (the first participant's, on the command line)."""
    return {
        "slots": [_slot_json(s, timezone) for s in result.slots],
        "explain": list(result.explain),
    }


def _slot_json(slot: Slot, zone_name: str) -> dict[str, Any]:
    return {
        "start": _iso(slot.start, zone_name),
        "end": _iso(slot.end, zone_name),
        "participants": list(slot.participants),
    }
