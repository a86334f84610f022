"""The HTTP server every surface shares (aiohttp): health now; web chat, Slack and Teams routes plug in here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from bot.app import App

__all__ = ["APP_KEY", "make_web_app"]

APP_KEY: web.AppKey[App] = web.AppKey("schedbot_app")


async def healthz(request: web.Request) -> web.Response:
    app = request.app[APP_KEY]
    ok, detail = await app.health()
    return web.json_response({"status": "ok" if ok else "error", "database": detail}, status=200 if ok else 503)


def make_web_app(app: App) -> web.Application:
    server = web.Application()
    server[APP_KEY] = app
    server.router.add_get("/healthz", healthz)

    async def _close(_: web.Application) -> None:
        await app.aclose()

    server.on_cleanup.append(_close)
    return server
