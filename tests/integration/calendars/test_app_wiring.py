"""The composition root: CalendarService is the busy source (the demo coach's ICS file still counts), and a
booking event deleted in the coach's calendar cancels the booking and tells both sides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import build_app
from bot.config import Settings
from bot.demo.seed import DEMO_COACH_ID, demo_calendar_path
from bot.handlers.format import range_label
from bot.providers.httpcall import HttpPolicy
from bot.providers.local import IcsFileBusySource
from bot.scheduling.intervals import Interval
from bot.scheduling.model import BookingStatus, Person
from bot.services.booking import Booked, ProposalRequest
from bot.services.calendars import CalendarService
from storage import open_storage
from storage.secrets import generate_key
from tests.integration.calendars.conftest import PASSWORD, USER, Dav, RadicaleServer

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # a Monday morning


async def test_demo_calendar_and_deleted_booking_event(tmp_path: Path, radicale: RadicaleServer, dav: Dav) -> None:
    key = generate_key()
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'app.db'}", data_dir=tmp_path, demo=True,
                        secret_keys=(key,))
    storage = open_storage(settings.database_url, secret_keys=key, migrate=True)
    told: list[tuple[str, str]] = []

    async def notify(person_id: str, text: str) -> None:
        told.append((person_id, text))

    calendars = CalendarService(storage, lambda: NOW, settings=settings, notify=notify,
                                http_policy=HttpPolicy(timeout=5, attempts=2, backoff=0.01),
                                files={DEMO_COACH_ID: [demo_calendar_path()]},
                                file_timezones={DEMO_COACH_ID: "Europe/Berlin"})
    app = build_app(settings, overrides={"storage": storage, "clock": lambda: NOW, "calendars": calendars})
    try:
        assert app.calendars is calendars and app.bookings.busy_source is calendars
        week = Interval(NOW, NOW + timedelta(days=7))
        from_files = await IcsFileBusySource({DEMO_COACH_ID: [demo_calendar_path()]},
                                             timezones={DEMO_COACH_ID: "Europe/Berlin"}).busy(DEMO_COACH_ID, week)
        assert from_files and await calendars.busy(DEMO_COACH_ID, week) == from_files

        # Dana connects a CalDAV calendar that receives bookings
        url = await dav.make_calendar(display="Work")
        account = storage.calendars.add_account(DEMO_COACH_ID, "caldav", "Radicale", now=NOW)
        storage.credentials.put(account.id, {"url": radicale.url, "username": USER, "password": PASSWORD})
        calendar = storage.calendars.upsert_calendar(account.id, url, "Work", pull=True)
        storage.calendars.set_push_calendar(DEMO_COACH_ID, calendar.id)
        storage.people.add(Person(id="ann", display_name="Ann", timezone="America/New_York"))

        proposal = await app.bookings.propose(
            ProposalRequest(coach_id=DEMO_COACH_ID, participant_ids=("ann",), duration=timedelta(minutes=30))
        )
        assert proposal.slots and not proposal.unchecked
        slot = proposal.slots[0]
        booked = await app.bookings.book(coach_id=DEMO_COACH_ID, participant_ids=("ann",),
                                         slot=Interval(slot.start, slot.end), idempotency_key="k1")
        assert isinstance(booked, Booked) and booked.calendar_problems == ()
        # the booking service wrote the event into Dana's push calendar as soon as the booking was confirmed
        [record] = storage.calendars.booking_events(booked.booking.id)
        status, text, _ = await dav.get(record.external_id)
        assert status == 200 and "Session with Ann" in text
        assert (await calendars.sync(account.id)).ok
        await dav.delete(record.external_id)
        report = await calendars.sync(account.id)
        assert report.deleted_bookings == (booked.booking.id,)
        assert storage.bookings.get(booked.booking.id).status == BookingStatus.CANCELLED
        assert {p for p, _ in told} == {DEMO_COACH_ID, "ann"}
        # each side reads the time in their own zone
        start, end = booked.booking.interval.start, booked.booking.interval.end
        [to_ann] = [text for p, text in told if p == "ann"]
        [to_dana] = [text for p, text in told if p == DEMO_COACH_ID]
        assert f"The session on {range_label(start, end, 'America/New_York')} was cancelled" in to_ann
        assert f"You deleted the session on {range_label(start, end, 'Europe/Berlin')}" in to_dana
        assert "UTC" not in to_ann + to_dana

        # cancelling through the service removes the event; moving a booking moves its event
        second = await app.bookings.book(coach_id=DEMO_COACH_ID, participant_ids=("ann",),
                                         slot=Interval(slot.start, slot.end), idempotency_key="k2")
        assert isinstance(second, Booked)
        [first_event] = storage.calendars.booking_events(second.booking.id)
        later = proposal.slots[1]
        moved = await app.bookings.reschedule(second.booking.id, new_slot=Interval(later.start, later.end),
                                              by="ann", idempotency_key="k3")
        assert isinstance(moved, Booked) and moved.calendar_problems == ()
        assert (await dav.get(first_event.external_id))[0] == 404
        [moved_event] = storage.calendars.booking_events(moved.booking.id)
        assert (await dav.get(moved_event.external_id))[0] == 200
        await app.bookings.cancel(moved.booking.id, by="ann")
        assert (await dav.get(moved_event.external_id))[0] == 404
        assert storage.calendars.booking_events(moved.booking.id) == []
        assert (await calendars.sync(account.id)).deleted_bookings == ()  # our own removal is no deletion
    finally:
        await app.aclose()
