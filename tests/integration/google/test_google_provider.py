"""GoogleProvider against the loopback Calendar v3 fake: the production code path, only the base URL differs."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from bot.config import Settings
from bot.providers.google import (
    BOOKING_PROPERTY,
    GoogleApiError,
    GoogleProvider,
    RetryPolicy,
    event_id_for_booking,
    make_google_provider,
    parse_notification,
    push_address,
    verify_notification,
)
from bot.scheduling.intervals import Interval
from bot.scheduling.model import BUSY_ALL_DAY, BUSY_BOOKING, BUSY_CANCELLED, BUSY_TENTATIVE, BUSY_TRANSPARENT
from bot.scheduling.ports import EventDraft, NeedsReconnect, ProviderError, SyncTokenInvalid, WriteConflict
from tests.fakes.google_api import FakeGoogle
from tests.integration.google.conftest import SCOPE_READONLY, Sleeps

MakeProvider = Callable[..., GoogleProvider]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


WINDOW = Interval(utc("2026-03-09T00:00:00Z"), utc("2026-03-23T00:00:00Z"))


def timed(event_id: str, start: str, end: str, **extra: Any) -> dict[str, Any]:
    return {"id": event_id, "summary": "private title", "start": {"dateTime": start}, "end": {"dateTime": end},
            **extra}


def draft(booking_id: str = "bk-1", start: str = "2026-03-10T14:00:00Z", minutes: int = 30) -> EventDraft:
    begin = utc(start)
    return EventDraft(booking_id=booking_id, interval=Interval(begin, begin + timedelta(minutes=minutes)),
                      title="Coaching: Sam / Dana", timezone="Europe/Berlin", attendees=("sam@example.com",))


# ------------------------------------------------------------------------------------------------ calendars


async def test_list_calendars(fake: FakeGoogle, make_provider: MakeProvider) -> None:
    fake.add_calendar("coach@example.com", "Coach", time_zone="Europe/Berlin", primary=True)
    fake.add_calendar("team@group.calendar.google.com", "Team", access_role="reader")
    fake.page_size = 1  # forces calendarList paging
    calendars = await make_provider().list_calendars()
    by_id = {c.external_id: c for c in calendars}
    assert set(by_id) == {"coach@example.com", "team@group.calendar.google.com"}
    assert by_id["coach@example.com"].primary and not by_id["coach@example.com"].read_only
    assert by_id["coach@example.com"].timezone == "Europe/Berlin"
    assert by_id["team@group.calendar.google.com"].read_only
    assert by_id["team@group.calendar.google.com"].name == "Team"


async def test_read_only_scope_refuses_writes(fake: FakeGoogle, make_provider: MakeProvider) -> None:
    fake.add_calendar("coach@example.com", "Coach", primary=True)
    provider = make_provider(scopes=(SCOPE_READONLY,))
    assert provider.read_only
    assert all(c.read_only for c in await provider.list_calendars())
    with pytest.raises(ProviderError, match="read-only"):
        await provider.create_event("coach@example.com", draft())
    assert not fake.calls("POST", r"/events$")


# ------------------------------------------------------------------------------------------------ freeBusy


async def test_freebusy_batches_of_50(fake: FakeGoogle, make_provider: MakeProvider) -> None:
    ids = [f"cal{i}@example.com" for i in range(60)]
    for cid in ids:
        fake.add_calendar(cid, cid)
    fake.put_event(ids[0], timed("a1", "2026-03-10T09:00:00Z", "2026-03-10T10:00:00Z"))
    fake.put_event(ids[59], timed("b1", "2026-03-11T09:00:00+01:00", "2026-03-11T10:30:00+01:00"))
    busy = await make_provider().busy(ids, WINDOW)
    calls = fake.calls("POST", "/freeBusy$")
    assert [len(c.body["items"]) for c in calls] == [50, 10]
    assert set(busy) == set(ids)
    assert [(b.interval.start, b.interval.end) for b in busy[ids[0]]] == [
        (utc("2026-03-10T09:00:00Z"), utc("2026-03-10T10:00:00Z"))
    ]
    assert [(b.interval.start, b.interval.end) for b in busy[ids[59]]] == [
        (utc("2026-03-11T08:00:00Z"), utc("2026-03-11T09:30:00Z"))
    ]
    assert busy[ids[30]] == []


async def test_freebusy_calendar_error_is_not_free(fake: FakeGoogle, make_provider: MakeProvider) -> None:
    fake.add_calendar("coach@example.com", "Coach")
    with pytest.raises(ProviderError, match=r"gone@example\.com"):
        await make_provider().busy(["coach@example.com", "gone@example.com"], WINDOW)


# ------------------------------------------------------------------------------------------------ changes


async def test_full_then_incremental_then_410(fake: FakeGoogle, make_provider: MakeProvider) -> None:
    cal = "coach@example.com"
    fake.add_calendar(cal, "Coach")
    for i in range(5):
        fake.put_event(cal, timed(f"ev{i}", f"2026-03-1{i}T09:00:00Z", f"2026-03-1{i}T10:00:00Z"))
    fake.put_event(cal, timed("far", "2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z"))
    fake.page_size = 2
    provider = make_provider()

    first = await provider.changes(cal, token=None, window=WINDOW)
    assert first.full and first.token
    assert sorted(e.external_id for e in first.changed) == ["ev0", "ev1", "ev2", "ev3", "ev4"]
    assert len(fake.calls("GET", "/events$")) == 3  # 5 events, 2 a page
    assert all(e.busy.source == cal and e.etag for e in first.changed)

    fake.put_event(cal, timed("ev1", "2026-03-11T11:00:00Z", "2026-03-11T12:00:00Z"))  # moved
    fake.put_event(cal, timed("new", "2026-03-20T09:00:00Z", "2026-03-20T09:30:00Z"))
    fake.cancel_event(cal, "ev2")
    fake.put_event(cal, timed("ev3", "2026-05-01T09:00:00Z", "2026-05-01T10:00:00Z"))  # moved out of the window
    second = await provider.changes(cal, token=first.token, window=WINDOW)
    assert not second.full
    assert "syncToken" in fake.calls("GET", "/events$")[-1].query
    assert "timeMin" not in fake.calls("GET", "/events$")[-1].query
    changed = {e.external_id: e for e in second.changed}
    assert set(changed) == {"ev1", "new"}
    assert changed["ev1"].busy.interval.start == utc("2026-03-11T11:00:00Z")
    assert set(second.deleted) == {"ev2", "ev3"}

    third = await provider.changes(cal, token=second.token, window=WINDOW)
    assert third.changed == () and third.deleted == ()

    fake.invalidate_sync_tokens()
    with pytest.raises(SyncTokenInvalid):
        await provider.changes(cal, token=third.token, window=WINDOW)
    resync = await provider.changes(cal, token=None, window=WINDOW)
    assert resync.full
    assert sorted(e.external_id for e in resync.changed) == ["ev0", "ev1", "ev4", "new"]


async def test_recurring_instances_exdate_and_override_in_another_zone(
    fake: FakeGoogle, make_provider: MakeProvider
) -> None:
    cal = "coach@example.com"
    fake.add_calendar(cal, "Coach", time_zone="Europe/Berlin")
    base = "weekly1"
    # A weekly series at 15:00 Berlin (14:00Z) on Tuesdays, as singleEvents instances.
    for day in ("10", "17"):
        fake.put_event(cal, {
            "id": f"{base}_202603{day}T140000Z", "recurringEventId": base,
            "originalStartTime": {"dateTime": f"2026-03-{day}T15:00:00+01:00", "timeZone": "Europe/Berlin"},
            "start": {"dateTime": f"2026-03-{day}T15:00:00+01:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": f"2026-03-{day}T16:00:00+01:00", "timeZone": "Europe/Berlin"},
        })
    # The 17th is overridden: moved to 10:00 New York time (after the US DST switch: UTC-4).
    fake.put_event(cal, {
        "id": f"{base}_20260317T140000Z", "recurringEventId": base,
        "originalStartTime": {"dateTime": "2026-03-17T15:00:00+01:00", "timeZone": "Europe/Berlin"},
        "start": {"dateTime": "2026-03-17T10:00:00-04:00", "timeZone": "America/New_York"},
        "end": {"dateTime": "2026-03-17T11:00:00-04:00", "timeZone": "America/New_York"},
    })
    # The 24th... no, the 12th (a Thursday instance of another series) is cancelled like an EXDATE.
    fake.put_event(cal, {
        "id": "daily1_20260312T080000Z", "recurringEventId": "daily1", "status": "cancelled",
        "originalStartTime": {"dateTime": "2026-03-12T09:00:00+01:00", "timeZone": "Europe/Berlin"},
    })
    fake.put_event(cal, {
        "id": "daily1_20260313T080000Z", "recurringEventId": "daily1",
        "start": {"dateTime": "2026-03-13T09:00:00+01:00"}, "end": {"dateTime": "2026-03-13T09:15:00+01:00"},
    })
    provider = make_provider()
    first = await provider.changes(cal, token=None, window=WINDOW)
    got = {e.external_id: e.busy.interval for e in first.changed}
    assert set(got) == {f"{base}_20260310T140000Z", f"{base}_20260317T140000Z", "daily1_20260313T080000Z"}
    assert got[f"{base}_20260310T140000Z"] == Interval(utc("2026-03-10T14:00:00Z"), utc("2026-03-10T15:00:00Z"))
    assert got[f"{base}_20260317T140000Z"] == Interval(utc("2026-03-17T14:00:00Z"), utc("2026-03-17T15:00:00Z"))
    assert all(q.query.get("singleEvents") == "true" for q in fake.calls("GET", "/events$"))

    # Someone deletes one instance ("this event only"): an incremental sync reports it as deleted.
    fake.cancel_event(cal, "daily1_20260313T080000Z")
    second = await provider.changes(cal, token=first.token, window=WINDOW)
    assert second.changed == ()
    assert second.deleted == ("daily1_20260313T080000Z",)


async def test_all_day_transparent_declined_tentative(fake: FakeGoogle, make_provider: MakeProvider) -> None:
    cal = "coach@example.com"
    fake.add_calendar(cal, "Coach", time_zone="Europe/Berlin")
    fake.put_event(cal, {"id": "allday", "start": {"date": "2026-03-11"}, "end": {"date": "2026-03-12"}})
    fake.put_event(cal, timed("free", "2026-03-12T09:00:00Z", "2026-03-12T10:00:00Z", transparency="transparent"))
    fake.put_event(cal, timed("declined", "2026-03-12T11:00:00Z", "2026-03-12T12:00:00Z", attendees=[
        {"email": "boss@example.com", "organizer": True, "responseStatus": "accepted"},
        {"email": "coach@example.com", "self": True, "responseStatus": "declined"},
    ]))
    fake.put_event(cal, timed("maybe", "2026-03-12T13:00:00Z", "2026-03-12T14:00:00Z", attendees=[
        {"email": "coach@example.com", "self": True, "responseStatus": "tentative"},
    ]))
    fake.put_event(cal, timed("busy", "2026-03-12T15:00:00Z", "2026-03-12T16:00:00Z"))
    fake.put_event(cal, timed("ours", "2026-03-12T16:00:00Z", "2026-03-12T16:30:00Z",
                              extendedProperties={"private": {BOOKING_PROPERTY: "bk-9"}}))
    events = {e.external_id: e for e in (await make_provider().changes(cal, token=None, window=WINDOW)).changed}

    allday = events["allday"].busy
    assert allday.all_day and allday.flags & BUSY_ALL_DAY
    assert allday.interval == Interval(utc("2026-03-10T23:00:00Z"), utc("2026-03-11T23:00:00Z"))  # Berlin days
    assert events["free"].busy.flags & BUSY_TRANSPARENT  # the core never counts it
    assert events["declined"].busy.flags & BUSY_CANCELLED  # declined: not busy
    assert events["maybe"].busy.flags & BUSY_TENTATIVE
    assert events["busy"].busy.flags == 0
    assert events["ours"].booking_id == "bk-9" and events["ours"].busy.flags & BUSY_BOOKING
    assert "private title" not in repr(events)


# ------------------------------------------------------------------------------------------------ writes


async def test_insert_twice_makes_one_event(fake: FakeGoogle, make_provider: MakeProvider) -> None:
    cal = "coach@example.com"
    fake.add_calendar(cal, "Coach", primary=True)
    provider = make_provider()
    first = await provider.create_event(cal, draft("bk-1"))
    again = await provider.create_event(cal, draft("bk-1"))  # a retry after a lost answer
    assert first.external_id == again.external_id == event_id_for_booking("bk-1")
    assert len(fake.calendars[cal].events) == 1
    assert [c.query.get("sendUpdates") for c in fake.calls("POST", "/events$")] == ["none", "none"]
    stored = fake.calendars[cal].events[first.external_id]
    assert stored["extendedProperties"]["private"][BOOKING_PROPERTY] == "bk-1"
    assert stored["start"] == {"dateTime": "2026-03-10T15:00:00+01:00", "timeZone": "Europe/Berlin"}
    assert first.booking_id == "bk-1" and first.busy.interval.start == utc("2026-03-10T14:00:00Z")

    # Deleted meanwhile, then retried: the same id is restored rather than failing.
    await provider.delete_event(cal, first.external_id)
    restored = await provider.create_event(cal, draft("bk-1"))
    assert fake.calendars[cal].events[restored.external_id]["status"] == "confirmed"
    assert len(fake.calendars[cal].events) == 1


def test_event_ids_follow_googles_rules() -> None:
    for booking_id in ("bk-1", "0b9c7f0e-5d1a-4c1e-9a53-6f1f3b8f0f11", "x", "Ü" * 400, "y" * 2000):
        event_id = event_id_for_booking(booking_id)
        assert re.fullmatch(r"[a-v0-9]{5,1024}", event_id), event_id
        assert event_id == event_id_for_booking(booking_id)
    assert event_id_for_booking("bk-1") != event_id_for_booking("bk-2")


async def test_update_with_stale_etag_conflicts(fake: FakeGoogle, make_provider: MakeProvider) -> None:
    cal = "coach@example.com"
    fake.add_calendar(cal, "Coach", primary=True)
    provider = make_provider()
    created = await provider.create_event(cal, draft("bk-2"))
    moved = await provider.update_event(cal, created.external_id, draft("bk-2", "2026-03-11T09:00:00Z"),
                                        etag=created.etag)
    assert moved.busy.interval.start == utc("2026-03-11T09:00:00Z") and moved.etag != created.etag
    assert fake.calls("PATCH", "/events/")[-1].body["start"]["dateTime"] == "2026-03-11T10:00:00+01:00"
    with pytest.raises(WriteConflict):
        await provider.update_event(cal, created.external_id, draft("bk-2", "2026-03-12T09:00:00Z"),
                                    etag=created.etag)
    assert fake.calendars[cal].events[created.external_id]["start"]["dateTime"] == "2026-03-11T10:00:00+01:00"


async def test_delete_twice_and_unknown_is_fine(fake: FakeGoogle, make_provider: MakeProvider) -> None:
    cal = "coach@example.com"
    fake.add_calendar(cal, "Coach", primary=True)
    provider = make_provider()
    created = await provider.create_event(cal, draft("bk-3"))
    await provider.delete_event(cal, created.external_id, etag=created.etag)
    await provider.delete_event(cal, created.external_id)  # 410 Gone
    await provider.delete_event(cal, "sbunknown0")  # 404
    assert fake.calendars[cal].events[created.external_id]["status"] == "cancelled"


# ------------------------------------------------------------------------------------------------ faults


async def test_revoked_grant_needs_reconnect(fake: FakeGoogle, make_provider: MakeProvider) -> None:
    fake.add_calendar("coach@example.com", "Coach")
    provider = make_provider()
    fake.revoke_all()  # the access token is dead (401) and the refresh answers invalid_grant
    with pytest.raises(NeedsReconnect):
        await provider.busy(["coach@example.com"], WINDOW)
    assert fake.token_requests[-1]["grant_type"] == "refresh_token"


async def test_expired_access_token_is_refreshed_and_reported(fake: FakeGoogle, make_provider: MakeProvider) -> None:
    fake.add_calendar("coach@example.com", "Coach")
    saved: list[dict[str, Any]] = []
    provider = make_provider(on_credentials_refreshed=saved.append)
    old_token = provider.credentials.token
    fake.expire_access_tokens()
    assert await provider.busy(["coach@example.com"], WINDOW) == {"coach@example.com": []}
    assert len(saved) == 1 and saved[0]["token"] != old_token and saved[0]["refresh_token"]
    assert saved[0]["token"] in fake.access_tokens


async def test_401_after_refresh_needs_reconnect(fake: FakeGoogle, make_provider: MakeProvider) -> None:
    fake.add_calendar("coach@example.com", "Coach")
    fake.fail("POST", "/freeBusy$", 401, times=5, reason="authError")
    with pytest.raises(NeedsReconnect):
        await make_provider().busy(["coach@example.com"], WINDOW)


async def test_429_retry_after_then_success(fake: FakeGoogle, make_provider: MakeProvider, sleeps: Sleeps) -> None:
    fake.add_calendar("coach@example.com", "Coach")
    fake.put_event("coach@example.com", timed("e", "2026-03-10T09:00:00Z", "2026-03-10T10:00:00Z"))
    fake.fail("POST", "/freeBusy$", 429, headers={"Retry-After": "7"}, reason="rateLimitExceeded")
    busy = await make_provider().busy(["coach@example.com"], WINDOW)
    assert len(busy["coach@example.com"]) == 1
    assert sleeps.delays == [7.0]
    assert len(fake.calls("POST", "/freeBusy$")) == 2


async def test_403_rate_limit_backs_off(fake: FakeGoogle, make_provider: MakeProvider, sleeps: Sleeps) -> None:
    fake.add_calendar("coach@example.com", "Coach")
    fake.fail("GET", "/calendarList$", 403, reason="userRateLimitExceeded")
    assert len(await make_provider().list_calendars()) == 1
    assert sleeps.delays == [0.01]


async def test_retry_after_too_long_fails_closed(
    fake: FakeGoogle, make_provider: MakeProvider, sleeps: Sleeps
) -> None:
    fake.add_calendar("coach@example.com", "Coach")
    fake.fail("POST", "/freeBusy$", 429, headers={"Retry-After": "3600"}, reason="rateLimitExceeded")
    with pytest.raises(ProviderError, match="rate-limiting"):
        await make_provider().busy(["coach@example.com"], WINDOW)
    assert sleeps.delays == []


async def test_503_twice_then_success(fake: FakeGoogle, make_provider: MakeProvider, sleeps: Sleeps) -> None:
    fake.add_calendar("coach@example.com", "Coach")
    fake.fail("GET", "/events$", 503, times=2)
    changes = await make_provider().changes("coach@example.com", token=None, window=WINDOW)
    assert changes.full and changes.changed == ()
    assert sleeps.delays == [0.01, 0.02]  # bounded exponential backoff
    assert len(fake.calls("GET", "/events$")) == 3


async def test_5xx_that_persists_is_an_error(fake: FakeGoogle, make_provider: MakeProvider, sleeps: Sleeps) -> None:
    fake.add_calendar("coach@example.com", "Coach")
    fake.fail("POST", "/freeBusy$", 500, times=100)
    with pytest.raises(ProviderError) as raised:
        await make_provider().busy(["coach@example.com"], WINDOW)
    assert not isinstance(raised.value, NeedsReconnect)
    assert sleeps.delays == [0.01, 0.02, 0.04]
    assert len(fake.calls("POST", "/freeBusy$")) == 4


async def test_timeout_is_a_provider_error(fake: FakeGoogle, make_provider: MakeProvider) -> None:
    fake.add_calendar("coach@example.com", "Coach")
    fake.fail("POST", "/freeBusy$", hang=True)
    with pytest.raises(GoogleApiError, match="did not answer"):
        await make_provider(timeout=0.5).busy(["coach@example.com"], WINDOW)


async def test_unreachable_google_is_a_provider_error(settings: Settings, sleeps: Sleeps) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = Settings(database_url=settings.database_url, google_client_id="c", google_client_secret="s",
                    google_api_url=f"http://127.0.0.1:{port}/", google_token_url=f"http://127.0.0.1:{port}/token")
    provider = make_google_provider(None, {"token": "t", "refresh_token": "r"}, dead, sleep=sleeps)
    with pytest.raises(ProviderError):
        await provider.list_calendars()


# ------------------------------------------------------------------------------------------------ push


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    """A stand-in for the bot's notification route: records the headers Google sends."""
    seen: list[dict[str, str]] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/google/notifications", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/google/notifications", seen
    finally:
        await runner.cleanup()


async def test_watch_notify_verify_and_renew(
    fake: FakeGoogle, make_provider: MakeProvider, receiver: tuple[str, list[dict[str, str]]]
) -> None:
    address, seen = receiver
    cal = "coach@example.com"
    fake.add_calendar(cal, "Coach")
    provider = make_provider()
    channel = await provider.watch(cal, address=address, ttl=timedelta(days=7))
    assert fake.channels[channel.channel_id]["token"] == channel.token
    assert channel.expiration > datetime.now(UTC) + timedelta(days=6)

    await fake.notify(channel.channel_id)
    await fake.notify(channel.channel_id, token="forged")
    await fake.notify(channel.channel_id, token="")
    assert [verify_notification(h, channel.token) for h in seen] == [True, False, False]
    note = parse_notification(seen[0])
    assert note is not None and note.channel_id == channel.channel_id and note.state == "exists"
    assert note.resource_id == channel.resource_id

    # Far from expiry: nothing to do.  Near expiry: a new channel first, then the old one stopped.
    assert await provider.renew_if_needed(channel.expiration - timedelta(days=3)) == []
    renewed = await provider.renew_if_needed(channel.expiration - timedelta(hours=1))
    assert len(renewed) == 1
    new = renewed[0]
    assert new.channel_id != channel.channel_id and new.token != channel.token and new.calendar_id == cal
    assert fake.stopped_channels == [channel.channel_id]
    assert set(fake.channels) == {new.channel_id}
    assert provider.channels == {cal: new}
    seen.clear()
    await fake.notify(new.channel_id)
    assert verify_notification(seen[0], new.token) and not verify_notification(seen[0], channel.token)


def test_verify_notification_headers() -> None:
    headers = {"x-goog-channel-token": "s3cret", "X-Goog-Channel-ID": "c1", "X-Goog-Resource-ID": "r1"}
    assert verify_notification(headers, "s3cret")
    assert not verify_notification(headers, "other")
    assert not verify_notification({"X-Goog-Channel-ID": "c1"}, "s3cret")
    assert not verify_notification(headers, "")
    assert parse_notification({"X-Goog-Channel-ID": "c1"}) is None


def test_push_address_needs_a_public_https_url() -> None:
    assert push_address(Settings(database_url="sqlite://")) is None
    assert push_address(Settings(database_url="sqlite://", public_url="http://localhost:3978")) is None
    assert (
        push_address(Settings(database_url="sqlite://", public_url="https://bot.example.com/"))
        == "https://bot.example.com/google/notifications"
    )


# ------------------------------------------------------------------------------------------------ delegation


async def test_domain_wide_delegation(fake: FakeGoogle, settings: Settings, sleeps: Sleeps) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    email = "schedbot@project.iam.gserviceaccount.com"
    fake.service_account_keys[email] = public_pem
    fake.delegation_allowed.add("dana@org.example")
    fake.add_calendar("dana@org.example", "Dana", primary=True)
    info = {"type": "service_account", "client_email": email, "private_key": private_pem, "private_key_id": "k1",
            "token_uri": "https://oauth2.googleapis.com/token", "project_id": "p"}
    retry = RetryPolicy(max_retries=1, base_delay=0.01)

    provider = make_google_provider(
        None, {"type": "service_account", "info": info, "subject": "dana@org.example"}, settings,
        retry=retry, sleep=sleeps,
    )
    calendars = await provider.list_calendars()
    assert [c.external_id for c in calendars] == ["dana@org.example"]
    assert fake.calls("GET", "/calendarList$")[-1].principal == "dana@org.example"
    assert fake.token_requests[-1]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert not provider.read_only
    assert fake.jwt_errors == []  # the assertion's signature checked out

    outsider = make_google_provider(
        None, {"type": "service_account", "info": info, "subject": "eve@elsewhere.example"}, settings,
        retry=retry, sleep=sleeps,
    )
    with pytest.raises(NeedsReconnect):
        await outsider.list_calendars()


async def test_busy_via_events_keeps_details(fake: FakeGoogle, make_provider: MakeProvider) -> None:
    cal = "coach@example.com"
    fake.add_calendar(cal, "Coach")
    fake.put_event(cal, timed("ours", "2026-03-12T16:00:00Z", "2026-03-12T16:30:00Z",
                              extendedProperties={"private": {BOOKING_PROPERTY: "bk-9"}}))
    fake.put_event(cal, timed("free", "2026-03-12T09:00:00Z", "2026-03-12T10:00:00Z", transparency="transparent"))
    busy = await make_provider(busy_via="events").busy([cal], WINDOW)
    assert sorted((b.kind, b.transparency) for b in busy[cal]) == [("booking", "opaque"), ("event", "transparent")]
    assert not fake.calls("POST", "/freeBusy$")


async def test_truncated_listing_is_an_error_not_a_short_list(fake: FakeGoogle, make_provider: MakeProvider) -> None:
    cal = "coach@example.com"
    fake.add_calendar(cal, "Coach")
    for i in range(5):
        fake.put_event(cal, timed(f"ev{i}", f"2026-03-1{i}T09:00:00Z", f"2026-03-1{i}T10:00:00Z"))
    fake.page_size = 2
    fake.fail("GET", "/events$", truncate=True, skip=1)  # page 2 arrives cut off
    with pytest.raises(ProviderError):
        await make_provider().changes(cal, token=None, window=WINDOW)
    fake.fail("POST", "/freeBusy$", truncate=True)
    with pytest.raises(ProviderError):
        await make_provider().busy([cal], WINDOW)
