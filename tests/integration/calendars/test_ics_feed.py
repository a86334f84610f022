"""IcsFeedProvider against a small aiohttp server on loopback: 200, 404, 5xx, timeout, oversized, not iCalendar."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.providers.httpcall import HttpPolicy
from bot.providers.ics_feed import FEED_CALENDAR_ID, IcsFeedProvider, normalize_feed_url
from bot.scheduling.ports import NeedsReconnect, ProviderError
from tests.integration.calendars.test_caldav_provider import ALL_DAY, DECLINED, MARCH, RECURRING, utc

SECRET_PATH = "/calendar/ical/s3cr3t-token/basic.ics"


class Feed:
    def __init__(self) -> None:
        self.hits = 0
        self.mode = "ok"
        self.release = asyncio.Event()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.hits += 1
        if self.mode == "ok":
            return web.Response(body=(RECURRING.replace("END:VCALENDAR\n", "") + _body(ALL_DAY) + _body(DECLINED)
                                      + "END:VCALENDAR\n").replace("\r\n", "\n").replace("\n", "\r\n").encode(),
                                content_type="text/calendar")
        if self.mode == "gone":
            return web.Response(status=404, text="not found")
        if self.mode == "flaky" and self.hits == 1:
            return web.Response(status=503, headers={"Retry-After": "0"})
        if self.mode == "flaky":
            return web.Response(body=ALL_DAY.encode(), content_type="text/calendar")
        if self.mode == "error":
            return web.Response(status=500)
        if self.mode == "slow":
            await self.release.wait()
            return web.Response(body=ALL_DAY.encode())
        if self.mode == "huge":
            big = "BEGIN:VCALENDAR\r\n" + "X-PAD:" + "x" * 70 + "\r\n" * 1 + ("X-PAD:" + "x" * 70 + "\r\n") * 20000
            return web.Response(body=(big + "END:VCALENDAR\r\n").encode(), content_type="text/calendar")
        if self.mode == "html":
            return web.Response(text="<html><body>Please sign in</body></html>", content_type="text/html")
        raise AssertionError(self.mode)


def _body(ics: str) -> str:
    start = ics.index("BEGIN:VEVENT")
    return ics[start : ics.index("END:VCALENDAR")]


@pytest.fixture
async def feed() -> AsyncIterator[tuple[Feed, str]]:
    state = Feed()
    app = web.Application()
    app.router.add_get(SECRET_PATH, state.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield state, f"http://127.0.0.1:{port}{SECRET_PATH}"
    finally:
        state.release.set()
        await runner.cleanup()


def provider(url: str, **kwargs: object) -> IcsFeedProvider:
    policy = kwargs.pop("policy", HttpPolicy(timeout=5, attempts=2, backoff=0.01, max_bytes=200_000))
    return IcsFeedProvider(url, default_tz="Europe/Berlin", owner_emails=["coach@example.com"],
                           policy=policy, **kwargs)  # type: ignore[arg-type]


async def test_a_feed_is_read_as_busy_time(feed: tuple[Feed, str]) -> None:
    _, url = feed
    async with provider(url) as p:
        busy = (await p.busy([FEED_CALENDAR_ID], MARCH))[FEED_CALENDAR_ID]
        changes = await p.changes(FEED_CALENDAR_ID, token=None, window=MARCH)
        assert p.read_only
    assert [b.start for b in busy] == [
        utc("2026-03-02 08:00"), utc("2026-03-04 23:00"), utc("2026-03-16 14:00"), utc("2026-03-23 08:00")
    ]  # declined invitation left out; EXDATE and the override moved to New York time honoured
    assert changes.full and len(changes.changed) == 4 and len({e.external_id for e in changes.changed}) == 4


async def test_a_revoked_address_needs_reconnecting_and_never_shows_the_url(feed: tuple[Feed, str]) -> None:
    state, url = feed
    state.mode = "gone"
    async with provider(url) as p:
        with pytest.raises(NeedsReconnect) as caught:
            await p.busy([FEED_CALENDAR_ID], MARCH)
    assert "s3cr3t" not in str(caught.value) and "127.0.0.1" in str(caught.value)
    assert "s3cr3t" not in repr(provider(url))


async def test_server_errors_are_retried_then_fail(feed: tuple[Feed, str]) -> None:
    state, url = feed
    state.mode = "flaky"
    async with provider(url) as p:
        assert len((await p.busy([FEED_CALENDAR_ID], MARCH))[FEED_CALENDAR_ID]) == 1
    assert state.hits == 2
    state.mode, state.hits = "error", 0
    async with provider(url) as p:
        with pytest.raises(ProviderError, match=r"HTTP 500 \(tried 2 times"):
            await p.busy([FEED_CALENDAR_ID], MARCH)
    assert state.hits == 2


async def test_a_feed_that_does_not_answer_times_out(feed: tuple[Feed, str]) -> None:
    state, url = feed
    state.mode = "slow"
    async with provider(url, policy=HttpPolicy(timeout=0.2, attempts=1)) as p:
        with pytest.raises(ProviderError, match="no answer within"):
            await p.busy([FEED_CALENDAR_ID], MARCH)


async def test_an_oversized_feed_is_refused(feed: tuple[Feed, str]) -> None:
    state, url = feed
    state.mode = "huge"
    async with provider(url) as p:
        with pytest.raises(ProviderError, match="more than 195 KB"):
            await p.busy([FEED_CALENDAR_ID], MARCH)
    assert state.hits == 1  # not retried


async def test_a_page_that_is_not_a_calendar_is_refused(feed: tuple[Feed, str]) -> None:
    state, url = feed
    state.mode = "html"
    async with provider(url) as p:
        with pytest.raises(ProviderError, match="did not send a calendar"):
            await p.check()


def test_feed_addresses() -> None:
    assert normalize_feed_url("webcal://p01-caldav.icloud.com/published/2/abc") == (
        "https://p01-caldav.icloud.com/published/2/abc"
    )
    for bad in ("ftp://x/y.ics", "file:///etc/passwd", "not a url"):
        with pytest.raises(ValueError):
            normalize_feed_url(bad)
