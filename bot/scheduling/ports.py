"""Interfaces the core owns and the outer layers satisfy: storage repositories and calendar busy sources.

Repositories are synchronous (SQL drivers are); the async booking service runs them in a worker thread.
Implementations are named after their technology (``SqlBookingRepository``); test doubles ``InMemory*``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.scheduling.intervals import Interval
from bot.scheduling.model import (
    Booking,
    BookingStatus,
    BusyEvent,
    CoachSettings,
    Identity,
    Person,
    Poll,
    Vote,
)

__all__ = [
    "BookingConflict",
    "BookingRepository",
    "BusySource",
    "BusyUnavailable",
    "CoachSettingsRepository",
    "ConversationStateRepository",
    "NotFound",
    "PeopleRepository",
    "PollRepository",
    "ProcessedEventRepository",
    "StaleStatus",
]


class NotFound(LookupError):
    """The thing asked for does not exist."""


class BookingConflict(Exception):
    """The time overlaps an active booking of the same coach (the database said so)."""


class StaleStatus(Exception):
    """A compare-and-swap status change found another status than expected."""

    def __init__(self, booking_id: str, expected: BookingStatus, actual: BookingStatus | None) -> None:
        super().__init__(f"booking {booking_id} is {actual}, not {expected}")
        self.booking_id = booking_id
        self.expected = expected
        self.actual = actual


class BusyUnavailable(Exception):
    """A calendar could not be checked; its owner's time must not be read as free."""

    def __init__(self, calendar: str, reason: str) -> None:
        super().__init__(f"could not check {calendar}: {reason}")
        self.calendar = calendar
        self.reason = reason


class BookingRepository(Protocol):
    def insert_if_free(self, booking: Booking, *, now: datetime) -> Booking:
        """Insert an active (held or confirmed) booking, unless it overlaps another active booking of the coach.

        Holds whose ``expires_at`` is not after ``now`` do not count and are marked expired in the same
        transaction.  A second insert with the same idempotency key returns the first booking unchanged.
        Raises ``BookingConflict`` when the time is taken.
        """
        ...

    def get(self, booking_id: str) -> Booking | None: ...

    def set_status(self, booking_id: str, *, expected: BookingStatus, new: BookingStatus, now: datetime) -> Booking:
        """Compare-and-swap the status; raises ``StaleStatus`` (or ``NotFound``) when it is not ``expected``."""
        ...

    def replace(self, old_id: str, new: Booking, *, now: datetime) -> Booking:
        """Reschedule atomically: insert ``new`` (its overlap check ignores the old booking) and mark the old one
        rescheduled, in one transaction.  Raises ``BookingConflict`` or ``StaleStatus``; then nothing changed."""
        ...

    def active_for_coach(self, coach_id: str, window: Interval, *, now: datetime) -> list[Booking]: ...

    def upcoming_for_person(self, person_id: str, *, now: datetime, limit: int = 20) -> list[Booking]:
        """Active bookings, as coach or participant, that end after ``now``, earliest first."""
        ...


class PeopleRepository(Protocol):
    def add(self, person: Person, identities: Sequence[Identity] = ()) -> Person: ...

    def get(self, person_id: str) -> Person | None: ...

    def by_identity(self, identity: Identity) -> Person | None: ...

    def by_handle(self, handle: str) -> Person | None: ...

    def link_identity(self, person_id: str, identity: Identity) -> None: ...

    def update(self, person: Person) -> Person: ...


class CoachSettingsRepository(Protocol):
    def get_settings(self, person_id: str) -> CoachSettings | None: ...

    def save_settings(self, person_id: str, settings: CoachSettings) -> None: ...


class PollRepository(Protocol):
    def add_poll(self, poll: Poll) -> Poll: ...

    def get_poll(self, poll_id: str) -> Poll | None: ...

    def cast_vote(self, poll_id: str, vote: Vote) -> None:
        """One vote per voter and option; casting again replaces it.  Closed polls refuse votes."""
        ...

    def votes(self, poll_id: str) -> list[Vote]: ...

    def close_poll(self, poll_id: str, *, winner_option_id: str | None) -> Poll:
        """Compare-and-swap open -> closed; raises ``StaleStatus``-like ``ValueError`` when already closed."""
        ...


class ConversationStateRepository(Protocol):
    def load_state(self, key: str, *, now: datetime) -> dict[str, object] | None:
        """The state saved under ``key``, or None when there is none or it has expired."""
        ...

    def save_state(self, key: str, state: dict[str, object], *, expires_at: datetime) -> None: ...

    def delete_state(self, key: str) -> None: ...


class ProcessedEventRepository(Protocol):
    def first_time(self, event_id: str, *, now: datetime) -> bool:
        """Record ``event_id``; True only for the first caller ever (atomic, so retries have one effect)."""
        ...


class BusySource(Protocol):
    async def busy(self, person_id: str, window: Interval) -> list[BusyEvent]:
        """Busy time of a person's connected calendars in ``window``; raises ``BusyUnavailable``, never
        returns an empty list for a calendar it could not read."""
        ...
