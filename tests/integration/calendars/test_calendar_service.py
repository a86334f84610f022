"""CalendarService on real storage (SQLite) and a real Radicale: busy, fail closed, reconnect, write-back, sync."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.providers.httpcall import HttpPolicy
from bot.scheduling.intervals import Interval
from bot.scheduling.model import Booking, BookingStatus, CoachSettings, Person
from bot.scheduling.ports import BusyUnavailable
from bot.services.calendars import CalendarService
from storage import open_storage
from storage.secrets import generate_key
from tests.integration.calendars.conftest import PASSWORD, USER, Dav, RadicaleServer, start_radicale
from tests.integration.calendars.test_caldav_provider import ALL_DAY, MARCH, TENTATIVE, TRANSPARENT, utc

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
FAST = HttpPolicy(timeout=5, attempts=2, backoff=0.01)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class World:
    def __init__(self, tmp_path: Path) -> None:
        self.storage = open_storage(f"sqlite:///{tmp_path / 'cal.db'}", secret_keys=generate_key(), migrate=True)
        self.storage.people.add(
            Person(id="dana", display_name="Dana", timezone="Europe/Berlin", is_coach=True, email=USER)
        )
        self.storage.people.add(Person(id="ann", display_name="Ann", timezone="UTC"))
        self.storage.coach_settings.save_settings("dana", CoachSettings(timezone="Europe/Berlin"))
        self.clock = Clock(NOW)
        self.told: list[tuple[str, str]] = []
        self.deleted: list[str] = []

        async def notify(person_id: str, text: str) -> None:
            self.told.append((person_id, text))

        async def on_deleted(booking_id: str) -> None:
            self.deleted.append(booking_id)

        self.service = CalendarService(
            self.storage, self.clock, notify=notify, on_booking_event_deleted=on_deleted, http_policy=FAST
        )

    def connect(self, server_url: str, calendar_url: str, *, password: str = PASSWORD, push: bool = True) -> Any:
        repo = self.storage.calendars
        account = repo.add_account("dana", "caldav", "Radicale", now=NOW)
        self.storage.credentials.put(account.id, {"url": server_url, "username": USER, "password": password})
        calendar = repo.upsert_calendar(account.id, calendar_url, "Work", pull=True)
        if push:
            repo.set_push_calendar("dana", calendar.id)
        return account, calendar

    def booking(self, booking_id: str, start: str, minutes: int = 60) -> Booking:
        begin = utc(start)
        booking = Booking(
            id=booking_id,
            coach_id="dana",
            participant_ids=("ann",),
            interval=Interval(begin, begin + timedelta(minutes=minutes)),
            status=BookingStatus.CONFIRMED,
            idempotency_key=f"key-{booking_id}",
            created_at=NOW,
        )
        return self.storage.bookings.insert_if_free(booking, now=NOW)




async def test_busy_over_the_pulled_calendars_and_the_cache(world: World, radicale: RadicaleServer, dav: Dav) -> None:
    url = await dav.make_calendar(display="Work")
    await dav.put(url, "t", TENTATIVE)
    await dav.put(url, "x", TRANSPARENT)
    await dav.put(url, "d", ALL_DAY)
    world.connect(radicale.url, url)
    busy = await world.service.busy("dana", MARCH)
    assert [(b.start, b.status, b.transparency, b.all_day) for b in busy] == [
        (utc("2026-03-04 12:00"), "confirmed", "transparent", False),
        (utc("2026-03-04 15:00"), "tentative", "opaque", False),
        (utc("2026-03-04 23:00"), "confirmed", "opaque", True),  # all day in the coach's zone (Berlin)
    ]
    # a wide query is cached: a change on the server shows in a live (short) query, and in the wide one after sync
    await dav.put(url, "new", TENTATIVE.replace("tent-1", "tent-2").replace("T15", "T17").replace("T16", "T18"))
    assert len(await world.service.busy("dana", MARCH)) == 3
    short = Interval(utc("2026-03-04 16:30"), utc("2026-03-04 18:30"))
    assert [b.start for b in await world.service.busy("dana", short)] == [utc("2026-03-04 17:00")]
    account = world.storage.calendars.accounts_for_person("dana")[0]
    report = await world.service.sync(account.id)
    assert report.ok, report.error
    assert len(await world.service.busy("dana", MARCH)) == 4
    assert world.storage.calendars.get_account(account.id).last_synced_at == NOW
    assert await world.service.busy("ann", MARCH) == []  # no calendars: nothing busy


async def test_wrong_password_marks_the_account_and_tells_the_owner_once(
    world: World, radicale: RadicaleServer, dav: Dav
) -> None:
    url = await dav.make_calendar(display="Work")
    account, _ = world.connect(radicale.url, url, password="revoked")
    with pytest.raises(BusyUnavailable) as caught:
        await world.service.busy("dana", MARCH)
    assert "Work (CalDAV)" in caught.value.calendar
    stored = world.storage.calendars.get_account(account.id)
    assert stored.status == "needs_reconnect" and "401" in (stored.last_error or "")
    assert len(world.told) == 1 and world.told[0][0] == "dana"
    assert "Your CalDAV calendar needs reconnecting" in world.told[0][1]
    assert "revoked" not in world.told[0][1]
    with pytest.raises(BusyUnavailable, match="needs reconnecting"):
        await world.service.busy("dana", MARCH)
    assert len(world.told) == 1  # told once
    report = await world.service.sync(account.id)
    assert not report.ok


async def test_a_stopped_server_fails_closed_naming_the_calendar(world: World, tmp_path: Path, dav: Dav) -> None:
    server = start_radicale(tmp_path / "short-lived")
    try:
        own = Dav(server.url, dav.session)
        url = await own.make_calendar(display="Work")
        await own.put(url, "t", TENTATIVE)
        account, _ = world.connect(server.url, url)
        assert len(await world.service.busy("dana", MARCH, live=True)) == 1
        server.stop()
        with pytest.raises(BusyUnavailable) as caught:
            await world.service.busy("dana", MARCH, live=True)
        assert caught.value.calendar == "Work (CalDAV)"
        assert "tried 2 times" in caught.value.reason
        stored = world.storage.calendars.get_account(account.id)
        assert stored.status == "ok" and stored.last_error  # recoverable: not marked for reconnecting
        assert world.told == []
    finally:
        server.stop()


async def test_write_back_is_idempotent_survives_a_conflict_and_is_removed(
    world: World, radicale: RadicaleServer, dav: Dav
) -> None:
    url = await dav.make_calendar(display="Work")
    _, calendar = world.connect(radicale.url, url)
    booking = world.booking("b1", "2026-03-10 09:00")
    assert await world.service.write_booking(booking) == []
    assert await world.service.write_booking(booking) == []  # again: still one event
    records = world.storage.calendars.booking_events("b1")
    assert len(records) == 1 and records[0].calendar_id == calendar.id
    status, text, _ = await dav.get(records[0].external_id)
    assert status == 200 and "Session with Ann" in text and "X-SCHEDBOT-BOOKING:b1" in text
    # the coach edits the event on their phone: our etag is stale; the next write refetches and wins
    await dav.put(url, records[0].external_id.rsplit("/", 1)[-1].removesuffix(".ics"),
                  text.replace("Session with Ann", "Session with Ann (bring notes)"))
    assert await world.service.write_booking(booking) == []
    status, text, new_etag = await dav.get(records[0].external_id)
    assert "Session with Ann" in text and "bring notes" not in text
    assert world.storage.calendars.booking_events("b1")[0].etag == new_etag
    # our own booking event does not count as calendar busy time (the bookings table does)
    assert await world.service.busy("dana", MARCH) == []
    assert await world.service.remove_booking(booking) == []
    assert (await dav.get(records[0].external_id))[0] == 404
    assert world.storage.calendars.booking_events("b1") == []


async def test_a_booking_event_deleted_in_the_calendar_cancels_once(
    world: World, radicale: RadicaleServer, dav: Dav
) -> None:
    url = await dav.make_calendar(display="Work")
    account, calendar = world.connect(radicale.url, url)
    first = world.booking("b2", "2026-03-10 09:00")
    second = world.booking("b3", "2026-03-11 09:00")
    await world.service.write_booking(first)
    await world.service.write_booking(second)
    assert (await world.service.sync(account.id)).ok
    assert world.deleted == []
    token = world.storage.calendars.get_calendar(calendar.id).sync_token
    assert token
    await dav.delete(world.storage.calendars.booking_events("b2")[0].external_id)
    report = await world.service.sync(account.id)  # incremental: the deletion is listed
    assert report.ok and report.deleted_bookings == ("b2",)
    assert world.deleted == ["b2"]
    assert (await world.service.sync(account.id)).deleted_bookings == ()
    # an invalid sync token -> full resync; a deletion found by absence from the listing
    await dav.delete(world.storage.calendars.booking_events("b3")[0].external_id)
    world.storage.calendars.save_sync_state(calendar.id, sync_token="http://radicale.org/ns/sync/bogus")
    report = await world.service.sync(account.id)
    assert report.ok and report.deleted_bookings == ("b3",)
    assert world.deleted == ["b2", "b3"]
    assert world.storage.calendars.get_calendar(calendar.id).sync_token not in (None, token)


async def test_removing_our_own_event_is_not_a_deletion_by_the_coach(
    world: World, radicale: RadicaleServer, dav: Dav
) -> None:
    url = await dav.make_calendar(display="Work")
    account, _ = world.connect(radicale.url, url)
    booking = world.booking("b4", "2026-03-10 09:00")
    await world.service.write_booking(booking)
    assert (await world.service.sync(account.id)).ok
    await world.service.remove_booking(booking)
    report = await world.service.sync(account.id)
    assert report.ok and report.deleted_bookings == () and world.deleted == []
