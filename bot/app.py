"""The composition root: ``build_app(settings)`` wires storage, calendars and services.  Nothing is built at import.

Tests pass ``overrides`` (a clock, a busy source, an engine) instead of patching modules.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.scheduling.ports import BusySource
from bot.services.booking import BookingService

__all__ = ["App", "build_app", "load_or_create_secret_keys"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def load_or_create_secret_keys(settings: Settings) -> tuple[str, ...]:
    """SECRET_KEYS when set; otherwise a key generated once and kept in the data folder (embedded default)."""
    if settings.secret_keys:
        return settings.secret_keys
    from storage.secrets import generate_key

    path = Path(settings.data_dir) / "secret.key"
    if path.exists():
        return (path.read_text().strip(),)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = generate_key()
    path.touch(mode=0o600)
    path.write_text(key + "\n")
    return (key,)


@dataclass
class App:
    settings: Settings
    storage: Any
    bookings: BookingService
    clock: Callable[[], datetime]

    async def health(self) -> tuple[bool, str]:
        try:
            await asyncio.to_thread(self._ping)
        except Exception as exc:  # report, never raise, from a health probe
            return False, type(exc).__name__
        return True, "ok"

    def _ping(self) -> None:
        from sqlalchemy import text

        with self.storage.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    async def aclose(self) -> None:
        await asyncio.to_thread(self.storage.close)


def build_app(settings: Settings, *, overrides: Mapping[str, Any] | None = None) -> App:
    """Everything the bot needs, built from settings; ``overrides`` replaces named parts (tests)."""
    from bot.providers.local import IcsFileBusySource
    from storage import open_storage
    from storage.secrets import SecretBox

    parts = dict(overrides or {})
    clock: Callable[[], datetime] = parts.get("clock", _utc_now)
    if settings.database_url.startswith("sqlite:///"):
        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    storage = parts.get("storage") or open_storage(
        settings.database_url, secret_keys=SecretBox(load_or_create_secret_keys(settings))
    )
    files: dict[str, list[Path]] = {}
    zones: dict[str, str] = {}
    if settings.demo:
        from bot.demo.seed import DEMO_COACH_ID, DEMO_COACH_TIMEZONE, demo_calendar_path, ensure_demo_coach

        ensure_demo_coach(storage)
        files[DEMO_COACH_ID] = [demo_calendar_path()]
        zones[DEMO_COACH_ID] = DEMO_COACH_TIMEZONE
    busy_source: BusySource = parts.get("busy_source") or IcsFileBusySource(files, timezones=zones)
    bookings = BookingService(
        bookings=storage.bookings,
        coach_settings=storage.coach_settings,
        busy_source=busy_source,
        clock=clock,
    )
    return App(settings=settings, storage=storage, bookings=bookings, clock=clock)
