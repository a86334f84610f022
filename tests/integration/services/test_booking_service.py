"""The booking service end to end on real storage (SQLite, migrated) and real ICS calendars on disk."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.providers.local import IcsFileBusySource
from bot.scheduling.intervals import Interval
from bot.scheduling.model import BookingStatus, CoachSettings, Person, WeeklyHours
from bot.services.booking import (
    Booked,
    BookingError,
    BookingService,
    Held,
    NotAllowed,
    ProposalRequest,
    Taken,
)
from storage import open_storage

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)  # Thursday


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=NY)


def ics(*events: tuple[datetime, datetime]) -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN"]
    for i, (start, end) in enumerate(events):
        lines += [
            "BEGIN:VEVENT",
            f"UID:e{i}@test",
            f"DTSTART:{start.astimezone(UTC):%Y%m%dT%H%M%SZ}",
            f"DTEND:{end.astimezone(UTC):%Y%m%dT%H%M%SZ}",
            "SUMMARY:Secret board meeting",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def world(tmp_path: Path):
    storage = open_storage(f"sqlite:///{tmp_path / 'svc.db'}", migrate=True)
    storage.people.add(Person(id="dana", display_name="Dana Smith", timezone="America/New_York", is_coach=True))
    storage.people.add(Person(id="ann", display_name="Ann", timezone="Europe/Berlin"))
    storage.people.add(Person(id="bob", display_name="Bob", timezone="UTC"))
    hours = WeeklyHours.from_mapping({d: [["09:00", "12:00"], ["13:00", "17:00"]] for d in ("mon", "tue", "wed")})
    storage.coach_settings.save_settings(
        "dana",
        CoachSettings(
            timezone="America/New_York",
            hours=hours,
            buffer_before=timedelta(minutes=15),
            buffer_after=timedelta(minutes=15),
            min_notice=timedelta(hours=4),
            horizon=timedelta(days=30),
        ),
    )
    calendar = tmp_path / "dana.ics"
    calendar.write_text(ics((ny(9, 10), ny(9, 11))))  # Mon 10-11 busy
    clock = Clock(NOW)
    service = BookingService(
        bookings=storage.bookings,
        coach_settings=storage.coach_settings,
        busy_source=IcsFileBusySource({"dana": [calendar]}, timezones={"dana": "America/New_York"}),
        clock=clock,
    )
    yield service, storage, clock, calendar
    storage.close()


MONDAY = Interval(ny(9, 0), ny(10, 0))


async def test_propose_avoids_calendar_busy_time_with_buffers(world):
    service, *_ = world
    proposal = await service.propose(
        ProposalRequest("dana", ("ann",), timedelta(minutes=30), window=Interval(ny(9, 0), ny(10, 0)), max_results=10)
    )
    starts = [s.start.astimezone(NY).strftime("%H:%M") for s in proposal.slots]
    assert starts == ["09:00", "09:15", "11:15", "11:30", "13:00", "13:15", "13:30", "13:45", "14:00", "14:15"]
    assert all(s.participants == ("dana", "ann") for s in proposal.slots)
    assert "Mon 9 Mar 10:00-11:00 busy (dana)" in proposal.explain
    assert not any("Secret" in line for line in proposal.explain)
    assert proposal.coach_timezone == "America/New_York"


async def test_book_then_the_same_slot_is_just_taken_with_alternatives(world):
    service, *_ = world
    slot = Interval(ny(9, 13), ny(9, 13, 30))
    first = await service.book(coach_id="dana", participant_ids=["ann"], slot=slot, idempotency_key="k1")
    assert isinstance(first, Booked) and first.booking.status == BookingStatus.CONFIRMED
    second = await service.book(coach_id="dana", participant_ids=["bob"], slot=slot, idempotency_key="k2")
    assert isinstance(second, Taken)
    assert second.alternatives.slots
    for alt in second.alternatives.slots:  # alternatives keep the booking and its 15-minute buffers clear
        assert alt.end <= ny(9, 12, 45) or alt.start >= ny(9, 13, 45) or alt.start.date() != ny(9, 13).date()
    assert slot.start not in [a.start for a in second.alternatives.slots]


async def test_idempotent_booking_and_double_click(world):
    service, storage, *_ = world
    slot = Interval(ny(9, 14), ny(9, 14, 30))
    held = await service.hold(coach_id="dana", participant_ids=["ann"], slot=slot, idempotency_key="same")
    again = await service.hold(coach_id="dana", participant_ids=["ann"], slot=slot, idempotency_key="same")
    assert isinstance(held, Held) and isinstance(again, Held) and held.booking.id == again.booking.id
    one = await service.confirm(held.booking.id)
    two = await service.confirm(held.booking.id)
    assert isinstance(one, Booked) and isinstance(two, Booked) and one.booking.id == two.booking.id
    assert len(storage.bookings.active_for_coach("dana", Interval(ny(9, 0), ny(10, 0)), now=NOW)) == 1


async def test_expired_hold_loses_the_slot_to_someone_else(world):
    service, storage, clock, _ = world
    slot = Interval(ny(10, 9), ny(10, 9, 30))
    held = await service.hold(coach_id="dana", participant_ids=["ann"], slot=slot, idempotency_key="a")
    assert isinstance(held, Held)
    blocked = await service.hold(coach_id="dana", participant_ids=["bob"], slot=slot, idempotency_key="b")
    assert isinstance(blocked, Taken)
    clock.now = NOW + service.hold_ttl + timedelta(seconds=1)
    winner = await service.book(coach_id="dana", participant_ids=["bob"], slot=slot, idempotency_key="c")
    assert isinstance(winner, Booked)
    late = await service.confirm(held.booking.id)
    assert isinstance(late, Taken)
    assert storage.bookings.get(held.booking.id).status == BookingStatus.EXPIRED


async def test_confirm_rechecks_the_calendar_live(world):
    service, storage, _, calendar = world
    slot = Interval(ny(10, 15), ny(10, 15, 30))
    held = await service.hold(coach_id="dana", participant_ids=["ann"], slot=slot, idempotency_key="x")
    assert isinstance(held, Held)
    calendar.write_text(ics((ny(9, 10), ny(9, 11)), (ny(10, 15, 20), ny(10, 16))))  # a meeting appears
    answer = await service.confirm(held.booking.id)
    assert isinstance(answer, Taken) and answer.reason == "That time was just blocked."
    assert storage.bookings.get(held.booking.id).status == BookingStatus.EXPIRED
    assert all(not s.interval.overlaps(Interval(ny(10, 15), ny(10, 16, 15))) for s in answer.alternatives.slots)


async def test_unreadable_calendar_fails_closed_and_names_it(world):
    service, _, _, calendar = world
    calendar.write_text("this is not a calendar")
    proposal = await service.propose(ProposalRequest("dana", (), timedelta(minutes=30)))
    assert proposal.slots == ()
    assert proposal.unchecked == ("dana.ics",)
    assert proposal.explain[0] == "Could not check dana.ics, so it was treated as busy"


async def test_cancel_only_by_people_in_the_booking(world):
    service, *_ = world
    booked = await service.book(
        coach_id="dana", participant_ids=["ann"], slot=Interval(ny(11, 9), ny(11, 9, 30)), idempotency_key="c1"
    )
    assert isinstance(booked, Booked)
    with pytest.raises(NotAllowed):
        await service.cancel(booked.booking.id, by="bob")
    cancelled = await service.cancel(booked.booking.id, by="ann")
    assert cancelled.status == BookingStatus.CANCELLED
    with pytest.raises(BookingError, match="already cancelled"):
        await service.cancel(booked.booking.id, by="dana")
    again = await service.book(
        coach_id="dana", participant_ids=["bob"], slot=Interval(ny(11, 9), ny(11, 9, 30)), idempotency_key="c2"
    )
    assert isinstance(again, Booked)


async def test_reschedule_is_atomic(world):
    service, storage, *_ = world
    first = await service.book(
        coach_id="dana", participant_ids=["ann"], slot=Interval(ny(9, 9), ny(9, 9, 30)), idempotency_key="r1"
    )
    other = await service.book(
        coach_id="dana", participant_ids=["bob"], slot=Interval(ny(9, 14), ny(9, 14, 30)), idempotency_key="r2"
    )
    assert isinstance(first, Booked) and isinstance(other, Booked)
    clash = await service.reschedule(
        first.booking.id, new_slot=Interval(ny(9, 14, 15), ny(9, 14, 45)), by="ann", idempotency_key="r3"
    )
    assert isinstance(clash, Taken)
    assert storage.bookings.get(first.booking.id).status == BookingStatus.CONFIRMED
    moved = await service.reschedule(
        first.booking.id, new_slot=Interval(ny(10, 9), ny(10, 9, 30)), by="ann", idempotency_key="r4"
    )
    assert isinstance(moved, Booked) and moved.replaced is not None
    assert storage.bookings.get(first.booking.id).status == BookingStatus.RESCHEDULED
    assert moved.booking.rescheduled_from == first.booking.id
    # a move to an overlapping time of its own old slot is fine: the old one is released in the same transaction
    nudged = await service.reschedule(
        moved.booking.id, new_slot=Interval(ny(10, 9, 15), ny(10, 9, 45)), by="dana", idempotency_key="r5"
    )
    assert isinstance(nudged, Booked)


async def test_fifty_concurrent_bookings_of_one_slot_make_one_booking(world):
    service, storage, *_ = world
    slot = Interval(ny(16, 9), ny(16, 9, 30))
    answers = await asyncio.gather(
        *(
            service.book(coach_id="dana", participant_ids=["ann"], slot=slot, idempotency_key=f"race-{i}")
            for i in range(50)
        )
    )
    assert sum(isinstance(a, Booked) for a in answers) == 1
    assert sum(isinstance(a, Taken) for a in answers) == 49
    assert len(storage.bookings.active_for_coach("dana", Interval(ny(16, 0), ny(17, 0)), now=NOW)) == 1


async def test_past_and_unknown(world):
    service, *_ = world
    with pytest.raises(BookingError, match="already past"):
        await service.hold(
            coach_id="dana", participant_ids=[], slot=Interval(ny(2, 9), ny(2, 9, 30)), idempotency_key="p"
        )
    with pytest.raises(BookingError, match="not set up coaching hours"):
        await service.propose(ProposalRequest("ann", (), timedelta(minutes=30)))
