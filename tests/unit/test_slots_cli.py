"""`python -m bot slots REQUEST.json` (the fixed contract), run as a subprocess."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMAND = [sys.executable, "-m", "bot", "slots"]

REQUEST: dict[str, Any] = {
    "now": "2026-03-01T00:00:00Z",
    "duration_minutes": 30,
    "step_minutes": 30,
    "window": {"start": "2026-03-02T00:00:00Z", "end": "2026-03-03T00:00:00Z"},
    "max_results": 3,
    "ranking": "earliest",
    "participants": [
        {
            "id": "dana",
            "timezone": "America/New_York",
            "hours": {"mon": [["09:00", "11:00"]]},
            "busy": [{"start": "2026-03-02T14:30:00Z", "end": "2026-03-02T15:00:00Z"}],
        },
        {"id": "kiran", "timezone": "Asia/Kolkata"},
    ],
}

EXPECTED = {
    "slots": [
        {"start": "2026-03-02T09:00:00-05:00", "end": "2026-03-02T09:30:00-05:00", "participants": ["dana", "kiran"]},
        {"start": "2026-03-02T10:00:00-05:00", "end": "2026-03-02T10:30:00-05:00", "participants": ["dana", "kiran"]},
        {"start": "2026-03-02T10:30:00-05:00", "end": "2026-03-02T11:00:00-05:00", "participants": ["dana", "kiran"]},
    ],
    "explain": [
        "Sun 1 Mar outside working hours (dana)",
        "Mon 2 Mar outside working hours (hours: 09:00-11:00) (dana)",
        "Mon 2 Mar 09:30-10:00 busy (dana)",
    ],
}


def slots(*args: str, stdin: bytes | None = None, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*COMMAND, *args], input=stdin, capture_output=True, cwd=ROOT, timeout=timeout, check=False)


def write(tmp_path: Path, data: Any, name: str = "request.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def assert_refused(done: subprocess.CompletedProcess[bytes], message: str | None = None) -> str:
    """Exit code 2, nothing on stdout, one clear line on stderr, no traceback; returns the line."""
    err = done.stderr.decode("utf-8")
    assert "Traceback" not in err
    assert done.returncode == 2, err
    assert done.stdout == b""
    assert err.endswith("\n")
    assert err.count("\n") == 1, err
    line = err.rstrip("\n")
    assert line.startswith("schedbot slots: ")
    if message is not None:
        assert line == f"schedbot slots: {message}"
    return line


# --- answers ----------------------------------------------------------------------------------------------


def test_request_from_a_file(tmp_path: Path) -> None:
    done = slots(str(write(tmp_path, REQUEST)))
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr == b""
    assert done.stdout.endswith(b"\n")
    assert json.loads(done.stdout) == EXPECTED


def test_request_from_stdin() -> None:
    done = slots("-", stdin=json.dumps(REQUEST).encode())
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout) == EXPECTED


def test_output_shape_is_exact() -> None:
    done = slots("-", stdin=json.dumps({**REQUEST, "max_results": 10}).encode())
    answer = json.loads(done.stdout)
    assert list(answer) == ["slots", "explain"]
    assert all(isinstance(line, str) for line in answer["explain"])
    for slot in answer["slots"]:
        assert list(slot) == ["start", "end", "participants"]
        start = datetime.fromisoformat(slot["start"])
        end = datetime.fromisoformat(slot["end"])
        assert start.utcoffset() is not None and end.utcoffset() is not None  # aware
        assert (end - start).total_seconds() == 30 * 60
        assert slot["participants"] == ["dana", "kiran"]


def test_indent_pretty_prints(tmp_path: Path) -> None:
    done = slots(str(write(tmp_path, REQUEST)), "--indent", "2")
    assert done.returncode == 0
    assert done.stdout.startswith(b'{\n  "slots": [\n')
    assert json.loads(done.stdout) == EXPECTED


def test_no_slots_is_an_answer_not_an_error() -> None:
    request = {**REQUEST, "window": {"start": "2026-03-03T00:00:00Z", "end": "2026-03-03T06:00:00Z"}}
    done = slots("-", stdin=json.dumps(request).encode())
    assert done.returncode == 0
    assert json.loads(done.stdout) == {
        "slots": [],
        "explain": [
            "Mon 2 Mar outside working hours (hours: none in this window) (dana)",  # 19:00-24:00 in New York
            "Tue 3 Mar outside working hours (dana)",
        ],
    }


def test_unicode_ids_are_kept() -> None:
    request = json.loads(json.dumps(REQUEST))
    request["participants"][1]["id"] = "Zoë"
    done = slots("-", stdin=json.dumps(request).encode())
    assert done.returncode == 0
    assert json.loads(done.stdout)["slots"][0]["participants"] == ["dana", "Zoë"]


# --- refusals ------------------------------------------------------------------------------------------------


def _with(**changes: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(REQUEST))
    data.update(changes)
    return data


def _person(**changes: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(REQUEST))
    data["participants"][0].update(changes)
    return data


BAD = [
    ("{oops", "request is not valid JSON (line 1, column 2: Expecting property name enclosed in double quotes)"),
    ("", "request is not valid JSON (line 1, column 1: Expecting value)"),
    ('{"now": "2026-03-01T00:00:00Z"', "request is not valid JSON (line 1, column 31: Expecting ',' delimiter)"),
    ("[1, 2]", "request: expected a JSON object"),
    ('"text"', "request: expected a JSON object"),
    ("null", "request: expected a JSON object"),
    (_with(colour="blue"), "request: unknown field 'colour'"),
    (_person(nickname="D"), "participants[0]: unknown field 'nickname'"),
    (
        _person(timezone="Mars/Olympus_Mons"),
        "participant 'dana': unknown time zone 'Mars/Olympus_Mons' (use an IANA name such as 'Europe/Berlin')",
    ),
    (
        _with(window={"start": "2026-03-03T00:00:00Z", "end": "2026-03-02T00:00:00Z"}),
        "window: the end must come after the start",
    ),
    (
        _person(hours={"mon": [["09:00", "25:00"]]}),
        "participant 'dana': hours for mon: bad time '25:00': there is no such time of day",
    ),
    (_with(now="2026-03-01T00:00:00"), "now: '2026-03-01T00:00:00' has no UTC offset (add e.g. 'Z' or '+01:00')"),
    (
        _with(window={"start": "2026-03-02T00:00:00", "end": "2026-03-03T00:00:00"}),
        "window.start: '2026-03-02T00:00:00' has no UTC offset (add e.g. 'Z' or '+01:00')",
    ),
    (
        _person(busy=[{"start": "2026-03-02T09:00:00", "end": "2026-03-02T10:00:00"}]),
        "participant 'dana': busy[0].start: '2026-03-02T09:00:00' has no UTC offset (add e.g. 'Z' or '+01:00')",
    ),
    (_with(duration_minutes=0), "duration_minutes: must be between 1 and 1440"),
    ('{"duration_minutes": Infinity}', "now: expected an ISO 8601 date-time string with a UTC offset"),
    (
        json.dumps(REQUEST).replace('"duration_minutes": 30', '"duration_minutes": Infinity'),
        "duration_minutes: expected a whole number",
    ),
    (
        json.dumps(REQUEST).replace('"duration_minutes": 30', '"duration_minutes": ' + "9" * 5000),
        "request is not valid JSON (a number has too many digits)",
    ),
    (_with(now="9999-12-31T23:00:00Z"), "now: '9999-12-31T23:00:00Z' is out of range (use a year from 1900 to 9000)"),
    (_with(required=3), "required must be 'all' or a number from 1 to 2"),
    ("[" * 100_000, "request is nested too deeply"),
]


@pytest.mark.parametrize(("body", "message"), BAD, ids=[m[:50] for _, m in BAD])
def test_bad_request_from_a_file(tmp_path: Path, body: Any, message: str) -> None:
    assert_refused(slots(str(write(tmp_path, body))), message)


@pytest.mark.parametrize(("body", "message"), BAD[:8], ids=[m[:50] for _, m in BAD[:8]])
def test_bad_request_from_stdin(body: Any, message: str) -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    assert_refused(slots("-", stdin=text.encode()), message)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "request.json"
    path.write_bytes(b'{"now": "\xff\xfe"}')
    assert_refused(slots(str(path)), "request is not UTF-8 text")


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    assert_refused(slots(str(missing)), f"{missing}: no such file")


def test_directory_instead_of_file(tmp_path: Path) -> None:
    assert_refused(slots(str(tmp_path)), f"{tmp_path}: is a directory, not a request file")


def test_a_100_mb_file_is_refused_quickly(tmp_path: Path) -> None:
    huge = tmp_path / "huge.json"
    with huge.open("wb") as handle:
        handle.truncate(100 * 1024 * 1024)  # sparse: costs no disk
    started = time.monotonic()
    done = slots(str(huge), timeout=30)
    elapsed = time.monotonic() - started
    assert_refused(done, "request is larger than 10 MB")
    assert elapsed < 10


def test_an_oversized_stdin_is_refused() -> None:
    body = b'{"now": "' + b"x" * (11 * 1024 * 1024) + b'"}'
    assert_refused(slots("-", stdin=body), "request is larger than 10 MB")


ICS_MISSING = importlib.util.find_spec("bot.providers.ics") is None
ICS_SKIP = "bot/providers/ics.py (bot.providers.ics.load_ics_file, the ICS reader) does not exist yet"


@pytest.mark.skipif(ICS_MISSING, reason=ICS_SKIP)
def test_an_ics_that_is_not_one(tmp_path: Path) -> None:
    fake = tmp_path / "calendar.ics"
    fake.write_text("this is a shopping list, not a calendar\n", encoding="utf-8")
    request = _person(ics=[str(fake)])
    line = assert_refused(slots(str(write(tmp_path, request))))
    assert "calendar.ics" in line
    assert "shopping" not in line  # never quotes calendar content


@pytest.mark.skipif(ICS_MISSING, reason=ICS_SKIP)
def test_a_missing_ics_file(tmp_path: Path) -> None:
    request = _person(ics=[str(tmp_path / "gone.ics")])
    line = assert_refused(slots(str(write(tmp_path, request))))
    assert "gone.ics" in line


@pytest.mark.skipif(ICS_MISSING, reason=ICS_SKIP)
def test_an_ics_file_adds_busy_time(tmp_path: Path) -> None:
    calendar = tmp_path / "work.ics"
    calendar.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        "BEGIN:VEVENT\r\nUID:one@test\r\nDTSTAMP:20260101T000000Z\r\n"
        "DTSTART:20260302T150000Z\r\nDTEND:20260302T153000Z\r\nSUMMARY:Secret meeting\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n",
        encoding="utf-8",
    )
    done = slots(str(write(tmp_path, _person(ics=[str(calendar)]))))
    assert done.returncode == 0, done.stderr.decode()
    answer = json.loads(done.stdout)
    assert [s["start"] for s in answer["slots"]] == ["2026-03-02T09:00:00-05:00", "2026-03-02T10:30:00-05:00"]
    assert "Mon 2 Mar 09:30-10:30 busy (dana)" in answer["explain"]  # the request's busy item and the ICS event
    assert "Secret" not in done.stdout.decode()


def test_bad_ics_list_is_refused(tmp_path: Path) -> None:
    assert_refused(
        slots(str(write(tmp_path, _person(ics="cal.ics")))), "participants[0].ics: expected a list of file paths"
    )


def test_help_names_the_command() -> None:
    done = subprocess.run([*COMMAND, "--help"], capture_output=True, cwd=ROOT, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert b"stdin" in done.stdout
