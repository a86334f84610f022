"""`schedbot chat` as a person uses it: a real process, lines on stdin, the demo coach, a temp data folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _chat(tmp_path: Path, *args: str, lines: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "SECRET_KEYS", "SCHEDBOT_"))}
    env.update({"SCHEDBOT_DATA_DIR": str(tmp_path / "var"), "SCHEDBOT_DEMO": "1"})
    return subprocess.run(
        [sys.executable, "-m", "bot", "chat", *args],
        cwd=ROOT,
        env=env,
        input="".join(line + "\n" for line in lines),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_book_with_the_demo_coach_in_the_terminal(tmp_path: Path) -> None:
    run = _chat(tmp_path, "--as", "Sam", "--tz", "America/New_York",
                lines=["help", "book 30 min with dana", "1", "1", "my sessions"])
    out = run.stdout
    assert run.returncode == 0, run.stderr
    assert "Chatting as Sam (America/New_York)" in out
    assert "book 30 min with dana next Tuesday afternoon" in out  # the help text
    offered = re.findall(r"^  (\d)\. (\w{3} \d+ \w{3} \d\d:\d\d-\d\d:\d\d \(America/New_York\) / .*Europe/Berlin)$",
                         out, re.MULTILINE)
    assert len(offered) >= 3, out
    assert "Show more times" in out
    first = offered[0][1].split(" (America/New_York)")[0]
    assert f"Book 30 min with Dana (demo coach) on {first}" in out
    assert f"Booked: 30 min with Dana (demo coach), {first}" in out
    assert "[to Dana (demo coach)] New session booked: 30 min with Sam," in out
    assert f"[direct message] Your session with Dana (demo coach) is confirmed: {first} (America/New_York)." in out
    assert f"• {first} (America/New_York) with Dana (demo coach)" in out
    assert "Traceback" not in run.stderr

    # the coach sees it too, in her own zone, from another session on the same data folder; quit leaves
    coach = _chat(tmp_path, "--as", "dana", lines=["my sessions", "quit", "never read"])
    assert coach.returncode == 0, coach.stderr
    assert "Chatting as Dana (demo coach) (Europe/Berlin)" in coach.stdout
    assert re.search(r"• \w{3} \d+ \w{3} \d\d:\d\d-\d\d:\d\d \(Europe/Berlin\) with Sam", coach.stdout), coach.stdout
    assert "Bye!" in coach.stdout


def test_bad_zone_and_empty_input(tmp_path: Path) -> None:
    bad = _chat(tmp_path, "--as", "Sam", "--tz", "Mars/Olympus", lines=[])
    assert bad.returncode == 2 and "unknown time zone" in bad.stderr and "Traceback" not in bad.stderr
    empty = _chat(tmp_path, "--as", "Sam", lines=[])
    assert empty.returncode == 0 and "Traceback" not in empty.stderr
