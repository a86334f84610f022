"""Keeping push notifications alive: Google watch channels and Microsoft Graph subscriptions expire, so they are
replaced before they do.  Polling (``CalendarService.run_sync_loop``) keeps working when push is unavailable."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

__all__ = ["push_upkeep", "upkeep_context"]

log = logging.getLogger(__name__)

UPKEEP_INTERVAL = 1800.0  # seconds; channels and subscriptions are renewed hours before they expire


async def push_upkeep(app: Any) -> dict[str, int]:
    """One round: renew Google channels that are due; subscribe or renew every Microsoft account (https only,
    because Graph delivers notifications to https URLs only)."""
    done: dict[str, int] = {}
    push = getattr(getattr(app, "google", None), "push", None)
    if push is not None:
        done["google"] = await push.renew_due()
    microsoft = getattr(app, "microsoft", None)
    public = app.settings.public_url or ""
    if microsoft is not None and public.startswith("https://"):
        url = public.rstrip("/") + "/graph/notifications"
        done["microsoft"] = await microsoft.ensure_all_subscriptions(notification_url=url)
    return done


def upkeep_context(app: Any, *, interval: float = UPKEEP_INTERVAL) -> Any:
    """An aiohttp ``cleanup_ctx`` running ``push_upkeep`` every ``interval`` seconds while the server runs."""

    async def loop() -> None:
        while True:
            try:
                await push_upkeep(app)
            except Exception:
                log.exception("push notification upkeep failed; polling continues")
            await asyncio.sleep(interval)

    async def context(_server: object) -> AsyncIterator[None]:
        task = asyncio.create_task(loop())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return context
