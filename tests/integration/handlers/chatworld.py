"""A real conversation on real SQLite storage with a fixed clock and an in-memory busy source."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.handlers.conversation import Conversation
from bot.handlers.replies import Action, Asker, Choice, FormSubmit, Message, Reply
from bot.scheduling.intervals import Interval
from bot.scheduling.model import BusyEvent, ClockRange, CoachSettings, Identity, Person, WeeklyHours
from bot.scheduling.ports import BusyUnavailable
from bot.services.booking import BookingService
from storage import open_storage

NOW = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)  # Thursday 5 March 2026, 13:00 in Berlin, 07:00 in New York


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class FakeBusySource:
    """``BusySource`` in memory: busy events per person; a person can be made unreadable or to hang."""

    events: dict[str, list[BusyEvent]] = field(default_factory=dict)
    failing: dict[str, str] = field(default_factory=dict)  # person -> calendar name that cannot be read
    hanging: set[str] = field(default_factory=set)

    async def busy(self, person_id: str, window: Interval) -> list[BusyEvent]:
        if person_id in self.hanging:
            await asyncio.sleep(3600)
        if person_id in self.failing:
            raise BusyUnavailable(self.failing[person_id], "timed out")
        return [e for e in self.events.get(person_id, []) if e.interval.overlaps(window)]

    def add(self, person_id: str, start: datetime, end: datetime) -> None:
        self.events.setdefault(person_id, []).append(BusyEvent(Interval(start, end), source="work"))


@dataclass
class World:
    conv: Conversation
    storage: object
    busy: FakeBusySource
    clock: Clock
    sam: Asker
    dana: Asker
    ann: Asker

    async def say(self, who: Asker, text: str, command: str | None = None) -> list[Reply]:
        return await self.conv.handle(who, Message(text, command=command))

    async def click(self, who: Asker, choice: Choice) -> list[Reply]:
        return await self.conv.handle(who, Action(choice.action, choice.value))

    async def submit(self, who: Asker, form_id: str, values: dict[str, str]) -> list[Reply]:
        return await self.conv.handle(who, FormSubmit(form_id, values))


def dana_settings(**changes: object) -> CoachSettings:
    day = (ClockRange(9 * 60, 12 * 60), ClockRange(13 * 60, 17 * 60))
    base = CoachSettings(
        timezone="Europe/Berlin",
        hours=WeeklyHours((day, day, day, day, day, (), ())),
        buffer_before=timedelta(minutes=5),
        buffer_after=timedelta(minutes=5),
        min_notice=timedelta(hours=2),
        horizon=timedelta(days=30),
        session_lengths=(30, 60),
    )
    from dataclasses import replace

    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    storage = open_storage(f"sqlite:///{tmp_path / 'chat.db'}", migrate=True)
    storage.people.add(
        Person(id="dana", display_name="Dana Smith", timezone="Europe/Berlin", is_coach=True, handle="dana"),
        [Identity("slack", "UDANA", "T1")],
    )
    storage.people.add(Person(id="sam", display_name="Sam Lee", timezone="America/New_York", handle="sam"),
                       [Identity("slack", "USAM", "T1")])
    storage.people.add(Person(id="ann", display_name="Ann Berg", timezone="Europe/Berlin", handle="ann"))
    storage.coach_settings.save_settings("dana", dana_settings())
    clock = Clock(NOW)
    busy = FakeBusySource()
    service = BookingService(
        bookings=storage.bookings, coach_settings=storage.coach_settings, busy_source=busy, clock=clock
    )
    conv = Conversation(storage, service, clock)
    yield World(
        conv=conv,
        storage=storage,
        busy=busy,
        clock=clock,
        sam=Asker("sam", "Sam Lee", "America/New_York", surface="slack", tenant="T1"),
        dana=Asker("dana", "Dana Smith", "Europe/Berlin", surface="slack", tenant="T1"),
        ann=Asker("ann", "Ann Berg", "Europe/Berlin"),
    )
    storage.close()


def only(replies: list[Reply], *, to: str | None = None) -> Reply:
    mine = [r for r in replies if r.to == to]
    assert len(mine) == 1, replies
    return mine[0]


def choice(reply: Reply, label_part: str) -> Choice:
    for c in reply.choices:
        if label_part in c.label:
            return c
    raise AssertionError(f"no choice with {label_part!r} in {[c.label for c in reply.choices]}")
