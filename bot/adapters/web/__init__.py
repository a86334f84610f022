"""The web surface: web chat (GET /), public booking pages (/book/<handle>), the coach settings page (signed link),
OAuth callback pages, and the week view as PNG.  Routes plug into the one aiohttp app of ``bot.server``."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

__all__ = ["register_web_routes"]

STATIC_DIR = Path(__file__).with_name("static")


def register_web_routes(server: web.Application) -> None:
    """Add every web route to the shared server (the App is read from ``server[APP_KEY]`` per request)."""
    from bot.adapters.web import booking, chat, coach_settings, oauth, png

    booking.register(server)
    chat.register(server)
    coach_settings.register(server)
    oauth.register(server)
    png.register(server)
    server.router.add_static("/static/", STATIC_DIR, name="web-static", append_version=False)
