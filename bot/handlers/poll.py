"""Slot polls in conversation ("poll 30 min with @a @b @c next week")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.handlers.replies import Asker, Reply
from bot.language import ParsedRequest

if TYPE_CHECKING:
    from bot.handlers.conversation import Conversation

__all__ = ["close", "start_poll", "vote"]


async def start_poll(conv: Conversation, asker: Asker, parsed: ParsedRequest, text: str) -> list[Reply]:
    return [Reply("Polls aren't available in chat yet. Book a session instead, e.g. \"book 30 min with dana\".")]


async def vote(conv: Conversation, asker: Asker, value: str) -> list[Reply]:
    return [Reply("That poll has expired, ask again.", private=True)]


async def close(conv: Conversation, asker: Asker, value: str) -> list[Reply]:
    return [Reply("That poll has expired, ask again.", private=True)]
