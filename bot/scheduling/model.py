"""Value objects of the scheduling core: pure data, validated on construction, timezone-aware.

Nothing here knows about chat surfaces, storage or calendars.  Busy time never carries an event title:
participants only ever see free/busy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.scheduling.intervals import SEARCH_EPOCH, Interval, Span

__all__ = [
    "WEEKDAYS",
    "Booking",
    "BookingStatus",
    "BusyEvent",
    "ClockRange",
    "CoachSettings",
    "Identity",
    "Participant",
    "Person",
    "Policy",
    "Poll",
    "PollOption",
    "Slot",
    "SlotRequest",
    "SlotResult",
    "Vote",
    "VoteChoice",
    "WeeklyHours",
    "load_zone",
    "parse_clock",
]

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def load_zone(name: str) -> ZoneInfo:
    """A ``ZoneInfo`` for an IANA name, with a one-line error for anything else."""
    if not isinstance(name, str) or not name or name.startswith("/") or ".." in name:
        raise ValueError(f"unknown time zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as 'Europe/Berlin')") from None


def parse_clock(text: str, *, allow_24: bool = False) -> int:
    """``"HH:MM"`` -> minutes after local midnight.  ``"24:00"`` only where an end of day is meant."""
    match = _CLOCK.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"bad time {text!r}: expected HH:MM, e.g. '09:30'")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not allow_24)):
        raise ValueError(f"bad time {text!r}: there is no such time of day")
    return hours * 60 + minutes


def format_clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True, slots=True, order=True)
class ClockRange:
    """A range of local wall-clock time within one day, in minutes after midnight; ``end`` may be 1440."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not (0 <= self.start < self.end <= 1440):
            raise ValueError(
                f"bad time range {format_clock(self.start)}-{format_clock(self.end)}: "
                "the end must come after the start, within one day"
            )

    @classmethod
    def parse(cls, start: str, end: str) -> ClockRange:
        return cls(parse_clock(start), parse_clock(end, allow_24=True))

    def to_pair(self) -> tuple[str, str]:
        return (format_clock(self.start), format_clock(self.end))

    def __str__(self) -> str:
        return f"{format_clock(self.start)}-{format_clock(self.end)}"


def _normalize_ranges(ranges: tuple[ClockRange, ...]) -> tuple[ClockRange, ...]:
    """Sorted, overlapping or touching ranges joined."""
    out: list[ClockRange] = []
    for r in sorted(ranges):
        if out and r.start <= out[-1].end:
            if r.end > out[-1].end:
                out[-1] = ClockRange(out[-1].start, r.end)
        else:
            out.append(r)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    """Working hours per weekday (several ranges a day allowed) plus per-date overrides.

    ``days[i]`` holds Monday (0) .. Sunday (6).  An override replaces the weekly ranges of that date;
    an empty override is a day off.
    """

    days: tuple[tuple[ClockRange, ...], ...] = ((),) * 7
    overrides: Mapping[date, tuple[ClockRange, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise ValueError("weekly hours need exactly seven weekdays")
        object.__setattr__(self, "days", tuple(_normalize_ranges(tuple(d)) for d in self.days))
        object.__setattr__(self, "overrides", {d: _normalize_ranges(tuple(r)) for d, r in self.overrides.items()})

    @classmethod
    def always(cls, overrides: Mapping[date, tuple[ClockRange, ...]] | None = None) -> WeeklyHours:
        """Available all day, every day (someone with no working hours of their own), plus any overrides."""
        return cls(tuple((ClockRange(0, 1440),) for _ in range(7)), dict(overrides or {}))

    def ranges_on(self, day: date) -> tuple[ClockRange, ...]:
        if day in self.overrides:
            return self.overrides[day]
        return self.days[day.weekday()]

    def is_override(self, day: date) -> bool:
        return day in self.overrides

    @classmethod
    def from_mapping(
        cls,
        hours: Mapping[str, list[list[str]] | list[tuple[str, str]]],
        overrides: Mapping[str, list[list[str]] | list[tuple[str, str]]] | None = None,
    ) -> WeeklyHours:
        """From the JSON shape ``{"mon": [["09:00","12:00"], ...]}`` and ``{"2026-03-10": [...]}``."""
        days: list[tuple[ClockRange, ...]] = [()] * 7
        for key, ranges in hours.items():
            name = key.strip().lower()[:3]
            if name not in WEEKDAYS:
                raise ValueError(f"unknown weekday {key!r}: use mon, tue, wed, thu, fri, sat or sun")
            days[WEEKDAYS.index(name)] = _parse_ranges(ranges, f"hours for {key}")
        parsed_overrides: dict[date, tuple[ClockRange, ...]] = {}
        for key, ranges in (overrides or {}).items():
            try:
                day = date.fromisoformat(key)
            except (TypeError, ValueError):
                raise ValueError(f"bad override date {key!r}: expected YYYY-MM-DD") from None
            parsed_overrides[day] = _parse_ranges(ranges, f"override for {key}")
        return cls(tuple(days), parsed_overrides)

    def to_mapping(self) -> dict[str, list[list[str]]]:
        return {WEEKDAYS[i]: [list(r.to_pair()) for r in rs] for i, rs in enumerate(self.days) if rs}

    def overrides_mapping(self) -> dict[str, list[list[str]]]:
        return {d.isoformat(): [list(r.to_pair()) for r in rs] for d, rs in sorted(self.overrides.items())}


def _parse_ranges(ranges: object, what: str) -> tuple[ClockRange, ...]:
    if not isinstance(ranges, list | tuple):
        raise ValueError(f"{what}: expected a list of [start, end] pairs")
    out: list[ClockRange] = []
    for pair in ranges:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ValueError(f"{what}: expected [start, end] pairs such as ['09:00', '17:00']")
        try:
            out.append(ClockRange.parse(str(pair[0]), str(pair[1])))
        except ValueError as exc:
            raise ValueError(f"{what}: {exc}") from None
    return tuple(out)


Transparency = Literal["opaque", "transparent"]
EventStatus = Literal["confirmed", "tentative", "cancelled"]
BusyKind = Literal["event", "booking"]


# The two bits a participant's settings may let count come lowest, so that the search can pick the events that
# count by comparing flags with a bound (flags below 4: no bit but these two) instead of masking each one.
BUSY_ALL_DAY = 1
BUSY_TENTATIVE = 2
BUSY_CANCELLED = 4
BUSY_TRANSPARENT = 8
BUSY_BOOKING = 16
BUSY_EMPTY = 32


@dataclass(frozen=True, slots=True)
class BusyEvent:
    """A block of time from someone's calendar: when, and how it counts; never what it is."""

    interval: Interval
    transparency: Transparency = "opaque"
    all_day: bool = False
    status: EventStatus = "confirmed"
    kind: BusyKind = "event"
    source: str | None = None  # which calendar said so (an id, never a title)
    # How the event counts, as bits (see BUSY_* below), its epoch span, and the same span in seconds from
    # SEARCH_EPOCH (the numbers the search works on): computed once, read by the search.
    flags: int = field(init=False, repr=False, compare=False, hash=False)
    span: Span = field(init=False, repr=False, compare=False, hash=False)
    search_span: Span = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.transparency not in ("opaque", "transparent"):
            raise ValueError(f"bad transparency {self.transparency!r}: use 'opaque' or 'transparent'")
        if self.status not in ("confirmed", "tentative", "cancelled"):
            raise ValueError(f"bad status {self.status!r}: use 'confirmed', 'tentative' or 'cancelled'")
        if self.kind not in ("event", "booking"):
            raise ValueError(f"bad kind {self.kind!r}: use 'event' or 'booking'")
        span = self.interval.span()
        flags = (
            (BUSY_CANCELLED if self.status == "cancelled" else 0)
            | (BUSY_TENTATIVE if self.status == "tentative" else 0)
            | (BUSY_TRANSPARENT if self.transparency == "transparent" else 0)
            | (BUSY_ALL_DAY if self.all_day else 0)
            | (BUSY_BOOKING if self.kind == "booking" else 0)
            | (BUSY_EMPTY if span[1] <= span[0] else 0)
        )
        object.__setattr__(self, "flags", flags)
        object.__setattr__(self, "span", span)
        object.__setattr__(self, "search_span", (span[0] - SEARCH_EPOCH, span[1] - SEARCH_EPOCH))

    @property
    def start(self) -> datetime:
        return self.interval.start

    @property
    def end(self) -> datetime:
        return self.interval.end


@dataclass(frozen=True, slots=True)
class Participant:
    """Everything the slot search needs to know about one person."""

    id: str
    timezone: str
    hours: WeeklyHours
    busy: tuple[BusyEvent, ...] = ()
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    all_day_blocks: bool = True
    tentative_blocks: bool = True
    max_per_day: int | None = None
    max_per_week: int | None = None
    # Every busy event's flags OR-ed together (e.g. whether there is any booking at all): computed once.
    busy_flags: int = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("every participant needs an id")
        flags = 0
        for event in self.busy:
            flags |= event.flags
        object.__setattr__(self, "busy_flags", flags)
        load_zone(self.timezone)
        for name in ("buffer_before", "buffer_after"):
            value: timedelta = getattr(self, name)
            if value < timedelta(0) or value > timedelta(days=1):
                raise ValueError(f"{self.id}: {name.replace('_', ' ')} must be between 0 and 24 hours")
        for name in ("max_per_day", "max_per_week"):
            limit: int | None = getattr(self, name)
            if limit is not None and limit < 0:
                raise ValueError(f"{self.id}: {name.replace('_', ' ')} cannot be negative")

    @property
    def zone(self) -> ZoneInfo:
        return load_zone(self.timezone)


@dataclass(frozen=True, slots=True)
class Policy:
    """Organisation-wide rules, applied in each participant's own local time."""

    weekdays: frozenset[int] = frozenset(range(7))
    earliest: int | None = None  # minutes after local midnight
    latest: int | None = None

    def __post_init__(self) -> None:
        if any(not 0 <= d <= 6 for d in self.weekdays):
            raise ValueError("policy weekdays must be mon..sun")
        if self.earliest is not None and self.latest is not None and self.latest <= self.earliest:
            raise ValueError("policy: the latest time must come after the earliest")

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> Policy:
        weekdays_raw = data.get("weekdays", list(WEEKDAYS))
        if not isinstance(weekdays_raw, list):
            raise ValueError("policy weekdays: expected a list such as ['mon', 'tue']")
        days: set[int] = set()
        for name in weekdays_raw:
            key = str(name).strip().lower()[:3]
            if key not in WEEKDAYS:
                raise ValueError(f"policy: unknown weekday {name!r}")
            days.add(WEEKDAYS.index(key))
        earliest = data.get("earliest")
        latest = data.get("latest")
        return cls(
            weekdays=frozenset(days),
            earliest=parse_clock(str(earliest)) if earliest is not None else None,
            latest=parse_clock(str(latest), allow_24=True) if latest is not None else None,
        )

    @property
    def unrestricted(self) -> bool:
        return len(self.weekdays) == 7 and self.earliest is None and self.latest is None


Ranking = Literal["earliest", "spread"]


@dataclass(frozen=True, slots=True)
class SlotRequest:
    """The whole input of a slot search."""

    now: datetime
    duration: timedelta
    window: Interval
    participants: tuple[Participant, ...]
    step: timedelta = timedelta(minutes=15)
    min_notice: timedelta = timedelta(0)
    horizon: timedelta = timedelta(days=60)
    required: int | None = None  # None: everyone; N: at least N of them
    max_results: int = 10
    policy: Policy = field(default_factory=Policy)
    ranking: Ranking | None = None  # None: spread over days when five or fewer are asked for
    explain_limit: int = 40

    def __post_init__(self) -> None:
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            raise ValueError("now must carry a time zone")
        if self.duration <= timedelta(0):
            raise ValueError("duration must be positive")
        if self.duration > timedelta(days=1):
            raise ValueError("duration must be at most 24 hours")
        if self.step <= timedelta(0) or self.step > timedelta(days=1):
            raise ValueError("step must be between 1 minute and 24 hours")
        if self.step % timedelta(minutes=1):
            raise ValueError("step must be a whole number of minutes")
        if self.min_notice < timedelta(0) or self.horizon < timedelta(0):
            raise ValueError("minimum notice and horizon cannot be negative")
        if not self.participants:
            raise ValueError("at least one participant is needed")
        ids = [p.id for p in self.participants]
        if len(set(ids)) != len(ids):
            raise ValueError("participant ids must be unique")
        if self.required is not None and not 1 <= self.required <= len(self.participants):
            raise ValueError(f"required must be 'all' or a number from 1 to {len(self.participants)}")
        if self.max_results < 1:
            raise ValueError("max_results must be at least 1")
        if self.ranking is not None and self.ranking not in ("earliest", "spread"):
            raise ValueError("ranking must be 'earliest' or 'spread'")

    @property
    def needed(self) -> int:
        return len(self.participants) if self.required is None else self.required


@dataclass(frozen=True, slots=True)
class Slot:
    start: datetime
    end: datetime
    participants: tuple[str, ...]

    @property
    def interval(self) -> Interval:
        return Interval(self.start, self.end)


@dataclass(frozen=True, slots=True)
class SlotResult:
    slots: tuple[Slot, ...]
    explain: tuple[str, ...]


class BookingStatus(StrEnum):
    HELD = "held"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    RESCHEDULED = "rescheduled"

    @property
    def active(self) -> bool:
        return self in (BookingStatus.HELD, BookingStatus.CONFIRMED)


@dataclass(frozen=True, slots=True)
class Booking:
    """A session between a coach and participants.  Held bookings reserve the time until ``expires_at``."""

    id: str
    coach_id: str
    participant_ids: tuple[str, ...]
    interval: Interval
    status: BookingStatus
    idempotency_key: str
    created_at: datetime
    expires_at: datetime | None = None
    rescheduled_from: str | None = None
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)

    @property
    def start(self) -> datetime:
        return self.interval.start

    @property
    def end(self) -> datetime:
        return self.interval.end


@dataclass(frozen=True, slots=True)
class CoachSettings:
    """A coach's own rules; defaults are what a new coach gets."""

    timezone: str = "UTC"
    hours: WeeklyHours = field(
        default_factory=lambda: WeeklyHours(tuple((ClockRange(540, 1020),) if i < 5 else () for i in range(7)))
    )
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    min_notice: timedelta = timedelta(hours=4)
    horizon: timedelta = timedelta(days=60)
    session_lengths: tuple[int, ...] = (30, 60)
    max_per_day: int | None = None
    max_per_week: int | None = None
    all_day_blocks: bool = True
    tentative_blocks: bool = True

    def __post_init__(self) -> None:
        load_zone(self.timezone)
        if not self.session_lengths or any(not 5 <= m <= 24 * 60 for m in self.session_lengths):
            raise ValueError("session lengths must be between 5 minutes and 24 hours")


@dataclass(frozen=True, slots=True)
class Person:
    """Someone who books, coaches or organises; chat identities point at a person."""

    id: str
    display_name: str
    timezone: str = "UTC"
    email: str | None = None
    locale: str = "en"
    is_coach: bool = False
    handle: str | None = None  # short name used in booking links and mentions, e.g. "dana"

    def __post_init__(self) -> None:
        load_zone(self.timezone)


Surface = Literal["slack", "teams", "web", "console"]


@dataclass(frozen=True, slots=True)
class Identity:
    """One chat identity: a Slack user in a team, a Teams user in a tenant, a web visitor's email."""

    surface: Surface
    external_id: str
    tenant: str = ""


class VoteChoice(StrEnum):
    YES = "yes"
    IF_NEED_BE = "if_need_be"
    NO = "no"


@dataclass(frozen=True, slots=True)
class PollOption:
    id: str
    interval: Interval


@dataclass(frozen=True, slots=True)
class Vote:
    option_id: str
    voter_id: str
    choice: VoteChoice


@dataclass(frozen=True, slots=True)
class Poll:
    id: str
    organizer_id: str
    title: str
    duration: timedelta
    options: tuple[PollOption, ...]
    invitee_ids: tuple[str, ...]
    status: Literal["open", "closed"] = "open"
    winner_option_id: str | None = None
    created_at: datetime | None = None
