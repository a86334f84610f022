"""Server-side conversation state: a short id goes into buttons, the state stays in the database.

States of a booking conversation: ``awaiting_details`` (a question is open) -> ``proposed`` (times shown) ->
``confirming`` (summary with Confirm / Back) -> ``confirmed``; anything not finished before ``ttl`` is expired
(the repository returns nothing for it and the person is told to ask again).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

__all__ = ["EXPIRED_TEXT", "StateStore"]

EXPIRED_TEXT = "That choice has expired, ask again."


class StateStore:
    def __init__(
        self, repo: Any, clock: Callable[[], datetime], *, ttl: timedelta = timedelta(minutes=30)
    ) -> None:
        self._repo = repo
        self._clock = clock
        self.ttl = ttl

    async def new(self, state: dict[str, Any]) -> str:
        sid = secrets.token_urlsafe(6)
        await self.save(sid, state)
        return sid

    async def load(self, sid: str) -> dict[str, Any] | None:
        if not sid or len(sid) > 64:
            return None
        state = await asyncio.to_thread(self._repo.load_state, f"conv:{sid}", now=self._clock())
        return dict(state) if state is not None else None

    async def save(self, sid: str, state: dict[str, Any], *, ttl: timedelta | None = None) -> None:
        expires = self._clock() + (ttl or self.ttl)
        await asyncio.to_thread(self._repo.save_state, f"conv:{sid}", state, expires_at=expires)

    async def delete(self, sid: str) -> None:
        await asyncio.to_thread(self._repo.delete_state, f"conv:{sid}")

    # An open question ("with whom?", "how long?") that a typed answer may fill in.
    async def set_pending(self, person_id: str, sid: str) -> None:
        expires = self._clock() + self.ttl
        await asyncio.to_thread(self._repo.save_state, f"pending:{person_id}", {"sid": sid}, expires_at=expires)

    async def pending(self, person_id: str) -> str | None:
        state = await asyncio.to_thread(self._repo.load_state, f"pending:{person_id}", now=self._clock())
        sid = state.get("sid") if state else None
        return sid if isinstance(sid, str) else None

    async def clear_pending(self, person_id: str) -> None:
        await asyncio.to_thread(self._repo.delete_state, f"pending:{person_id}")
