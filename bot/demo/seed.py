"""Seed the demo coach: Dana, Europe/Berlin, weekday hours, busy time from ``sample_coach.ics``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.scheduling.model import ClockRange, CoachSettings, Identity, Person, WeeklyHours

__all__ = ["DEMO_COACH_HANDLE", "DEMO_COACH_ID", "DEMO_COACH_TIMEZONE", "demo_calendar_path", "ensure_demo_coach"]

DEMO_COACH_ID = "demo-dana"
DEMO_COACH_HANDLE = "dana"
DEMO_COACH_TIMEZONE = "Europe/Berlin"


def demo_calendar_path() -> Path:
    return Path(__file__).with_name("sample_coach.ics")


def demo_settings() -> CoachSettings:
    day = (ClockRange(9 * 60, 12 * 60), ClockRange(13 * 60, 17 * 60))
    return CoachSettings(
        timezone=DEMO_COACH_TIMEZONE,
        hours=WeeklyHours((day, day, day, day, day, (), ())),
        buffer_before=timedelta(minutes=5),
        buffer_after=timedelta(minutes=5),
        min_notice=timedelta(hours=2),
        horizon=timedelta(days=30),
        session_lengths=(30, 60),
    )


def ensure_demo_coach(storage: Any) -> Person:
    """Create the demo coach once (idempotent); settings a person changed later are kept."""
    existing = storage.people.get(DEMO_COACH_ID)
    if existing is not None:
        return existing  # type: ignore[no-any-return]
    person = Person(
        id=DEMO_COACH_ID,
        display_name="Dana (demo coach)",
        timezone=DEMO_COACH_TIMEZONE,
        email="dana@example.invalid",
        is_coach=True,
        handle=DEMO_COACH_HANDLE,
    )
    storage.people.add(person, [Identity(surface="web", external_id="dana@example.invalid")])
    if storage.coach_settings.get_settings(DEMO_COACH_ID) is None:
        storage.coach_settings.save_settings(DEMO_COACH_ID, demo_settings())
    return person
