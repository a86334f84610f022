"""The parsed request: the value every surface and the ``parse`` command share."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["INTENTS", "PROVIDERS", "ParsedRequest", "Window"]

INTENTS: tuple[str, ...] = ("book", "availability", "cancel", "reschedule", "list", "set_hours", "set_buffer",
                            "connect", "poll", "help", "unknown")
PROVIDERS: tuple[str, ...] = ("google", "microsoft", "icloud", "caldav")


@dataclass(frozen=True)
class Window:
    """A half-open, timezone-aware interval [start, end)."""

    start: datetime
    end: datetime

    def to_json(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


@dataclass(frozen=True)
class ParsedRequest:
    intent: str
    timezone: str
    participants: tuple[str, ...] = ()
    duration_minutes: int | None = None
    windows: tuple[Window, ...] = ()
    hours: dict[str, list[list[str]]] | None = None
    buffer_before_minutes: int | None = None
    buffer_after_minutes: int | None = None
    provider: str | None = None
    language: str = "en"
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        """The fixed ``python -m bot parse`` contract."""
        return {
            "intent": self.intent,
            "participants": list(self.participants),
            "duration_minutes": self.duration_minutes,
            "timezone": self.timezone,
            "windows": [w.to_json() for w in self.windows],
            "hours": self.hours,
            "buffer_before_minutes": self.buffer_before_minutes,
            "buffer_after_minutes": self.buffer_after_minutes,
            "provider": self.provider,
            "notes": list(self.notes),
        }
