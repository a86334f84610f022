"""Connecting CalDAV, iCloud and ICS-feed calendars in chat: the ``CalendarConnector`` for those providers.

``start`` answers with a form (iCloud: Apple ID + app-specific password, with the walkthrough; CalDAV: server
address, username, password; feed: the secret iCal address).  ``submit`` validates by connecting and listing the
calendars; on success the account is stored (credentials encrypted) and a second form asks which calendars count
as busy and which one receives bookings.  Passwords are never echoed back, logged or put into a message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from bot.handlers.connect import LIST_CALENDARS, PICK_AGAIN
from bot.handlers.replies import Field, Form, Reply
from bot.providers.caldav import ICLOUD_URL, CalDAVProvider
from bot.providers.ics_feed import IcsFeedProvider, normalize_feed_url
from bot.providers.urlguard import PrivateAddress, check_public_url
from bot.scheduling.ports import NeedsReconnect, ProviderError, RemoteCalendar
from bot.services.calendar_pick import CalendarPicker
from bot.services.calendars import CalendarService

__all__ = ["ICLOUD_STEPS", "PROVIDERS", "ROUTE_KEYS", "CalDAVConnector", "ConnectorRouter", "caldav_router"]

PREFIX = "connect:"
PROVIDERS = ("icloud", "caldav", "ics")

ICLOUD_STEPS = (
    "To connect iCloud I need an app-specific password (your normal Apple ID password will not work, and I never "
    "want it):",
    "1. Go to appleid.apple.com and sign in.",
    "2. Open Sign-In and Security -> App-Specific Passwords.",
    '3. Create one called "schedbot" and paste it below (it looks like abcd-efgh-ijkl-mnop).',
    "You can revoke it there at any time; I will then ask you to reconnect.",
)

class CalDAVConnector:
    """``CalendarConnector`` for ``icloud``, ``caldav`` and ``ics`` (also accepted: ``feed``, ``webcal``)."""

    providers = PROVIDERS

    def __init__(
        self, calendars: CalendarService, *, icloud_url: str = ICLOUD_URL, allow_private_hosts: bool = False
    ) -> None:
        self._calendars = calendars
        self._icloud_url = icloud_url
        self._allow_private_hosts = allow_private_hosts  # else typed addresses must be on the internet (SSRF)
        self._picker = CalendarPicker(calendars)

    # --- start ----------------------------------------------------------------------------------------------

    async def start(self, person_id: str, provider: str) -> list[Reply]:
        if provider == LIST_CALENDARS:
            return await self._picker.summary(person_id, now=self._calendars.clock())
        if provider.startswith(PICK_AGAIN):
            return await self._picker.reopen(person_id, provider.removeprefix(PICK_AGAIN))
        kind = _kind(provider)
        if kind is None:
            return [Reply(f"I cannot connect {provider!r} calendars this way; try iCloud, CalDAV or a feed address.")]
        if kind == "icloud":
            return [Reply("\n".join(ICLOUD_STEPS), form=_icloud_form(), private=True)]
        if kind == "caldav":
            return [Reply(
                "Tell me your CalDAV server's address and your sign-in. If your provider offers app passwords "
                "(Fastmail, Nextcloud, ...), use one.",
                form=_caldav_form(),
                private=True,
            )]
        return [Reply(
            "Paste your calendar's secret iCal address (Google: Settings -> your calendar -> Secret address in "
            "iCal format; Outlook: Settings -> Shared calendars -> Publish). I only read it, to see when you are "
            "busy.",
            form=_feed_form(),
            private=True,
        )]

    # --- submit ---------------------------------------------------------------------------------------------

    async def submit(self, person_id: str, form_id: str, values: dict[str, str]) -> list[Reply]:
        if self._picker.owns(form_id):
            return await self._picker.picked(person_id, form_id, values)
        kind = _kind(form_id.removeprefix(PREFIX))
        if kind is None:
            return [Reply("That form has expired; say \"connect my calendar\" to start again.")]
        clean = {k: (v or "").strip() for k, v in values.items()}
        if kind == "ics":
            return await self._feed(person_id, clean)
        return await self._dav(person_id, kind, clean)

    async def _dav(self, person_id: str, kind: str, values: dict[str, str]) -> list[Reply]:
        url = self._icloud_url if kind == "icloud" else values.get("url", "")
        username = values.get("username", "")
        password = values.get("password", "")
        form = _icloud_form if kind == "icloud" else _caldav_form
        errors: dict[str, str] = {}
        if kind == "caldav" and not url:
            errors["url"] = "Enter the server address, e.g. https://dav.example.com/"
        if not username:
            errors["username"] = "Enter your Apple ID (an e-mail address)" if kind == "icloud" else "Enter a username"
        if not password:
            errors["password"] = "Enter the app-specific password" if kind == "icloud" else "Enter the password"
        if kind == "caldav" and url and "://" not in url:
            url = "https://" + url
        if not errors and kind == "caldav" and urlsplit(url).scheme in ("http", "https"):
            problem = await self._private(url)  # other schemes: the provider says which it takes
            if problem:
                errors["url"] = problem
        provider: CalDAVProvider | None = None
        if not errors:
            try:
                provider = CalDAVProvider(url, username=username, password=password, policy=self._calendars.http_policy)
            except ValueError as exc:
                errors["url"] = str(exc)
        if errors or provider is None:
            return [_again(form(url=url, username=username), errors)]
        async with provider:
            try:
                found = await provider.check()
            except NeedsReconnect:
                field = "password"
                hint = (
                    "Apple did not accept that Apple ID and app-specific password. Check the Apple ID, and make a "
                    "new app-specific password if needed."
                    if kind == "icloud"
                    else "The server did not accept that username and password."
                )
                return [_again(form(url=url, username=username), {field: hint})]
            except ProviderError as exc:
                return [_again(form(url=url, username=username), {"url" if kind == "caldav" else "username": str(exc)})]
        usable = list(found)
        if not usable:
            return [Reply("I could connect, but found no calendars with events there.")]
        host = urlsplit(url).hostname or "CalDAV"
        display = username if kind == "icloud" else f"{username} at {host}"
        credentials = {"url": url, "username": username, "password": password}
        return await self._store(person_id, kind, display, credentials, usable)

    async def _feed(self, person_id: str, values: dict[str, str]) -> list[Reply]:
        raw = values.get("url", "")
        name = values.get("name", "") or "Calendar feed"
        try:
            url = normalize_feed_url(raw) if raw else ""
        except ValueError as exc:
            return [_again(_feed_form(name=name), {"url": str(exc)})]
        if not url:
            return [_again(_feed_form(name=name), {"url": "Paste the calendar's iCal address"})]
        problem = await self._private(url)
        if problem:
            return [_again(_feed_form(name=name), {"url": problem})]
        provider = IcsFeedProvider(url, name=name, policy=self._calendars.http_policy)
        async with provider:
            try:
                found = await provider.check()
            except NeedsReconnect:
                return [_again(_feed_form(name=name), {"url": "That address does not work (any more); copy it again."})]
            except ProviderError as exc:
                return [_again(_feed_form(name=name), {"url": str(exc)})]
        return await self._store(person_id, "ics", name, {"url": url}, found)

    async def _private(self, url: str) -> str | None:
        """Why a typed address may not be fetched (it points into a private network), or None."""
        if self._allow_private_hosts:
            return None
        try:
            await check_public_url(url)
        except PrivateAddress as exc:
            return str(exc)
        return None

    async def _store(
        self,
        person_id: str,
        kind: str,
        display: str,
        credentials: dict[str, str],
        found: Sequence[RemoteCalendar],
    ) -> list[Reply]:
        account, _ = await self._calendars.connect_account(
            person_id, kind, display, credentials=credentials, calendars=found
        )
        return [await self._picker.offer(person_id, account, found)]


class ConnectorRouter:
    """Several ``CalendarConnector``s behind one: ``start`` by provider name, ``submit`` by the form id's first
    part after ``connect:`` (``connect:icloud`` -> ``icloud``).  Register each connector under the provider names
    it starts and the form-id keys it issues."""

    def __init__(self, routes: dict[str, Any] | None = None) -> None:
        self.routes: dict[str, Any] = dict(routes or {})

    def add(self, connector: Any, *keys: str) -> None:
        for key in keys:
            self.routes[key.lower()] = connector

    @property
    def available(self) -> frozenset[str]:
        """The provider names that can be connected on this server (Google and Microsoft only when configured)."""
        return frozenset(k for k in self.routes if "-" not in k and k not in _NOT_PROVIDERS)

    async def start(self, person_id: str, provider: str) -> list[Reply]:
        connector = self.routes.get(provider.strip().split(":", 1)[0].lower())
        if connector is None:
            names = ", ".join(sorted(self.available))
            return [Reply(f"I cannot connect {provider!r} calendars here; I can connect: {names}.")]
        result: list[Reply] = await connector.start(person_id, provider)
        return result

    async def submit(self, person_id: str, form_id: str, values: dict[str, str]) -> list[Reply]:
        key = form_id.removeprefix(PREFIX).split(":", 1)[0].lower()
        connector = self.routes.get(key)
        if connector is None:
            return [Reply("That form has expired; say \"connect my calendar\" to start again.")]
        result: list[Reply] = await connector.submit(person_id, form_id, values)
        return result


def caldav_router(
    calendars: CalendarService, *, icloud_url: str = ICLOUD_URL, allow_private_hosts: bool = False
) -> ConnectorRouter:
    """A router with the CalDAV connector under its provider names and form keys."""
    router = ConnectorRouter()
    router.add(
        CalDAVConnector(calendars, icloud_url=icloud_url, allow_private_hosts=allow_private_hosts), *ROUTE_KEYS
    )
    return router


_NOT_PROVIDERS = (PICK_AGAIN.rstrip(":"), LIST_CALENDARS)  # the picker's keys: this connector answers them
ROUTE_KEYS = ("icloud", "caldav", "ics", "feed", "webcal", "caldav-pick", *_NOT_PROVIDERS)


def _kind(provider: str) -> str | None:
    key = provider.strip().lower()
    if key in ("icloud", "apple"):
        return "icloud"
    if key in ("caldav", "dav", "fastmail", "nextcloud"):
        return "caldav"
    if key in ("ics", "feed", "webcal", "ical"):
        return "ics"
    return None


def _icloud_form(*, url: str = "", username: str = "") -> Form:
    return Form(
        id=f"{PREFIX}icloud",
        title="Connect iCloud",
        fields=(
            Field("username", "Apple ID", kind="email", value=username, hint="The e-mail address you sign in with"),
            Field(
                "password",
                "App-specific password",
                kind="password",
                hint="appleid.apple.com -> Sign-In and Security -> App-Specific Passwords",
            ),
        ),
        submit_label="Connect",
    )


def _caldav_form(*, url: str = "", username: str = "") -> Form:
    return Form(
        id=f"{PREFIX}caldav",
        title="Connect a CalDAV calendar",
        fields=(
            Field("url", "Server address", value=url, hint="e.g. https://dav.example.com/ (from your provider's help)"),
            Field("username", "Username", value=username),
            Field("password", "Password or app password", kind="password"),
        ),
        submit_label="Connect",
    )


def _feed_form(*, name: str = "") -> Form:
    return Form(
        id=f"{PREFIX}ics",
        title="Add a calendar feed",
        fields=(
            Field("url", "Secret iCal address", kind="password", hint="Starts with https:// or webcal://"),
            Field("name", "Name", value=name or "", required=False, hint="e.g. Work calendar"),
        ),
        submit_label="Add",
    )


def _again(form: Form, errors: dict[str, str]) -> Reply:
    fields = tuple(
        Field(f.name, f.label, kind=f.kind, value=f.value, options=f.options, hint=f.hint, required=f.required,
              error=errors.get(f.name, ""))
        for f in form.fields
    )
    first = next(iter(errors.values()))
    return Reply(first, form=Form(form.id, form.title, fields, form.submit_label), private=True)
