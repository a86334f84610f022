"""Busy time from local ICS files: the demo coach's sample calendar, and people with no connected calendar.

The calendars issue adds CalDAV, Google and Microsoft sources behind the same ``BusySource`` port.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path

from bot.scheduling.intervals import Interval
from bot.scheduling.model import BusyEvent
from bot.scheduling.ports import BusyUnavailable

__all__ = ["IcsFileBusySource"]


class IcsFileBusySource:
    """``BusySource`` reading each person's ICS files; a person with none has no calendar busy time."""

    def __init__(self, files: Mapping[str, Sequence[Path]], *, timezones: Mapping[str, str] | None = None) -> None:
        self._files = {person: tuple(paths) for person, paths in files.items()}
        self._timezones = dict(timezones or {})

    async def busy(self, person_id: str, window: Interval) -> list[BusyEvent]:
        paths = self._files.get(person_id, ())
        if not paths:
            return []
        return await asyncio.to_thread(self._read, person_id, paths, window)

    def _read(self, person_id: str, paths: Sequence[Path], window: Interval) -> list[BusyEvent]:
        from bot.providers.ics import IcsError, load_ics_file

        out: list[BusyEvent] = []
        for path in paths:
            try:
                out.extend(
                    load_ics_file(
                        path, window=window, default_tz=self._timezones.get(person_id, "UTC"), source=path.name
                    )
                )
            except IcsError as exc:
                raise BusyUnavailable(path.name, str(exc)) from None
        return out
