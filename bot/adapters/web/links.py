"""Signed links and cookies for the web surface: settings links, booking manage links, the chat session.

Everything is signed with itsdangerous using the bot's secret keys (``SECRET_KEYS``, or the key generated once into
the data folder): the first key signs, every key verifies, so rotating keys keeps old links working until the old
key is dropped.  Expiry is checked against the server's clock (``App.clock``), never the wall clock directly,
so tests can move time.

Handlers send a coach their settings page with ``settings_link(person_id, settings=app.settings, now=app.clock())``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from itsdangerous import BadSignature, URLSafeSerializer

from bot.config import Settings

__all__ = [
    "SETTINGS_LINK_TTL",
    "BadLink",
    "BookingLinks",
    "WebSession",
    "base_url",
    "booking_links",
    "manage_token",
    "read_manage_token",
    "read_session",
    "read_settings_token",
    "read_signin_token",
    "session_cookie",
    "settings_link",
    "settings_token",
    "signin_link",
    "signin_token",
    "week_png_url",
]

SETTINGS_LINK_TTL = timedelta(hours=24)

_SALT_SETTINGS = "schedbot.web.settings-link"
_SALT_MANAGE = "schedbot.web.booking-manage"
_SALT_SESSION = "schedbot.web.session"
_SALT_SIGNIN = "schedbot.web.signin-link"
SIGNIN_LINK_TTL = timedelta(hours=24)

_serializers: dict[tuple[tuple[str, ...], str], URLSafeSerializer] = {}


class BadLink(Exception):
    """A link or cookie that is forged, damaged or expired; the message says which, for the person."""


def _keys(settings: Settings) -> tuple[str, ...]:
    from bot.app import load_or_create_secret_keys

    return load_or_create_secret_keys(settings)


def _serializer(settings: Settings, salt: str) -> URLSafeSerializer:
    keys = _keys(settings)
    found = _serializers.get((keys, salt))
    if found is None:
        # itsdangerous signs with the last key and verifies with all; SECRET_KEYS puts the current key first.
        found = _serializers[(keys, salt)] = URLSafeSerializer(list(reversed(keys)), salt=salt)
    return found


def _loads(settings: Settings, salt: str, token: str) -> Any:
    if not token:
        raise BadLink("This link is incomplete: it has no token.")
    try:
        return _serializer(settings, salt).loads(token)
    except BadSignature:
        raise BadLink("This link is not valid (it may have been copied incompletely).") from None


def base_url(settings: Settings) -> str:
    """Where people reach this server: PUBLIC_URL when set, else the local address it listens on."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = settings.host if settings.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    return f"http://{host}:{settings.port}"


# --- coach settings ---------------------------------------------------------------------------------------


def _person_token(salt: str, person_id: str, *, settings: Settings, now: datetime, ttl: timedelta) -> str:
    expires = int((now + ttl).timestamp())
    return _serializer(settings, salt).dumps({"p": person_id, "x": expires})


def _read_person_token(salt: str, token: str, *, settings: Settings, now: datetime, expired: str) -> str:
    """The person id an expiring link was made for; ``BadLink`` (with ``expired`` when late) otherwise."""
    data = _loads(settings, salt, token)
    if not isinstance(data, dict) or not isinstance(data.get("p"), str) or not isinstance(data.get("x"), int):
        raise BadLink("This link is not valid.")
    if now.timestamp() >= data["x"]:
        raise BadLink(expired)
    return str(data["p"])


def settings_token(person_id: str, *, settings: Settings, now: datetime, ttl: timedelta = SETTINGS_LINK_TTL) -> str:
    return _person_token(_SALT_SETTINGS, person_id, settings=settings, now=now, ttl=ttl)


def read_settings_token(token: str, *, settings: Settings, now: datetime) -> str:
    """The person id a settings token was made for; ``BadLink`` when forged or expired."""
    return _read_person_token(
        _SALT_SETTINGS,
        token,
        settings=settings,
        now=now,
        expired="This settings link has expired. Ask the bot for a new one (say 'settings').",
    )


def signin_token(person_id: str, *, settings: Settings, now: datetime, ttl: timedelta = SIGNIN_LINK_TTL) -> str:
    return _person_token(_SALT_SIGNIN, person_id, settings=settings, now=now, ttl=ttl)


def read_signin_token(token: str, *, settings: Settings, now: datetime) -> str:
    """The person a chat sign-in link was made for; ``BadLink`` when forged or expired."""
    return _read_person_token(
        _SALT_SIGNIN,
        token,
        settings=settings,
        now=now,
        expired="This sign-in link has expired. Ask the bot for a new one.",
    )


def signin_link(
    person_id: str, *, settings: Settings, now: datetime | None = None, ttl: timedelta = SIGNIN_LINK_TTL
) -> str:
    """A link that opens the web chat as ``person_id`` (the only way into an existing account from the web)."""
    token = signin_token(person_id, settings=settings, now=now or datetime.now(UTC), ttl=ttl)
    return f"{base_url(settings)}/chat/signin?{urlencode({'token': token})}"


def settings_link(
    person_id: str, *, settings: Settings, now: datetime | None = None, ttl: timedelta = SETTINGS_LINK_TTL
) -> str:
    """The full URL of a person's settings page, valid for ``ttl`` (24 hours by default)."""
    token = settings_token(person_id, settings=settings, now=now or datetime.now(UTC), ttl=ttl)
    return f"{base_url(settings)}/settings?{urlencode({'token': token})}"


def week_png_url(
    handle: str, *, settings: Settings, start: date, timezone: str, length: int | None = None
) -> str | None:
    """The week view PNG of a coach for chat surfaces; None without PUBLIC_URL (chat apps cannot fetch localhost)."""
    if not settings.public_url:
        return None
    query = {"start": start.isoformat(), "tz": timezone}
    if length:
        query["length"] = str(length)
    return f"{base_url(settings)}/coach/{quote(handle)}/week.png?{urlencode(query)}"


# --- bookings ---------------------------------------------------------------------------------------------


def manage_token(booking_id: str, *, settings: Settings) -> str:
    return _serializer(settings, _SALT_MANAGE).dumps(booking_id)


def read_manage_token(token: str, booking_id: str, *, settings: Settings) -> None:
    """Raise ``BadLink`` unless ``token`` was made for ``booking_id``."""
    if _loads(settings, _SALT_MANAGE, token) != booking_id:
        raise BadLink("This link belongs to another booking.")


@dataclass(frozen=True, slots=True)
class BookingLinks:
    page: str  # the confirmation page
    ics: str  # the calendar file
    manage: str  # cancel or reschedule


def booking_links(booking_id: str, *, settings: Settings, absolute: bool = True) -> BookingLinks:
    query = urlencode({"token": manage_token(booking_id, settings=settings)})
    root = base_url(settings) if absolute else ""
    return BookingLinks(
        page=f"{root}/booking/{booking_id}?{query}",
        ics=f"{root}/booking/{booking_id}.ics?{query}",
        manage=f"{root}/booking/{booking_id}/manage?{query}",
    )


# --- the web chat session ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebSession:
    person_id: str
    display_name: str
    timezone: str


def session_cookie(session: WebSession, *, settings: Settings) -> str:
    return _serializer(settings, _SALT_SESSION).dumps(
        {"p": session.person_id, "n": session.display_name, "z": session.timezone}
    )


def read_session(value: str | None, *, settings: Settings) -> WebSession | None:
    """The visitor's session from the cookie; None when absent or not signed by us."""
    if not value:
        return None
    try:
        data = _serializer(settings, _SALT_SESSION).loads(value)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("p", "n", "z")):
        return None
    return WebSession(person_id=data["p"], display_name=data["n"], timezone=data["z"])
