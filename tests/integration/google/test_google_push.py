"""Push channels kept per account: opened on connect, notifications verified by token, renewed before expiry."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from bot.config import Settings
from bot.providers.google import RetryPolicy
from bot.providers.google_oauth import GoogleOAuth, GooglePush
from bot.scheduling.model import Person
from tests.fakes.google_api import FakeGoogle


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def wired(
    fake: FakeGoogle, storage: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[GooglePush, GoogleOAuth, list[str], list[int], Clock]]:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    storage.people.add(Person(id="dana", display_name="Dana"))
    synced: list[str] = []
    statuses: list[int] = []
    clock = Clock()

    async def sync(account_id: str) -> None:
        synced.append(account_id)

    settings = dataclasses.replace(settings, public_url="https://bot.example.com")
    push = GooglePush(storage, settings, clock=clock, sync=sync,
                      provider_options={"retry": RetryPolicy(max_retries=0)})
    assert push.address == "https://bot.example.com/google/notifications"

    async def route(request: web.Request) -> web.Response:  # what bot.server's route does
        status = await push.handle(request.headers)
        statuses.append(status)
        return web.Response(status=status)

    app = web.Application()
    app.router.add_post("/google/notifications", route)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    push.address = f"http://127.0.0.1:{port}/google/notifications"  # loopback stand-in for the public URL
    oauth = GoogleOAuth(storage, settings, clock=clock, push=push)
    try:
        yield push, oauth, synced, statuses, clock
    finally:
        await runner.cleanup()


async def test_channels_opened_verified_and_renewed(
    wired: tuple[GooglePush, GoogleOAuth, list[str], list[int], Clock], fake: FakeGoogle
) -> None:
    push, oauth, synced, statuses, clock = wired
    fake.add_calendar("dana@example.com", "Dana", primary=True)
    fake.add_calendar("work@example.com", "Work")
    code, state = fake.consent(oauth.start_url("dana"), principal="dana@example.com")
    account = await oauth.finish(state, code)

    first = dict(fake.channels)
    assert sorted(c["calendar_id"] for c in first.values()) == ["dana@example.com", "work@example.com"]
    channel_id = next(iter(first))
    await fake.notify(channel_id, state="sync")  # the handshake: accepted, nothing to sync yet
    await fake.notify(channel_id)
    await fake.notify(channel_id, token="forged")
    assert statuses == [200, 200, 403]
    assert synced == [account.id]

    assert await push.renew_due() == 0  # a week left
    clock.now += timedelta(days=7) - timedelta(hours=1)
    assert await push.renew_due() == 2
    assert sorted(fake.stopped_channels) == sorted(first)
    assert not set(fake.channels) & set(first)
    new_id = next(iter(fake.channels))
    statuses.clear()
    await fake.notify(new_id)
    assert statuses == [200]
    assert synced == [account.id, account.id]


async def test_no_public_url_means_polling(storage: Any, settings: Settings) -> None:
    push = GooglePush(storage, settings)
    assert not push.enabled
    assert await push.watch_account("anything") == []
    assert await push.renew_due() == 0
    assert await push.handle({"X-Goog-Channel-ID": "c", "X-Goog-Resource-ID": "r"}) == 403
    assert await push.handle({}) == 400
