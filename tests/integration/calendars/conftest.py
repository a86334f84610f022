"""A real Radicale CalDAV server (htpasswd auth) per test session, on a free loopback port in a temp dir.

``radicale`` gives its URL and credentials; ``dav`` makes calendars and writes raw iCalendar into them the way
another client (the coach's phone) would, so the code under test only ever sees what a real server returns.
``faulty`` is a loopback proxy in front of that Radicale which passes everything through unless told to answer
some requests itself (429, 5xx, a stall, an unreadable answer), change Radicale's answer (``SyncPages``: a
sync-collection answer cut into RFC 6578 pages) or cut it off mid-transfer, for the faults Radicale cannot produce.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import aiohttp
import pytest
from aiohttp import web
from lxml import etree
from multidict import CIMultiDict

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
    log: IO[bytes] | None = None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.log is not None:
            self.log.close()


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
            log.close()
            raise RuntimeError(f"radicale exited: {(folder / 'radicale.log').read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    else:
        process.kill()
        log.close()
        raise RuntimeError("radicale did not start")
    return RadicaleServer(f"http://127.0.0.1:{port}/", process, folder, log)


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


# --- a fault-injecting proxy in front of Radicale ------------------------------------------------------------


@dataclass
class Fault:
    """Answer (or delay, or alter) the next ``times`` requests with ``method`` whose body contains ``when``."""

    method: str
    when: bytes = b""
    times: int = 1
    status: int | None = None  # answer with this instead of asking Radicale
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0  # seconds before answering (or forwarding)
    rewrite: Callable[[bytes], bytes] | None = None  # change the request body before forwarding it
    chunked: bool = False  # forward Radicale's answer without a Content-Length
    answer: Callable[[Seen, bytes], bytes] | None = None  # change Radicale's answer (given the client's request)
    # Send Radicale's answer only up to the end of its first <response> (or half of it), then close the
    # connection: announced with its full Content-Length ("length"), or chunked without the last chunk ("chunked").
    cut: Literal["length", "chunked"] | None = None


@dataclass
class Seen:
    method: str
    path: str
    headers: Mapping[str, str]  # any case
    body: bytes
    at: float
    faulted: bool


_HOP = frozenset({"host", "content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding"})


class FaultyProxy:
    def __init__(self, upstream: str, session: aiohttp.ClientSession) -> None:
        self.upstream = upstream.rstrip("/")
        self.session = session
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        self.url = ""

    def add(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def requests(self, method: str, when: bytes = b"") -> list[Seen]:
        return [s for s in self.seen if s.method == method and when in s.body]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        fault = next((f for f in self.faults if f.times > 0 and f.method == request.method and f.when in body), None)
        headers = CIMultiDict(request.headers)
        seen = Seen(request.method, request.path_qs, headers, body, time.monotonic(), fault is not None)
        self.seen.append(seen)
        if fault is not None:
            fault.times -= 1
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status is not None:
                return web.Response(status=fault.status, headers=fault.headers, body=fault.body)
            if fault.rewrite is not None:
                body = fault.rewrite(body)
        forwarded = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        async with self.session.request(
            request.method, self.upstream + request.path_qs, headers=forwarded, data=body, allow_redirects=False
        ) as upstream:
            answer = await upstream.read()
            out = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP}
        if fault is not None and fault.answer is not None:
            answer = fault.answer(seen, answer)
        if fault is not None and fault.cut is not None:
            return await _cut_short(request, upstream.status, out, answer, chunked=fault.cut == "chunked")
        if fault is not None and fault.chunked:
            streamed = web.StreamResponse(status=upstream.status, headers=out)
            streamed.enable_chunked_encoding()
            await streamed.prepare(request)
            await streamed.write(answer)
            await streamed.write_eof()
            return streamed
        return web.Response(status=upstream.status, headers=out, body=answer)


async def _cut_short(
    request: web.Request, status: int, headers: Mapping[str, str], answer: bytes, *, chunked: bool
) -> web.StreamResponse:
    """Start the answer, send it up to the end of its first <response> (half of it if it has none), hang up."""
    first = re.search(rb"</(?:[A-Za-z0-9]+:)?response>", answer)
    keep = first.end() if first is not None and first.end() < len(answer) else len(answer) // 2
    streamed = web.StreamResponse(status=status, headers=headers)
    if chunked:
        streamed.enable_chunked_encoding()
    else:
        streamed.content_length = len(answer)  # the whole answer announced ...
    await streamed.prepare(request)
    await streamed.write(answer[:keep])  # ... part of it sent
    assert request.transport is not None
    request.transport.close()  # sends what was written, then closes: no more bytes, no last chunk
    return streamed


_SYNC_TOKEN = re.compile(rb"<(?:[A-Za-z0-9]+:)?sync-token(?:\s[^>]*)?(?:/>|>([^<]*)</)")


def sync_token_in(body: bytes) -> str:
    """The sync-token of a sync-collection request or answer ("" when empty)."""
    found = _SYNC_TOKEN.search(body)
    assert found is not None, body[:300]
    return (found.group(1) or b"").decode().strip()


@dataclass
class SyncPage:
    """One sync-collection answer as the proxy sent it."""

    asked: str  # the token in the request, as the client sent it
    changes: list[str]  # the hrefs of its responses (changed or removed members), the 507 marker left out
    truncated: bool
    token: str  # the token in the answer


class SyncPages:
    """A server that truncates sync-collection answers to ``page_size`` changes (RFC 6578 section 3.6).

    ``faulty.add(pages.fault())``: the next sync-collection REPORT gets Radicale's answer cut to its first
    ``page_size`` responses, plus a ``507 Insufficient Storage`` response for the collection (the request-URI),
    with a checkpoint token of ours in place of Radicale's.  A REPORT from a checkpoint goes to Radicale with the
    token the checkpoint stands for, and the proxy drops from its answer the responses the earlier pages held
    already (the same response again, byte for byte): the next page, truncated again while more than
    ``page_size`` remain, else the rest with Radicale's own token.  So following the checkpoints yields every
    change exactly once, and only following them does.  ``progress=False``: the truncated page carries the
    token the client sent (a server that cannot say where it stopped), and there are no further pages.
    """

    CHECKPOINT = "http://faulty.test/ns/sync/checkpoint-"

    def __init__(self, page_size: int, *, progress: bool = True) -> None:
        self.page_size = page_size
        self.progress = progress
        self.pages: list[SyncPage] = []
        self._checkpoints: dict[str, tuple[str, frozenset[bytes]]] = {}  # ours -> (Radicale's, responses sent)
        self._fault = Fault("REPORT", b"sync-collection", rewrite=self._request, answer=self._answer)

    def fault(self) -> Fault:
        return self._fault

    def _request(self, body: bytes) -> bytes:
        asked = sync_token_in(body)
        if asked in self._checkpoints:
            body = body.replace(asked.encode(), self._checkpoints[asked][0].encode(), 1)
        return body

    def _answer(self, seen: Seen, answer: bytes) -> bytes:
        asked = sync_token_in(seen.body)
        radicale_token, sent = self._checkpoints.get(asked, (asked, frozenset()))
        root = etree.fromstring(answer)
        token = root.find("{DAV:}sync-token")
        assert token is not None and root.tag == "{DAV:}multistatus", answer[:300]
        responses = [(r, etree.tostring(r, with_tail=False)) for r in root.findall("{DAV:}response")]
        for response, _ in responses:
            root.remove(response)
        fresh = [(r, text) for r, text in responses if text not in sent]
        page, truncated = fresh[: self.page_size], len(fresh) > self.page_size
        for response, _ in page:
            root.append(response)
        if truncated:
            marker = etree.SubElement(root, "{DAV:}response")
            etree.SubElement(marker, "{DAV:}href").text = seen.path.split("?", 1)[0]
            etree.SubElement(marker, "{DAV:}status").text = "HTTP/1.1 507 Insufficient Storage"
            if self.progress:
                checkpoint = f"{self.CHECKPOINT}{len(self._checkpoints) + 1}"
                said = sent | {text for _, text in page}
                self._checkpoints[checkpoint] = (radicale_token, said)
                token.text = checkpoint
                self._fault.times += 1  # the REPORT from this checkpoint comes here too
            else:
                token.text = asked
        hrefs = [str(r.findtext("{DAV:}href")) for r, _ in page]
        self.pages.append(SyncPage(asked, hrefs, truncated, str(token.text)))
        return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def without_calendar_data(body: bytes) -> bytes:
    """A calendar-query that asks for ETags only: the client then has to fetch the data itself."""
    return re.sub(rb"<[A-Za-z0-9]*:?calendar-data[^>]*/>", b"", body)


@pytest.fixture
async def faulty(radicale: RadicaleServer) -> AsyncIterator[FaultyProxy]:
    async with aiohttp.ClientSession() as session:
        proxy = FaultyProxy(radicale.url, session)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", proxy.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        proxy.url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
        try:
            yield proxy
        finally:
            await runner.cleanup()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[Any]:
    """``test_calendar_service.World``: SQLite storage with Dana and Ann, and a CalendarService over it."""
    from tests.integration.calendars.test_calendar_service import World

    w = World(tmp_path)
    try:
        yield w
    finally:
        await w.service.aclose()
        w.storage.close()
