"""Shared helpers of the web routes: templates, the App from a request, web visitors as people, form checks."""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Any

from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape

from bot.scheduling.model import Identity, Person, load_zone

if TYPE_CHECKING:
    from bot.app import App

__all__ = [
    "EMAIL",
    "check_email",
    "check_name",
    "check_zone",
    "get_app",
    "page",
    "resolve_web_person",
]

EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;.]{2,}$")

_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # links carry signed tokens: never leak them to other sites
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
}


@cache
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("bot.adapters.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def page(template: str, *, status: int = 200, headers: dict[str, str] | None = None, **context: Any) -> web.Response:
    """A server-rendered HTML page."""
    text = _env().get_template(template).render(**context)
    return web.Response(
        text=text,
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers={**_SECURITY_HEADERS, **(headers or {})},
    )


def get_app(request: web.Request) -> App:
    from bot.server import APP_KEY

    return request.app[APP_KEY]


def check_name(value: str) -> str:
    """An error message for a bad name, or ''."""
    if not value.strip():
        return "Please enter your name."
    if len(value.strip()) > 100:
        return "Please use at most 100 characters."
    return ""


def check_email(value: str) -> str:
    value = value.strip()
    if not value:
        return "Please enter your email address."
    if len(value) > 254 or not EMAIL.match(value):
        return "That does not look like an email address; use the form name@example.com."
    return ""


def check_zone(value: str) -> str:
    try:
        load_zone(value.strip())
    except ValueError:
        return "Unknown time zone; use a name such as Europe/Berlin or America/New_York."
    return ""


async def resolve_web_person(app: App, *, name: str, email: str, timezone: str) -> Person:
    """The person behind a web identity (their email), created on first visit, the same way every surface does."""
    from bot.handlers.people import person_for

    email = email.strip()
    identity = Identity(surface="web", external_id=email.lower())
    return await person_for(app.storage, identity, display_name=name.strip(), timezone=timezone, email=email)
