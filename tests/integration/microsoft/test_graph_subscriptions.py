"""Graph change subscriptions end to end: the fake Graph validates the bot's real ``POST /graph/notifications``
route (validationToken handshake), sends change and lifecycle notifications to it, and the clientState decides
which count.  Renewal is a PATCH before expiry; a subscription Graph forgot is created again."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import text

from bot.providers.microsoft import GraphSubscription, check_notifications, subscription_due
from bot.providers.microsoft_auth import MicrosoftAuth
from bot.server import APP_KEY, graph_notifications
from tests.fakes.graph_api import FakeGraph
from tests.integration.microsoft.conftest import COACH_ID


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def bot_url(auth: MicrosoftAuth, clock: Clock) -> AsyncIterator[str]:
    """The bot's notification route on a free loopback port, with ``auth`` as ``App.microsoft``."""
    auth.clock = clock
    received: list[tuple[str, str]] = []

    async def hook(account_id: str, action: str) -> None:
        received.append((account_id, action))

    auth.on_notification = hook
    server = web.Application()
    server[APP_KEY] = SimpleNamespace(microsoft=auth)  # type: ignore[assignment]
    server.router.add_post("/graph/notifications", graph_notifications)
    runner = web.AppRunner(server, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    auth.received = received  # type: ignore[attr-defined]
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/graph/notifications"
    finally:
        await runner.cleanup()


async def _connected(auth: MicrosoftAuth, fake: FakeGraph, storage: Any) -> tuple[Any, dict[str, Any]]:
    params = await fake.consent(await auth.astart_url(COACH_ID))
    account = await auth.finish(params["state"], params)
    return account, storage.credentials.get(account.id)


async def test_validation_handshake_echoes_the_token(bot_url: str) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            bot_url, params={"validationToken": "Validation: Testing client application reachability"}
        ) as response,
    ):
        assert response.status == 200
        assert response.content_type == "text/plain"
        assert await response.text() == "Validation: Testing client application reachability"


async def test_subscribe_notify_and_check_client_state(
    auth: MicrosoftAuth, fake: FakeGraph, storage: Any, bot_url: str
) -> None:
    account, credentials = await _connected(auth, fake, storage)

    sub = await auth.ensure_subscription(account, credentials, notification_url=bot_url, lifecycle_url=bot_url)

    stored = fake.subscriptions[sub.id]
    assert stored["resource"] == "me/events"
    assert stored["changeType"] == "created,updated,deleted"
    assert stored["notificationUrl"] == bot_url and stored["lifecycleNotificationUrl"] == bot_url
    assert stored["clientState"] == sub.client_state and len(sub.client_state) >= 32
    assert fake.calls("POST", r"/v1.0/subscriptions$")
    record = storage.credentials.get(account.id)
    assert record["subscription"]["id"] == sub.id and "token_cache" in record
    with storage.engine.connect() as conn:
        raw = conn.execute(text("SELECT ciphertext FROM credentials")).scalar_one()
    assert sub.client_state not in raw

    assert await fake.notify(sub.id, change_type="created") == 202
    assert await fake.notify(sub.id, change_type="updated", client_state="forged") == 202
    assert await fake.notify(sub.id, lifecycle_event="reauthorizationRequired") == 202
    assert await fake.notify(sub.id, lifecycle_event="missed") == 202

    assert auth.received == [(account.id, "sync"), (account.id, "renew"), (account.id, "resync")]  # type: ignore[attr-defined]


async def test_renewal_before_expiry(
    auth: MicrosoftAuth, fake: FakeGraph, storage: Any, bot_url: str, clock: Clock
) -> None:
    account, credentials = await _connected(auth, fake, storage)
    sub = await auth.ensure_subscription(account, credentials, notification_url=bot_url)

    same = await auth.ensure_subscription(account, storage.credentials.get(account.id), notification_url=bot_url)
    assert same.id == sub.id and not fake.calls("PATCH", r"/subscriptions/")

    clock.now = sub.expires_at - timedelta(hours=2)  # due: within the 12-hour margin
    renewed = await auth.ensure_subscription(account, storage.credentials.get(account.id), notification_url=bot_url)

    assert renewed.id == sub.id and renewed.expires_at > sub.expires_at
    patch = fake.calls("PATCH", rf"/subscriptions/{sub.id}$")
    assert len(patch) == 1
    assert fake.subscriptions[sub.id]["expirationDateTime"] == patch[0].body["expirationDateTime"]
    assert storage.credentials.get(account.id)["subscription"]["expires_at"] == renewed.expires_at.isoformat()
    # the client state survives the renewal: notifications still count
    assert await fake.notify(sub.id) == 202
    assert auth.received == [(account.id, "sync")]  # type: ignore[attr-defined]


async def test_a_forgotten_subscription_is_created_again(
    auth: MicrosoftAuth, fake: FakeGraph, storage: Any, bot_url: str
) -> None:
    account, credentials = await _connected(auth, fake, storage)
    sub = await auth.ensure_subscription(account, credentials, notification_url=bot_url)
    del fake.subscriptions[sub.id]

    fresh = await auth.renew(account, storage.credentials.get(account.id))

    assert fresh.id != sub.id and fresh.id in fake.subscriptions
    assert await fake.notify(fresh.id) == 202
    assert auth.received == [(account.id, "sync")]  # type: ignore[attr-defined]


async def test_a_route_that_does_not_echo_fails_the_subscription(
    auth: MicrosoftAuth, fake: FakeGraph, storage: Any, bot_url: str
) -> None:
    from bot.scheduling.ports import ProviderError

    account, credentials = await _connected(auth, fake, storage)
    with pytest.raises(ProviderError, match="HTTP 400 ValidationError"):
        await auth.ensure_subscription(account, credentials, notification_url=bot_url.replace("/graph/", "/nothing/"))
    assert fake.subscriptions == {}


def test_check_notifications_is_constant_about_secrets() -> None:
    secrets = {"s1": "right-secret"}
    payload = {
        "value": [
            {"subscriptionId": "s1", "clientState": "right-secret", "changeType": "deleted", "resource": "x"},
            {"subscriptionId": "s1", "clientState": "wrong", "changeType": "created"},
            {"subscriptionId": "s2", "clientState": "right-secret", "changeType": "created"},
            {"subscriptionId": "s1", "changeType": "created"},
            "junk",
        ]
    }
    check = check_notifications(payload, secrets.get)
    assert [(n.subscription_id, n.change_type, n.action) for n in check.accepted] == [("s1", "deleted", "sync")]
    assert check.rejected == 4
    with pytest.raises(ValueError):
        check_notifications({"nope": 1}, secrets.get)


def test_subscription_due() -> None:
    now = datetime(2026, 3, 10, tzinfo=UTC)
    sub = GraphSubscription("s", "me/events", now + timedelta(hours=13), "secret", "https://bot/graph/notifications")
    assert not subscription_due(sub, now=now)
    assert subscription_due(sub, now=now + timedelta(hours=1, minutes=1))
    assert "secret" not in repr(sub)


async def test_periodic_upkeep_subscribes_every_account_and_renews_when_due(
    auth: MicrosoftAuth, fake: FakeGraph, storage: Any, bot_url: str, clock: Clock
) -> None:
    account, _ = await _connected(auth, fake, storage)
    assert await auth.ensure_all_subscriptions(notification_url=bot_url) == 1
    [sub_id] = list(fake.subscriptions)
    assert await auth.ensure_all_subscriptions(notification_url=bot_url) == 1  # nothing due: left alone
    assert not fake.calls("PATCH", r"/subscriptions/")
    saved = storage.credentials.get(account.id)["subscription"]
    clock.now = datetime.fromisoformat(saved["expires_at"]) - timedelta(hours=1)
    assert await auth.ensure_all_subscriptions(notification_url=bot_url) == 1
    assert len(fake.calls("PATCH", rf"/subscriptions/{sub_id}$")) == 1
    storage.calendars.mark_needs_reconnect(account.id, error="invalid_grant")
    assert await auth.ensure_all_subscriptions(notification_url=bot_url) == 0  # a dead account is skipped


async def test_the_server_upkeep_round_covers_microsoft_only_over_https(
    auth: MicrosoftAuth, fake: FakeGraph, storage: Any, bot_url: str, settings: Any
) -> None:
    from dataclasses import replace

    from bot.services.upkeep import push_upkeep

    await _connected(auth, fake, storage)
    plain = SimpleNamespace(settings=replace(settings, public_url="http://bot.example"), microsoft=auth, google=None)
    assert await push_upkeep(plain) == {}  # Graph only notifies https URLs: polling covers it
    assert not fake.subscriptions
    # over https the round subscribes (the fake validates the handshake at the route we really serve)
    auth_url = bot_url.removesuffix("/graph/notifications")
    secure = SimpleNamespace(settings=replace(settings, public_url=auth_url.replace("http://", "https://")),
                             microsoft=auth, google=None)
    import bot.services.upkeep as upkeep

    real = auth.ensure_all_subscriptions

    async def to_loopback(*, notification_url: str) -> int:  # https on the name; the route is plain http here
        assert notification_url.startswith("https://") and notification_url.endswith("/graph/notifications")
        return await real(notification_url=notification_url.replace("https://", "http://"))

    auth.ensure_all_subscriptions = to_loopback  # type: ignore[method-assign]
    assert upkeep.UPKEEP_INTERVAL > 0
    assert await push_upkeep(secure) == {"microsoft": 1}
    assert len(fake.subscriptions) == 1
