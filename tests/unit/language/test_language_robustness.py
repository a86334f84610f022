"""Any input gives a valid answer quickly (hypothesis fuzzing) and the --jsonl command keeps its contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.language import INTENTS, parse_request

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime.fromisoformat("2026-03-05T10:00:00-05:00")
WORDS = ["tomorrow", "at", "3pm", "next", "Tuesday", "between", "and", "to", "-", "book", "with", "<@U123>",
         "morning", "for", "30", "min", "March", "16", "15:30", "week", "the", "of", "Berlin", "time", "PST",
         "mañana", "um", "Uhr", "demain", "à", "14h", "alle", "or", "weekday", "every", "half", "hour", ",",
         "2026-03-08", "3/20", "after", "before", "noon", "<at>Lee</at>", "DROP TABLE users;--", "\u0000", "😀"]


def check(text: str) -> None:
    t0 = time.perf_counter()
    out = parse_request(text, now=NOW, tz="America/New_York")
    assert time.perf_counter() - t0 < 1.0
    j = out.to_json()
    json.dumps(j)
    assert j["intent"] in INTENTS
    for w in j["windows"]:
        s, e = datetime.fromisoformat(w["start"]), datetime.fromisoformat(w["end"])
        assert s.tzinfo is not None and e.tzinfo is not None
        assert e.astimezone(UTC) > s.astimezone(UTC)
    assert j["duration_minutes"] is None or isinstance(j["duration_minutes"], int)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_any_text(text: str) -> None:
    check(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=25))
def test_word_salad(words: list[str]) -> None:
    check(" ".join(words))


@settings(max_examples=100, deadline=None)
@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)),
       st.sampled_from(["UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kathmandu"]),
       st.sampled_from(["tomorrow at 2:30am", "next week", "in 90 minutes", "sunday morning", "the 31st"]))
def test_any_now(now: datetime, tz: str, text: str) -> None:
    out = parse_request(text, now=now.replace(tzinfo=UTC), tz=tz).to_json()
    for w in out["windows"]:
        assert datetime.fromisoformat(w["end"]) - datetime.fromisoformat(w["start"]) > timedelta(0) or \
            datetime.fromisoformat(w["end"]).astimezone(UTC) > datetime.fromisoformat(w["start"]).astimezone(UTC)


def test_long_and_hostile_inputs() -> None:
    for text in ["", " ", "a" * 10_000, "3" * 10_000, "tomorrow " * 1200, "1-" * 5000, "<" * 10_000,
                 "\x00\x01\x02 tomorrow", "'; DROP TABLE bookings; --", "😀" * 3000, "next " * 2000 + "tuesday",
                 "between 1 and " * 700]:
        check(text)


def _run(args: list[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", "import sys; import bot.language.cli as c, argparse; "
                           "p = argparse.ArgumentParser(); c.register(p.add_subparsers()); "
                           "a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))", *args],
                          input=stdin, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)


def test_jsonl_one_answer_per_line_in_order() -> None:
    lines = [
        json.dumps({"text": "tomorrow at 3pm", "now": "2026-03-05T10:00:00-05:00", "tz": "America/New_York"}),
        "this is not json",
        json.dumps([1, 2, 3]),
        "",
        json.dumps({"text": "x" * 10_000, "now": "2026-03-05T10:00:00-05:00", "tz": "UTC"}),
        json.dumps({"text": "tomorrow", "now": "not a date", "tz": "UTC"}),
        json.dumps({"text": 42, "now": "2026-03-05T10:00:00Z", "tz": "UTC"}),
        json.dumps({"text": "next week", "now": "2026-03-05T10:00:00Z", "tz": "Nowhere/Nope"}),
        '{"text": "\\u0000\\ud800 bad surrogate", "now": "2026-03-05T10:00:00Z", "tz": "UTC"}',
        json.dumps({"text": "cancel friday", "now": "2026-03-05T10:00:00-05:00", "tz": "America/New_York"}),
    ]
    p = _run(["parse", "--jsonl"], "\n".join(lines) + "\n")
    assert p.returncode == 0, p.stderr
    out = [json.loads(x) for x in p.stdout.splitlines()]
    assert len(out) == len(lines)
    assert out[0]["windows"][0]["start"] == "2026-03-06T15:00:00-05:00"
    for i in (1, 2, 3, 5, 6):
        assert out[i]["intent"] == "unknown" and "error" in out[i]
    assert out[4]["intent"] in INTENTS
    assert out[7]["timezone"] == "UTC"
    assert out[9]["intent"] == "cancel"
    assert "Traceback" not in p.stderr


def test_single_text_mode() -> None:
    p = _run(["parse", "--now", "2026-03-05T10:00:00-05:00", "--tz", "America/New_York", "book 30 min tomorrow 9am"])
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["duration_minutes"] == 30
    assert out["windows"] == [{"start": "2026-03-06T09:00:00-05:00", "end": "2026-03-06T09:30:00-05:00"}]


def test_python_m_bot_parse_when_the_cli_is_complete() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-m", "bot", "parse", "--jsonl"], input='{"text": "noon", "now": '
                       '"2026-03-05T10:00:00Z", "tz": "UTC"}\n', capture_output=True, text=True, cwd=ROOT, env=env,
                       timeout=60)
    assert p.returncode == 0, p.stderr[-2000:]
    assert json.loads(p.stdout)["windows"][0]["start"] == "2026-03-05T12:00:00+00:00"
