"""`schedbot link HANDLE` prints signed links that the server accepts; an unknown handle is one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.adapters.web.links import read_settings_token, read_signin_token
from bot.config import Settings


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCHEDBOT_DATA_DIR": str(tmp_path), "SCHEDBOT_DEMO": "1"}
    env.pop("DATABASE_URL", None)
    env.pop("SECRET_KEYS", None)
    subprocess.run([sys.executable, "-m", "bot", "migrate"], env=env, check=True, capture_output=True)
    return subprocess.run([sys.executable, "-m", "bot", "link", *args], env=env, capture_output=True, text=True)


def test_link_prints_working_signed_links_for_the_demo_coach(tmp_path: Path) -> None:
    done = _run(tmp_path, "dana")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Web chat as Dana (demo coach): http://127.0.0.1:3978/chat/signin?token=")
    assert "/settings?token=" in lines[1]
    settings = Settings.from_env({"SCHEDBOT_DATA_DIR": str(tmp_path)})
    from bot.app import load_or_create_secret_keys

    settings = Settings(**{**settings.__dict__, "secret_keys": load_or_create_secret_keys(settings)})
    now = datetime.now(UTC)
    assert read_signin_token(lines[0].split("token=")[1], settings=settings, now=now) == "demo-dana"
    assert read_settings_token(lines[1].split("token=")[1], settings=settings, now=now) == "demo-dana"


def test_an_unknown_handle_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = _run(tmp_path, "nobody")
    assert done.returncode == 2
    assert done.stderr.strip() == "schedbot link: nobody has the handle 'nobody'"
