"""Background work that repeats while the server runs, as an aiohttp ``cleanup_ctx``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

__all__ = ["periodic"]

log = logging.getLogger(__name__)


def periodic(
    work: Callable[[], Awaitable[object]], *, interval: float, what: str
) -> Callable[[object], AsyncIterator[None]]:
    """A ``cleanup_ctx`` running ``work`` every ``interval`` seconds; a failed round is logged, the next one runs."""

    async def loop() -> None:
        while True:
            try:
                await work()
            except Exception:
                log.exception("%s failed", what)
            await asyncio.sleep(interval)

    async def context(_server: object) -> AsyncIterator[None]:
        task = asyncio.create_task(loop())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return context
