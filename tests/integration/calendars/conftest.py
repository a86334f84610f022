"""A real Radicale CalDAV server (htpasswd auth) per test session, on a free loopback port in a temp dir.

``radicale`` gives its URL and credentials; ``dav`` makes calendars and writes raw iCalendar into them the way
another client (the coach's phone) would, so the code under test only ever sees what a real server returns.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

USER = "coach@example.com"
PASSWORD = "app-specific-secret"
OTHER_USER = "other@example.com"
OTHER_PASSWORD = "other-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RadicaleServer:
    url: str
    process: subprocess.Popen[bytes]
    folder: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_radicale(folder: Path) -> RadicaleServer:
    folder.mkdir(parents=True, exist_ok=True)
    users = folder / "users"
    users.write_text(f"{USER}:{PASSWORD}\n{OTHER_USER}:{OTHER_PASSWORD}\n")
    port = free_port()
    config = folder / "config"
    config.write_text(
        "[server]\n"
        f"hosts = 127.0.0.1:{port}\n"
        "[auth]\n"
        "type = htpasswd\n"
        f"htpasswd_filename = {users}\n"
        "htpasswd_encryption = plain\n"
        "delay = 0\n"
        "[rights]\n"
        "type = owner_only\n"
        "[storage]\n"
        f"filesystem_folder = {folder / 'collections'}\n"
        "[logging]\n"
        "level = error\n"
    )
    log = (folder / "radicale.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--config", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"radicale exited: {(folder / 'radicale.log').read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    else:
        process.kill()
        raise RuntimeError("radicale did not start")
    return RadicaleServer(f"http://127.0.0.1:{port}/", process, folder)


@pytest.fixture(scope="session")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadicaleServer]:
    server = start_radicale(tmp_path_factory.mktemp("radicale"))
    try:
        yield server
    finally:
        server.stop()


class Dav:
    """Raw WebDAV as another client: make calendars, put/delete iCalendar resources."""

    def __init__(self, base: str, session: aiohttp.ClientSession, user: str = USER, password: str = PASSWORD) -> None:
        self.base = base
        self.session = session
        self.auth = {"Authorization": aiohttp.encode_basic_auth(user, password)}
        self.user = user

    async def make_calendar(self, name: str | None = None, *, display: str | None = None) -> str:
        slug = name or f"cal-{uuid.uuid4().hex[:10]}"
        url = f"{self.base}{self.user}/{slug}/"
        body = (
            '<?xml version="1.0"?><c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
            f"<d:set><d:prop><d:displayname>{display or slug}</d:displayname>"
            '<c:supported-calendar-component-set><c:comp name="VEVENT"/></c:supported-calendar-component-set>'
            "</d:prop></d:set></c:mkcalendar>"
        )
        async with self.session.request("MKCALENDAR", url, data=body, headers=self.auth) as r:
            assert r.status == 201, await r.text()
        return url

    async def put(self, calendar_url: str, name: str, ics: str) -> str:
        url = f"{calendar_url}{name}.ics"
        data = ics.replace("\r\n", "\n").replace("\n", "\r\n")
        async with self.session.put(
            url, data=data.encode(), headers={**self.auth, "Content-Type": "text/calendar"}
        ) as r:
            assert r.status in (201, 204), await r.text()
            return r.headers.get("ETag", "")

    async def delete(self, url: str) -> None:
        async with self.session.delete(url, headers=self.auth) as r:
            assert r.status in (200, 204), await r.text()

    async def get(self, url: str) -> tuple[int, str, str]:
        async with self.session.get(url, headers=self.auth) as r:
            return r.status, await r.text(), r.headers.get("ETag", "")


@pytest.fixture
async def dav(radicale: RadicaleServer) -> AsyncIterator[Dav]:
    async with aiohttp.ClientSession() as session:
        yield Dav(radicale.url, session)
    await asyncio.sleep(0)
