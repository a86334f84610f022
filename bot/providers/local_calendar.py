"""The local calendar: a person's bookings, as kept in our own database, and nothing else.

For people who connect no calendar (or want the bot's bookings as their own calendar): its busy time is their
active bookings (held or confirmed).  It is read-only: bookings are written by the booking service, not here,
so ``create_event`` & co. refuse.  The repository is synchronous; calls run in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from bot.scheduling.intervals import Interval
from bot.scheduling.model import Booking, BusyEvent
from bot.scheduling.ports import (
    BookingRepository,
    ChangeSet,
    EventDraft,
    ProviderError,
    RemoteCalendar,
    RemoteEvent,
)

__all__ = ["LOCAL_CALENDAR_ID", "LocalCalendarProvider"]

LOCAL_CALENDAR_ID = "bookings"


class LocalCalendarProvider:
    read_only = True

    def __init__(
        self, bookings: BookingRepository, person_id: str, *, clock: Callable[[], datetime], name: str = "Bookings"
    ) -> None:
        self._bookings = bookings
        self._person_id = person_id
        self._clock = clock
        self._name = name

    def __repr__(self) -> str:
        return f"LocalCalendarProvider({self._person_id!r})"

    async def aclose(self) -> None:
        return None

    def _active(self, window: Interval) -> list[Booking]:
        now = self._clock()
        as_coach = self._bookings.active_for_coach(self._person_id, window, now=now)
        seen = {b.id for b in as_coach}
        others = [
            b
            for b in self._bookings.upcoming_for_person(self._person_id, now=now, limit=500)
            if b.id not in seen and b.interval.overlaps(window) and b.status.active
        ]
        return sorted([*as_coach, *others], key=lambda b: (b.interval.start, b.id))

    @staticmethod
    def _event(booking: Booking) -> RemoteEvent:
        busy = BusyEvent(booking.interval, kind="booking", source=f"booking:{booking.id}")
        return RemoteEvent(external_id=booking.id, busy=busy, booking_id=booking.id)

    async def list_calendars(self) -> list[RemoteCalendar]:
        return [RemoteCalendar(LOCAL_CALENDAR_ID, self._name, read_only=True, primary=True)]

    async def busy(self, calendar_ids: Sequence[str], window: Interval) -> Mapping[str, list[BusyEvent]]:
        bookings = await asyncio.to_thread(self._active, window) if calendar_ids else []
        return {c: [self._event(b).busy for b in bookings] for c in calendar_ids}

    async def changes(self, calendar_id: str, *, token: str | None, window: Interval) -> ChangeSet:
        bookings = await asyncio.to_thread(self._active, window)
        return ChangeSet(tuple(self._event(b) for b in bookings), (), None, full=True)

    async def create_event(self, calendar_id: str, draft: EventDraft) -> RemoteEvent:
        raise ProviderError("the local calendar shows bookings as they are; it is not written to")

    async def update_event(
        self, calendar_id: str, external_id: str, draft: EventDraft, *, etag: str | None
    ) -> RemoteEvent:
        raise ProviderError("the local calendar shows bookings as they are; it is not written to")

    async def delete_event(self, calendar_id: str, external_id: str, *, etag: str | None = None) -> None:
        raise ProviderError("the local calendar shows bookings as they are; it is not written to")
