"""Socket Mode (``SLACK_APP_TOKEN``): Slack pushes events over a WebSocket, so no public URL is needed.

The same bolt app and listeners as over HTTP; ``attach_socket_mode`` connects when the server starts and
disconnects when it stops.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiohttp import web

from bot.adapters.slack.app import slack_surface

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

    from bot.app import App

__all__ = ["attach_socket_mode", "socket_mode_wanted"]

log = logging.getLogger(__name__)


def socket_mode_wanted(app: App) -> bool:
    settings = app.settings
    oauth = bool(settings.slack_client_id and settings.slack_client_secret)
    return bool(settings.slack_app_token and (settings.slack_bot_token or oauth))


def attach_socket_mode(server: web.Application, app: App) -> bool:
    """Connect to Slack over Socket Mode while ``server`` runs; False when Socket Mode is not configured."""
    if not socket_mode_wanted(app):
        return False
    from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

    surface = slack_surface(server, app)
    holder: dict[str, AsyncSocketModeHandler] = {}

    async def _start(_: web.Application) -> None:
        handler = AsyncSocketModeHandler(surface.bolt, app.settings.slack_app_token, web_client=surface.client)
        await handler.connect_async()  # type: ignore[no-untyped-call]
        holder["handler"] = handler
        log.info("Slack Socket Mode connected")

    async def _stop(_: web.Application) -> None:
        handler = holder.pop("handler", None)
        if handler is not None:
            await handler.close_async()  # type: ignore[no-untyped-call]

    server.on_startup.append(_start)
    server.on_shutdown.append(_stop)
    return True
