"""`schedbot serve` as a new user starts it: a real process, a real port, GET /healthz."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "SECRET_KEYS", "PORT", "HOST"))}
    env.update({"SCHEDBOT_DATA_DIR": str(tmp_path / "var"), **extra})
    return env


def test_serve_starts_on_embedded_sqlite_and_answers_healthz(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", str(port)],
        cwd=ROOT,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        body = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    body = json.loads(response.read())
                    status = response.status
                break
            except OSError:
                time.sleep(0.2)
        assert body == {"status": "ok", "database": "ok"}, proc.stdout.read() if proc.poll() is not None else body
        assert status == 200
        assert (tmp_path / "var" / "schedbot.db").exists()
        assert (tmp_path / "var" / "secret.key").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    output = proc.stdout.read() if proc.stdout else ""
    assert f"http://127.0.0.1:{port}" in output
    assert "Traceback" not in output


def test_serve_reports_a_taken_port_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "bot", "serve", "--port", str(port)],
            cwd=ROOT,
            env=_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_serve_rejects_a_bad_database_url(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        cwd=ROOT,
        env=_env(tmp_path, DATABASE_URL="mysql://nobody@nowhere/db"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "unsupported database" in result.stderr
