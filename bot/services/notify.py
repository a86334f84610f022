"""Direct messages to a person wherever they can read them: Slack when they have a Slack identity and Slack is on,
otherwise their web chat inbox.

Chat surfaces register a delivery function per surface (``register("slack", ...)``); the web inbox is the fallback
every person has.  Used for messages that do not answer anything the person just did: the other side of a booking
made on another surface, "your calendar needs reconnecting", "the coach deleted the session from their calendar".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bot.handlers.replies import Reply
from bot.scheduling.model import Identity

__all__ = ["Deliver", "Fallback", "Notifier"]

log = logging.getLogger(__name__)

Deliver = Callable[[Identity, Sequence[Reply]], Awaitable[bool]]  # True when delivered
Fallback = Callable[[str, Sequence[Reply]], Awaitable[None]]  # (person id, replies)


class Notifier:
    def __init__(self, storage: Any, *, fallback: Fallback | None = None) -> None:
        self._storage = storage
        self._surfaces: dict[str, Deliver] = {}
        self.fallback = fallback

    def register(self, surface: str, deliver: Deliver) -> None:
        self._surfaces[surface] = deliver

    def unregister(self, surface: str) -> None:
        self._surfaces.pop(surface, None)

    @property
    def surfaces(self) -> tuple[str, ...]:
        return tuple(self._surfaces)

    async def notify(self, person_id: str, replies: Sequence[Reply]) -> str:
        """Deliver ``replies`` to the person; returns where they went ("slack", "web", ... or "nowhere")."""
        if not replies:
            return "nowhere"
        identities: list[Identity] = []
        if self._surfaces:
            identities = await asyncio.to_thread(self._storage.people.identities, person_id)
        for identity in identities:
            deliver = self._surfaces.get(identity.surface)
            if deliver is None:
                continue
            try:
                if await deliver(identity, replies):
                    return identity.surface
            except Exception as exc:  # try the next way of reaching them
                log.warning("could not message person %s on %s: %s", person_id, identity.surface, exc)
        if self.fallback is not None:
            await self.fallback(person_id, replies)
            return "web"
        log.info("no way to reach person %s; %d message(s) dropped", person_id, len(replies))
        return "nowhere"

    async def notify_text(self, person_id: str, text: str) -> None:
        """The ``CalendarService.notify`` shape: one line of text."""
        await self.notify(person_id, [Reply(text)])
