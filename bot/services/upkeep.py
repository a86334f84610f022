"""Keeping push notifications alive: Google watch channels and Microsoft Graph subscriptions expire, so they are
replaced before they do.  Polling (``CalendarService.background``) keeps working when push is unavailable."""

from __future__ import annotations

from typing import Any

from bot.services.periodic import periodic

__all__ = ["push_upkeep", "upkeep_context"]

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
    return periodic(lambda: push_upkeep(app), interval=interval, what="push notification upkeep")
