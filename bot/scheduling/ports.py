"""Interfaces the core owns and the outer layers satisfy: storage repositories and calendar busy sources.

Repositories are synchronous (SQL drivers are); the async booking service runs them in a worker thread.
Implementations are named after their technology (``SqlBookingRepository``); test doubles ``InMemory*``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
    "CalendarProvider",
    "ChangeSet",
    "CoachSettingsRepository",
    "ConversationStateRepository",
    "EventDraft",
    "NeedsReconnect",
    "NotFound",
    "PeopleRepository",
    "PollRepository",
    "ProcessedEventRepository",
    "ProviderError",
    "RemoteCalendar",
    "RemoteEvent",
    "StaleStatus",
    "SyncTokenInvalid",
    "WriteConflict",
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


# ------------------------------------------------------------------------------------------ calendar providers


class ProviderError(Exception):
    """A calendar provider failed (timeout, 5xx after retries, bad answer).  Never read as "free"."""


class NeedsReconnect(ProviderError):
    """The account's credentials no longer work (invalid_grant, 401 after refresh): the owner must reconnect."""


class SyncTokenInvalid(ProviderError):
    """The incremental sync token was refused (Google 410, Graph 410, CalDAV invalid sync-token): resync fully."""


class WriteConflict(ProviderError):
    """An update lost to a newer version of the event (412 Precondition Failed); refetch and try again."""


@dataclass(frozen=True, slots=True)
class RemoteCalendar:
    external_id: str
    name: str
    read_only: bool = False
    primary: bool = False
    timezone: str | None = None

    @property
    def busy_by_default(self) -> bool:
        """Counted as busy until the person picks: their own calendars (primary or writable), not the
        subscriptions and shared calendars they can only read (holidays, a colleague's calendar)."""
        return self.primary or not self.read_only


@dataclass(frozen=True, slots=True)
class RemoteEvent:
    """One event (or one instance of a recurring event) as busy time: no title, ever."""

    external_id: str  # unique within the calendar, per instance ("uid" or "uid@2026-03-10T14:00:00Z")
    busy: BusyEvent
    etag: str | None = None
    booking_id: str | None = None  # set when the event is one of our booking events (our own marker)


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """What changed in a calendar since ``token``; ``full`` means this is a full listing (the first sync or a
    resync after an invalid token): anything known before and not listed here is gone."""

    changed: tuple[RemoteEvent, ...]
    deleted: tuple[str, ...]  # external ids
    token: str | None
    full: bool = False


@dataclass(frozen=True, slots=True)
class EventDraft:
    """The booking event written into the coach's push calendar."""

    booking_id: str  # also the idempotency key: providers derive the event's client-chosen id / UID from it
    interval: Interval
    title: str
    description: str = ""
    timezone: str = "UTC"
    attendees: tuple[str, ...] = ()  # e-mail addresses
    location: str = ""


class CalendarProvider(Protocol):
    """One connected calendar account.  Implementations: ``CalDAVProvider``, ``GoogleProvider``,
    ``GraphProvider``, ``IcsFeedProvider``, ``LocalCalendarProvider``.  Raise ``NeedsReconnect`` for dead
    credentials and ``ProviderError`` for anything else that went wrong: never return "no events" instead.

    Optional members the calendar service uses when present (not part of the Protocol, so no provider has to):
    ``async aclose()`` (release sessions), ``async get_event(calendar_id, external_id) -> RemoteEvent | None``
    (refetch after a ``WriteConflict``; without it the retry is unconditional), and the attributes
    ``default_tz`` (IANA zone for all-day/floating times: the person's, set after construction) and
    ``owner_emails`` (the person's addresses, to drop invitations they declined)."""

    read_only: bool

    async def list_calendars(self) -> list[RemoteCalendar]: ...

    async def busy(self, calendar_ids: Sequence[str], window: Interval) -> Mapping[str, list[BusyEvent]]:
        """Busy time per calendar in ``window`` (free/busy query where the provider has one)."""
        ...

    async def changes(self, calendar_id: str, *, token: str | None, window: Interval) -> ChangeSet:
        """Incremental changes since ``token`` (None: full listing of ``window``); raises ``SyncTokenInvalid``."""
        ...

    async def create_event(self, calendar_id: str, draft: EventDraft) -> RemoteEvent:
        """Create the booking event; a retry with the same ``draft.booking_id`` must not make a second one."""
        ...

    async def update_event(
        self, calendar_id: str, external_id: str, draft: EventDraft, *, etag: str | None
    ) -> RemoteEvent:
        """Move or rewrite the booking event; raises ``WriteConflict`` when ``etag`` is stale (412)."""
        ...

    async def delete_event(self, calendar_id: str, external_id: str, *, etag: str | None = None) -> None:
        """Delete; an event that is already gone is not an error."""
        ...
