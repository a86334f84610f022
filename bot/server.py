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


async def graph_notifications(request: web.Request) -> web.Response:
    """Microsoft Graph change and lifecycle notifications: echo a ``validationToken`` (subscription handshake) as
    text/plain; otherwise check each item's clientState (``App.microsoft.handle_notifications``) and answer 202."""
    from bot.providers.microsoft import validation_token

    token = validation_token(request.query)
    if token is not None:
        return web.Response(text=token, content_type="text/plain")
    try:
        payload = await request.json()
    except ValueError:
        return web.Response(status=400, text="not JSON")
    handler = getattr(request.app[APP_KEY], "microsoft", None)
    if handler is not None:
        try:
            await handler.handle_notifications(payload)
        except ValueError:
            return web.Response(status=400, text="not a Graph notification")
    return web.Response(status=202)


async def google_notifications(request: web.Request) -> web.Response:
    """Google Calendar push notifications: only a channel's own token triggers a sync (``App.google.push``)."""
    google = getattr(request.app[APP_KEY], "google", None)
    push = getattr(google, "push", None)
    if push is None:
        return web.Response(status=404)
    return web.Response(status=await push.handle(request.headers))


def make_web_app(app: App) -> web.Application:
    server = web.Application()
    server[APP_KEY] = app
    server.router.add_get("/healthz", healthz)
    server.router.add_post("/graph/notifications", graph_notifications)  # Microsoft Graph subscriptions
    server.router.add_post("/google/notifications", google_notifications)  # Google Calendar push channels
    if app.settings.slack_signing_secret:  # Slack over HTTP: POST /slack/events, GET /slack/install, /oauth_redirect
        from bot.adapters.slack.app import mount_slack

        mount_slack(server, app)
    from bot.adapters.web import register_web_routes

    register_web_routes(server)  # web chat (/), booking pages (/book/<handle>), settings, OAuth callbacks, PNG

    calendars = getattr(app, "calendars", None)
    if calendars is not None and hasattr(calendars, "background"):
        server.cleanup_ctx.append(calendars.background)  # periodic calendar sync: busy cache, deleted bookings
    if getattr(app, "google", None) is not None or getattr(app, "microsoft", None) is not None:
        from bot.services.upkeep import upkeep_context

        server.cleanup_ctx.append(upkeep_context(app))  # Google channels and Graph subscriptions renewed in time

    async def _close(_: web.Application) -> None:
        await app.aclose()

    server.on_cleanup.append(_close)
    return server
