"""OAuth callback pages for connecting calendars (GET /oauth/google/callback, GET /oauth/microsoft/callback).

The routes are thin: they hand the query string to ``App.oauth_callbacks`` (set by the calendars code) and show
what it says.  Without it, the page says plainly that calendar connection is not configured on this server.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from aiohttp import web

from bot.adapters.web.pages import get_app, page
from bot.scheduling.ports import RemoteCalendar

__all__ = ["OAuthCallbackHandler", "OAuthOutcome", "register"]

log = logging.getLogger(__name__)

Provider = Literal["google", "microsoft"]
_NAMES = {"google": "Google Calendar", "microsoft": "Microsoft 365 / Outlook"}


@dataclass(frozen=True, slots=True)
class OAuthOutcome:
    ok: bool
    message: str  # what the person reads, e.g. "Connected 3 calendars of dana@example.com."
    link: str | None = None  # where to go next (the settings page), optional
    # On success, who connected which account and what the provider listed: the composition root sends that
    # person the calendar pick form in chat.
    person_id: str | None = None
    account: Any = None
    calendars: Sequence[RemoteCalendar] = ()


class OAuthCallbackHandler(Protocol):
    """What ``App.oauth_callbacks`` provides: finish the flow (check ``state``, swap the code, store credentials)."""

    async def oauth_callback(self, provider: Provider, params: Mapping[str, str]) -> OAuthOutcome: ...


async def _callback(request: web.Request, provider: Provider) -> web.Response:
    handler = getattr(get_app(request), "oauth_callbacks", None)
    name = _NAMES[provider]
    if handler is None:
        return page(
            "message.html",
            status=503,
            title="Not configured",
            heading=f"{name} is not configured",
            message=f"This server has no {name} connection set up, so the calendar could not be connected. "
            "Ask whoever runs the bot to set the client id and secret (see the README).",
        )
    try:
        outcome = await handler.oauth_callback(provider, dict(request.query))
    except Exception:  # a provider or storage failure: say so in one line, never a stack trace
        log.exception("%s OAuth callback failed", provider)
        outcome = OAuthOutcome(False, "Something went wrong while connecting the calendar; please start again.")
    return page(
        "message.html",
        status=200 if outcome.ok else 400,
        title="Calendar connected" if outcome.ok else "Calendar not connected",
        heading=f"{name} connected" if outcome.ok else f"{name} was not connected",
        message=outcome.message,
        link=outcome.link,
        link_label="Back to your settings",
    )


async def google_callback(request: web.Request) -> web.Response:
    return await _callback(request, "google")


async def microsoft_callback(request: web.Request) -> web.Response:
    return await _callback(request, "microsoft")


def register(server: web.Application) -> None:
    server.router.add_get("/oauth/google/callback", google_callback)
    server.router.add_get("/oauth/microsoft/callback", microsoft_callback)
