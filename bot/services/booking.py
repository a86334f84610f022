"""The booking service: propose, hold, confirm, cancel, reschedule.  Surface-neutral and async.

Repositories are synchronous and run in a worker thread; calendars are read through a ``BusySource``.
The database has the last word on double booking (an exclusion constraint or an IMMEDIATE transaction);
this service turns its "no" into a friendly "just taken" with fresh alternatives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from bot.scheduling.intervals import Interval
from bot.scheduling.model import (
    Booking,
    BookingStatus,
    BusyEvent,
    CoachSettings,
    Participant,
    Policy,
    Slot,
    SlotRequest,
    WeeklyHours,
)
from bot.scheduling.ports import (
    BookingConflict,
    BookingRepository,
    BusySource,
    BusyUnavailable,
    CoachSettingsRepository,
    NotFound,
    StaleStatus,
)
from bot.scheduling.search import find_slots

__all__ = [
    "Booked",
    "BookingError",
    "BookingService",
    "CalendarWriter",
    "Held",
    "NotAllowed",
    "Proposal",
    "ProposalRequest",
    "Taken",
]

T = TypeVar("T")
log = logging.getLogger(__name__)


class BookingError(Exception):
    """Something the person asked for cannot be done; the message says what and why, in plain words."""


class NotAllowed(BookingError):
    """The person asking is neither the coach nor a participant of the booking."""


@dataclass(frozen=True, slots=True)
class ProposalRequest:
    coach_id: str
    participant_ids: tuple[str, ...]
    duration: timedelta
    window: Interval | None = None  # None: from now until the coach's horizon
    max_results: int = 5


@dataclass(frozen=True, slots=True)
class Proposal:
    slots: tuple[Slot, ...]
    explain: tuple[str, ...]
    unchecked: tuple[str, ...] = ()  # calendars that could not be read: their owners were treated as busy
    coach_timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class Held:
    booking: Booking


@dataclass(frozen=True, slots=True)
class Booked:
    booking: Booking
    replaced: Booking | None = None
    # Sentences about calendar write-back that failed ("could not add it to Dana's Google calendar"); the booking
    # itself stands either way, and the next sync retries nothing: the person is told instead.
    calendar_problems: tuple[str, ...] = ()


class CalendarWriter(Protocol):
    """Writes booking events into people's push calendars (``CalendarService``); never raises for a provider."""

    async def write_booking(self, booking: Booking) -> list[str]: ...

    async def remove_booking(self, booking: Booking) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class Taken:
    """The time went to someone else (or a calendar event appeared); here are fresh alternatives."""

    alternatives: Proposal
    reason: str = "That time was just taken."


@dataclass
class BookingService:
    bookings: BookingRepository
    coach_settings: CoachSettingsRepository
    busy_source: BusySource
    clock: Callable[[], datetime]
    policy: Policy = field(default_factory=Policy)
    hold_ttl: timedelta = timedelta(minutes=10)
    new_id: Callable[[], str] = field(default=lambda: uuid.uuid4().hex)
    # A calendar that has not answered after ``busy_timeout`` seconds is reported unchecked (and its owner treated
    # as busy) instead of holding up the answer; ``calendar_label`` names it for people (runs in a worker thread).
    busy_timeout: float | None = 20.0
    calendar_label: Callable[[str], str] = field(default=lambda person_id: f"the calendar of {person_id}")
    # Booking events written to (and removed from) push calendars after the database has the final word.
    calendar_writer: CalendarWriter | None = None
    write_timeout: float = 30.0

    async def _write_back(self, booking: Booking, *, remove: bool = False) -> tuple[str, ...]:
        if self.calendar_writer is None:
            return ()
        action = self.calendar_writer.remove_booking if remove else self.calendar_writer.write_booking
        try:
            return tuple(await asyncio.wait_for(action(booking), self.write_timeout))
        except Exception as exc:  # the booking stands; say what could not be written
            log.warning("calendar write-back for booking %s failed: %s", booking.id, type(exc).__name__)
            return ("I could not update the calendar event for this session; it is booked all the same.",)

    async def _db(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def settings_for(self, coach_id: str) -> CoachSettings:
        settings = await self._db(self.coach_settings.get_settings, coach_id)
        if settings is None:
            raise BookingError("That person has not set up coaching hours yet, so no times can be offered.")
        return settings

    # --- propose -----------------------------------------------------------------------------------------

    async def propose(self, request: ProposalRequest) -> Proposal:
        settings = await self.settings_for(request.coach_id)
        now = self.clock()
        duration_minutes = int(request.duration.total_seconds() // 60)
        if duration_minutes <= 0:
            raise BookingError("A session needs a length, e.g. 30 minutes.")
        window = request.window or Interval(now, now + settings.horizon)
        if window.end <= now:
            return Proposal((), ("That time is already past.",), coach_timezone=settings.timezone)
        people = (request.coach_id, *[p for p in request.participant_ids if p != request.coach_id])
        busy, unchecked = await self._busy_for(people, window, now=now)
        participants: list[Participant] = []
        for person_id in people:
            events = busy.get(person_id)
            if events is None:  # a calendar could not be read: fail closed, this person is busy throughout
                events = [BusyEvent(window)]
            if person_id == request.coach_id:
                participants.append(
                    Participant(
                        id=person_id,
                        timezone=settings.timezone,
                        hours=settings.hours,
                        busy=tuple(events),
                        buffer_before=settings.buffer_before,
                        buffer_after=settings.buffer_after,
                        all_day_blocks=settings.all_day_blocks,
                        tentative_blocks=settings.tentative_blocks,
                        max_per_day=settings.max_per_day,
                        max_per_week=settings.max_per_week,
                    )
                )
            else:
                other = await self._db(self.coach_settings.get_settings, person_id)
                participants.append(
                    Participant(
                        id=person_id,
                        timezone=other.timezone if other else settings.timezone,
                        hours=other.hours if other else WeeklyHours.always(),
                        busy=tuple(events),
                    )
                )
        slot_request = SlotRequest(
            now=now,
            duration=request.duration,
            window=window,
            participants=tuple(participants),
            min_notice=settings.min_notice,
            horizon=settings.horizon,
            max_results=request.max_results,
            policy=self.policy,
        )
        result = find_slots(slot_request)
        explain = result.explain
        if unchecked:
            explain = (*(f"Could not check {name}, so it was treated as busy" for name in unchecked), *explain)
        return Proposal(result.slots, explain, tuple(unchecked), settings.timezone)

    async def _busy_for(
        self, people: Sequence[str], window: Interval, *, now: datetime
    ) -> tuple[dict[str, list[BusyEvent]], list[str]]:
        """Calendar busy time plus existing bookings for each person; a person whose calendar failed is left out."""
        results = await asyncio.gather(
            *(asyncio.wait_for(self.busy_source.busy(person_id, window), self.busy_timeout) for person_id in people),
            return_exceptions=True,
        )
        busy: dict[str, list[BusyEvent]] = {}
        unchecked: list[str] = []
        for person_id, result in zip(people, results, strict=True):
            if isinstance(result, BusyUnavailable):
                unchecked.append(result.calendar)
                continue
            if isinstance(result, TimeoutError):
                unchecked.append(await self._db(self.calendar_label, person_id))
                continue
            if isinstance(result, BaseException):
                unchecked.append(f"the calendar of {person_id}")
                continue
            busy[person_id] = list(result)
        for person_id in busy:
            for booking in await self._db(self._active_bookings_of, person_id, window, now):
                busy[person_id].append(BusyEvent(booking.interval, kind="booking", source=f"booking:{booking.id}"))
        return busy, unchecked

    def _active_bookings_of(self, person_id: str, window: Interval, now: datetime) -> list[Booking]:
        as_coach = self.bookings.active_for_coach(person_id, window, now=now)
        seen = {b.id for b in as_coach}
        others = [
            b
            for b in self.bookings.upcoming_for_person(person_id, now=now, limit=500)
            if b.id not in seen and b.interval.overlaps(window)
        ]
        return [*as_coach, *others]

    # --- hold and confirm --------------------------------------------------------------------------------

    async def hold(
        self, *, coach_id: str, participant_ids: Sequence[str], slot: Interval, idempotency_key: str
    ) -> Held | Taken:
        """Reserve the time for ``hold_ttl`` while the person confirms."""
        settings = await self.settings_for(coach_id)
        now = self.clock()
        if slot.start < now:
            raise BookingError("That time is already past; pick another.")
        booking = Booking(
            id=self.new_id(),
            coach_id=coach_id,
            participant_ids=tuple(participant_ids),
            interval=slot,
            status=BookingStatus.HELD,
            idempotency_key=idempotency_key,
            created_at=now,
            expires_at=now + self.hold_ttl,
            buffer_before=settings.buffer_before,
            buffer_after=settings.buffer_after,
        )
        try:
            stored = await self._db(self.bookings.insert_if_free, booking, now=now)
        except BookingConflict:
            return await self._taken(coach_id, participant_ids, slot)
        return Held(stored)

    async def confirm(self, hold_id: str) -> Booked | Taken:
        """Turn a hold into a booking, after a live look at the calendars; a lost race answers ``Taken``."""
        hold = await self._db(self.bookings.get, hold_id)
        if hold is None:
            raise BookingError("That choice is no longer available; ask for new times.")
        if hold.status == BookingStatus.CONFIRMED:
            return Booked(hold)  # a double click: the first one booked it
        if hold.status != BookingStatus.HELD:
            return await self._taken(hold.coach_id, hold.participant_ids, hold.interval)
        now = self.clock()
        if not await self._still_free(hold, now=now):
            await self._release(hold, now=now)
            return await self._taken(
                hold.coach_id, hold.participant_ids, hold.interval, reason="That time was just blocked."
            )
        try:
            booked = await self._db(
                self.bookings.set_status,
                hold.id,
                expected=BookingStatus.HELD,
                new=BookingStatus.CONFIRMED,
                now=now,
            )
        except StaleStatus as stale:
            if stale.actual == BookingStatus.CONFIRMED:
                current = await self._db(self.bookings.get, hold.id)
                if current is not None:
                    return Booked(current)
            return await self._taken(hold.coach_id, hold.participant_ids, hold.interval)
        return Booked(booked, calendar_problems=await self._write_back(booked))

    async def book(
        self, *, coach_id: str, participant_ids: Sequence[str], slot: Interval, idempotency_key: str
    ) -> Booked | Taken:
        held = await self.hold(
            coach_id=coach_id, participant_ids=participant_ids, slot=slot, idempotency_key=idempotency_key
        )
        if isinstance(held, Taken):
            return held
        return await self.confirm(held.booking.id)

    async def _still_free(self, booking: Booking, *, now: datetime) -> bool:
        """Live re-check of the calendars (not the bookings table: the database guards that)."""
        settings = await self.settings_for(booking.coach_id)
        padded = Interval(booking.start - settings.buffer_before, booking.end + settings.buffer_after)
        for person_id in (booking.coach_id, *booking.participant_ids):
            try:
                events = await asyncio.wait_for(self.busy_source.busy(person_id, padded), self.busy_timeout)
            except Exception:
                return False  # fail closed: a calendar we cannot read is not proof of free time
            for event in events:
                if event.transparency == "transparent" or event.status == "cancelled":
                    continue
                if event.kind == "booking" and event.source == f"booking:{booking.id}":
                    continue
                window = booking.interval if person_id != booking.coach_id else padded
                if event.interval.overlaps(window):
                    return False
        return True

    async def _release(self, hold: Booking, *, now: datetime) -> None:
        with contextlib.suppress(StaleStatus, NotFound):
            await self._db(
                self.bookings.set_status, hold.id, expected=BookingStatus.HELD, new=BookingStatus.EXPIRED, now=now
            )

    async def _taken(
        self,
        coach_id: str,
        participant_ids: Sequence[str],
        slot: Interval,
        *,
        reason: str = "That time was just taken.",
    ) -> Taken:
        now = self.clock()
        start = max(now, slot.start - timedelta(days=1))
        window = Interval(start, max(start, slot.end) + timedelta(days=7))
        alternatives = await self.propose(
            ProposalRequest(
                coach_id=coach_id,
                participant_ids=tuple(participant_ids),
                duration=slot.duration,
                window=window,
                max_results=5,
            )
        )
        return Taken(alternatives, reason)

    # --- cancel and reschedule ---------------------------------------------------------------------------

    async def _owned(self, booking_id: str, by: str) -> Booking:
        booking = await self._db(self.bookings.get, booking_id)
        if booking is None:
            raise BookingError("There is no such booking.")
        if by != booking.coach_id and by not in booking.participant_ids:
            raise NotAllowed("Only the coach or a participant can change this booking.")
        return booking

    async def cancel(self, booking_id: str, *, by: str) -> Booking:
        booking = await self._owned(booking_id, by)
        if not booking.status.active:
            raise BookingError(f"That booking is already {booking.status.value}.")
        now = self.clock()
        try:
            cancelled = await self._db(
                self.bookings.set_status, booking.id, expected=booking.status, new=BookingStatus.CANCELLED, now=now
            )
        except StaleStatus as stale:
            raise BookingError(f"That booking is already {stale.actual}.") from None
        await self._write_back(cancelled, remove=True)
        return cancelled

    async def reschedule(self, booking_id: str, *, new_slot: Interval, by: str, idempotency_key: str) -> Booked | Taken:
        """Move a booking: the new time is confirmed and the old one released in one transaction."""
        old = await self._owned(booking_id, by)
        if old.status != BookingStatus.CONFIRMED:
            raise BookingError(f"Only a confirmed booking can be moved; this one is {old.status.value}.")
        now = self.clock()
        if new_slot.start < now:
            raise BookingError("That time is already past; pick another.")
        new = replace(
            old,
            id=self.new_id(),
            interval=new_slot,
            status=BookingStatus.CONFIRMED,
            idempotency_key=idempotency_key,
            created_at=now,
            expires_at=None,
            rescheduled_from=old.id,
        )
        if not await self._still_free(new, now=now):
            return await self._taken(old.coach_id, old.participant_ids, new_slot, reason="That time is not free.")
        try:
            stored = await self._db(self.bookings.replace, old.id, new, now=now)
        except BookingConflict:
            return await self._taken(old.coach_id, old.participant_ids, new_slot)
        except StaleStatus as stale:
            raise BookingError(f"That booking is now {stale.actual}; it was not moved.") from None
        return Booked(stored, replaced=old, calendar_problems=await self._write_back(stored))
