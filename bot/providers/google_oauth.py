"""Connecting a Google account: the OAuth web flow from a link the bot sends, and domain-wide delegation.

Web flow (google_auth_oauthlib ``Flow``, PKCE S256):

1. ``start_url(person_id)`` makes a random ``state`` and a code verifier, keeps both server-side in the
   conversation-state table (``google-oauth:<state>``, 15 minutes), and returns Google's consent URL
   (``access_type=offline``, ``prompt=consent`` so a refresh token always comes back).
2. Google redirects to ``/oauth/google/callback?state=...&code=...``; the route calls ``finish(state, code)``,
   which takes the state (once: a second use is refused), exchanges the code with the verifier at the token
   endpoint (``GOOGLE_TOKEN_URL``), lists the calendars, then stores the account, its credentials (encrypted by
   ``storage.credentials``) and its calendars.  Reconnecting the same Google account updates it in place.

Delegation: ``connect_delegated`` uses a service account key with ``with_subject(person's e-mail)`` instead of
the person's consent (Google Workspace admins allow the client id for the calendar scopes).

Nothing here logs or returns a token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.providers.google import (
    DEFAULT_SCOPES,
    DEFAULT_TOKEN_URL,
    SCOPE_READONLY,
    GoogleProvider,
    WatchChannel,
    build_credentials,
    credentials_to_data,
    make_google_provider,
    parse_notification,
    push_address,
    verify_notification,
)
from bot.scheduling.ports import NeedsReconnect, ProviderError, RemoteCalendar

__all__ = ["AUTH_URL", "CALLBACK_PATH", "GoogleConnector", "GoogleOAuth", "GoogleOAuthError", "GooglePush"]

log = logging.getLogger(__name__)

AUTH_URL = "https://accounts.google.com/o/oauth2/auth"
CALLBACK_PATH = "/oauth/google/callback"
STATE_PREFIX = "google-oauth:"
STATE_TTL = timedelta(minutes=15)


class GoogleOAuthError(Exception):
    """The connection could not be made; the message is meant for the person."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class GoogleOAuth:
    """The Google connection flows for one bot: build it once (``App.google_oauth``) and share it."""

    def __init__(
        self,
        storage: Any,
        settings: Any,
        *,
        clock: Callable[[], datetime] = _utc_now,
        scopes: Sequence[str] = DEFAULT_SCOPES,
        redirect_uri: str | None = None,
        provider_options: Mapping[str, Any] | None = None,
        calendars: Any = None,
        push: GooglePush | None = None,
    ) -> None:
        self.push = push  # when set (and PUBLIC_URL is https), new accounts get notification channels
        self._storage = storage
        self._calendars = calendars  # a CalendarService: its connect_account stores the account when given
        self._settings = settings
        self._clock = clock
        self._scopes = tuple(scopes)
        self._provider_options = dict(provider_options or {})
        if redirect_uri is None:
            public = getattr(settings, "public_url", None)
            base = str(public).rstrip("/") if public else f"http://{settings.host}:{settings.port}"
            redirect_uri = base + CALLBACK_PATH
        self.redirect_uri = redirect_uri

    def __repr__(self) -> str:
        return f"GoogleOAuth(redirect_uri={self.redirect_uri!r})"

    @property
    def configured(self) -> bool:
        return bool(getattr(self._settings, "google_client_id", None)) and bool(
            getattr(self._settings, "google_client_secret", None)
        )

    def _flow(self, *, state: str | None = None, code_verifier: str | None = None) -> Any:
        from google_auth_oauthlib.flow import Flow

        if not self.configured:
            raise GoogleOAuthError("Google Calendar is not set up on this bot yet (GOOGLE_CLIENT_ID is missing).")
        config = {
            "web": {
                "client_id": self._settings.google_client_id,
                "client_secret": self._settings.google_client_secret,
                "auth_uri": AUTH_URL,
                "token_uri": getattr(self._settings, "google_token_url", None) or DEFAULT_TOKEN_URL,
                "redirect_uris": [self.redirect_uri],
            }
        }
        return Flow.from_client_config(
            config,
            scopes=list(self._scopes),
            redirect_uri=self.redirect_uri,
            state=state,
            code_verifier=code_verifier,
            autogenerate_code_verifier=code_verifier is None,
        )

    # -- step 1: the link

    def start_url(self, person_id: str) -> str:
        """Google's consent URL for ``person_id``; state and PKCE verifier are kept server-side (blocking: a
        small database write; call it through ``asyncio.to_thread`` from async code)."""
        state = secrets.token_urlsafe(24)
        flow = self._flow(state=state)
        url, returned_state = flow.authorization_url(
            access_type="offline", prompt="consent", include_granted_scopes="true"
        )
        if returned_state != state or not flow.code_verifier:
            raise GoogleOAuthError("could not prepare the Google sign-in link")
        now = self._clock()
        self._storage.conversations.save_state(
            STATE_PREFIX + state,
            {"person_id": person_id, "code_verifier": flow.code_verifier, "created_at": now.isoformat()},
            expires_at=now + STATE_TTL,
        )
        return str(url)

    # -- step 2: the callback

    async def finish(self, state: str, code: str) -> Any:
        """Exchange the code and store the account; returns the ``CalendarAccount``.  Raises
        ``GoogleOAuthError`` with a message for the person when the link is unknown, used or expired, or when
        Google refuses the code."""
        account, _ = await self.finish_listing(state, code)
        return account

    async def finish_listing(self, state: str, code: str) -> tuple[Any, list[RemoteCalendar]]:
        """``finish``, also returning the calendars Google listed (for the pick form)."""
        if not state or not code:
            raise GoogleOAuthError("The sign-in answer from Google is incomplete; please start again.")
        key = STATE_PREFIX + state
        saved = await asyncio.to_thread(self._storage.conversations.load_state, key, now=self._clock())
        if saved is None:
            raise GoogleOAuthError(
                "This sign-in link has expired or was already used; ask me to connect Google Calendar again."
            )
        # One use only: a replayed callback finds nothing.
        await asyncio.to_thread(self._storage.conversations.delete_state, key)
        person_id = str(saved["person_id"])
        flow = self._flow(state=state, code_verifier=str(saved["code_verifier"]))
        token = await asyncio.to_thread(self._exchange, flow, code)
        scope = token.get("scope") or list(self._scopes)
        granted = scope.split() if isinstance(scope, str) else [str(s) for s in scope]
        if SCOPE_READONLY not in granted and "https://www.googleapis.com/auth/calendar" not in granted:
            raise GoogleOAuthError(
                "Google did not give me access to your calendars: please connect again and tick the calendar boxes."
            )
        if not token.get("refresh_token"):
            raise GoogleOAuthError("Google did not give me lasting access; please connect again.")
        from google.oauth2 import credentials as user_credentials

        credentials_class: Any = user_credentials.Credentials
        expires_at = token.get("expires_at")
        creds = credentials_class(
            token=token["access_token"],
            refresh_token=token["refresh_token"],
            scopes=granted,
            expiry=datetime.fromtimestamp(float(expires_at), UTC).replace(tzinfo=None) if expires_at else None,
        )
        data = credentials_to_data(creds, scopes=granted)
        return await self._store(person_id, data)

    @staticmethod
    def _exchange(flow: Any, code: str) -> dict[str, Any]:
        try:
            return dict(flow.fetch_token(code=code))
        except Warning as changed:
            # oauthlib raises when Google granted fewer scopes than asked (granular consent): take what we got.
            token = getattr(changed, "token", None)
            if token is None:
                raise GoogleOAuthError("Google refused the sign-in; please start again.") from None
            return dict(token)
        except Exception as exc:
            log.info("google oauth: code exchange failed (%s)", type(exc).__name__)
            raise GoogleOAuthError("Google refused the sign-in (the link may be stale); please start again.") from None

    async def oauth_callback(self, provider: str, params: Mapping[str, str]) -> Any:
        """``App.oauth_callbacks`` shape for ``GET /oauth/google/callback``: an ``OAuthOutcome`` to show."""
        from bot.adapters.web.oauth import OAuthOutcome

        if provider != "google":
            return OAuthOutcome(False, "This link is not for Google Calendar.")
        state = params.get("state", "")
        if params.get("error"):
            if state:  # the person said no on Google's page: the link is used up
                await asyncio.to_thread(self._storage.conversations.delete_state, STATE_PREFIX + state)
            return OAuthOutcome(False, "Google Calendar was not connected: access was not granted on Google's page.")
        try:
            account, calendars = await self.finish_listing(state, params.get("code", ""))
        except GoogleOAuthError as exc:
            return OAuthOutcome(False, str(exc))
        return OAuthOutcome(
            True,
            f"Connected Google Calendar {account.display_name}. Back in the chat, pick which calendars count as "
            "busy and which one gets your bookings.",
            person_id=account.person_id,
            account=account,
            calendars=tuple(calendars),
        )

    # -- domain-wide delegation

    async def connect_delegated(
        self, person_id: str, *, subject: str, service_account_info: Mapping[str, Any]
    ) -> Any:
        """Connect ``subject``'s calendar through a service account with domain-wide delegation."""
        data = {
            "type": "service_account",
            "info": dict(service_account_info),
            "subject": subject,
            "scopes": list(self._scopes),
        }
        account, _ = await self._store(person_id, data, display_name=subject)
        return account

    # -- shared

    def _provider(self, data: Mapping[str, Any]) -> GoogleProvider:
        provider = GoogleProvider(
            build_credentials(data, self._settings),
            api_url=getattr(self._settings, "google_api_url", None),
            **self._provider_options,
        )
        return provider

    async def _store(
        self, person_id: str, data: dict[str, Any], *, display_name: str | None = None
    ) -> tuple[Any, list[RemoteCalendar]]:
        """Store the account and its calendars; returns the account and what Google listed."""
        try:
            calendars = await self._provider(data).list_calendars()
        except NeedsReconnect:
            raise GoogleOAuthError("Google did not accept the new sign-in; please connect again.") from None
        except ProviderError as exc:
            raise GoogleOAuthError(f"I could not read your Google calendars right now ({exc}); try again.") from None
        primary = next((c for c in calendars if c.primary), None)
        name = display_name or (primary.external_id if primary else "Google Calendar")
        if self._calendars is not None and hasattr(self._calendars, "connect_account"):
            account, _ = await self._calendars.connect_account(
                person_id, "google", name, credentials=data, calendars=calendars
            )
        else:
            account = await asyncio.to_thread(self._save, person_id, name, data, calendars)
        if self.push is not None and self.push.enabled:
            try:
                await self.push.watch_account(account.id)
            except ProviderError as exc:  # connected all the same: polling covers it
                log.info("google: no notification channel for %s: %s", account.id, exc)
        return account, list(calendars)

    def _save(self, person_id: str, name: str, data: dict[str, Any], calendars: list[RemoteCalendar]) -> Any:
        repo = self._storage.calendars
        now = self._clock()
        existing = next(
            (a for a in repo.accounts_for_person(person_id) if a.provider == "google" and a.display_name == name),
            None,
        )
        if existing is not None:  # reconnecting: new credentials, status back to ok
            self._storage.credentials.put(existing.id, data, now=now)
            repo.mark_synced(existing.id, now=now)
            account = repo.get_account(existing.id)
        else:
            account = repo.add_account(person_id, "google", name, now=now)
            try:
                self._storage.credentials.put(account.id, data, now=now)
            except Exception:
                repo.delete_account(account.id)  # nothing half-written
                raise
        repo.store_listed(account.id, calendars)
        return account



class GoogleConnector:
    """The chat side of connecting (``CalendarConnector``): "connect my google calendar" -> a one-use sign-in link,
    private to the asker."""

    def __init__(self, oauth: GoogleOAuth) -> None:
        self._oauth = oauth

    async def start(self, person_id: str, provider: str) -> list[Any]:
        from bot.handlers.replies import Reply

        try:
            url = await asyncio.to_thread(self._oauth.start_url, person_id)
        except GoogleOAuthError as exc:
            return [Reply(str(exc), private=True)]
        return [
            Reply(
                "Open this link to connect your Google Calendar (it works once, for 15 minutes):\n" + url,
                private=True,
                details=("I only read when you are busy, never what your events are about.",),
            )
        ]

    async def submit(self, person_id: str, form_id: str, values: dict[str, str]) -> list[Any]:
        from bot.handlers.replies import Reply

        return [Reply('Google calendars connect through the sign-in link; say "connect google" for a new one.')]


CHANNEL_PREFIX = "google-channel:"
ACCOUNT_CHANNELS_PREFIX = "google-channels:"


class GooglePush:
    """Push channels for connected Google accounts, kept in the conversation-state table (no table of their own):
    ``google-channel:<channel id>`` -> account, calendar, token, expiry; ``google-channels:<account id>`` -> the
    account's channel ids.  Without an https ``PUBLIC_URL`` nothing is opened and the caller keeps polling
    (``CalendarService.sync_all``)."""

    def __init__(
        self,
        storage: Any,
        settings: Any,
        *,
        clock: Callable[[], datetime] = _utc_now,
        sync: Callable[[str], Awaitable[object]] | None = None,
        provider_options: Mapping[str, Any] | None = None,
    ) -> None:
        self._storage = storage
        self._settings = settings
        self._clock = clock
        self.sync = sync  # called with the account id when Google says a calendar changed
        self._provider_options = dict(provider_options or {})
        self.address = push_address(settings)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    async def _provider(self, account: Any) -> GoogleProvider:
        creds = await asyncio.to_thread(self._storage.credentials.get, account.id)
        if creds is None:
            raise NeedsReconnect(f"no stored sign-in for {account.display_name}")
        return make_google_provider(account, creds, self._settings, **self._provider_options)

    def _save(self, account_id: str, channels: Sequence[WatchChannel]) -> None:
        conv = self._storage.conversations
        now = self._clock()
        old = conv.load_state(ACCOUNT_CHANNELS_PREFIX + account_id, now=now) or {}
        for channel_id in old.get("channels", []):
            conv.delete_state(CHANNEL_PREFIX + str(channel_id))
        for ch in channels:
            conv.save_state(
                CHANNEL_PREFIX + ch.channel_id,
                {"account_id": account_id, "calendar_id": ch.calendar_id, "resource_id": ch.resource_id,
                 "token": ch.token, "expiration": ch.expiration.isoformat(), "address": ch.address},
                expires_at=ch.expiration,
            )
        latest = max((ch.expiration for ch in channels), default=now + timedelta(days=1))
        conv.save_state(
            ACCOUNT_CHANNELS_PREFIX + account_id, {"channels": [ch.channel_id for ch in channels]}, expires_at=latest
        )

    def _load(self, account_id: str) -> list[WatchChannel]:
        conv = self._storage.conversations
        now = self._clock()
        index = conv.load_state(ACCOUNT_CHANNELS_PREFIX + account_id, now=now) or {}
        out: list[WatchChannel] = []
        for channel_id in index.get("channels", []):
            st = conv.load_state(CHANNEL_PREFIX + str(channel_id), now=now)
            if st is not None:
                out.append(WatchChannel(str(st["calendar_id"]), str(channel_id), str(st["resource_id"]),
                                        str(st["token"]), datetime.fromisoformat(str(st["expiration"])),
                                        str(st["address"])))
        return out

    async def watch_account(self, account_id: str) -> list[WatchChannel]:
        """Open a channel per calendar of the account (after connecting it): a change in any of them syncs the
        account, whichever calendars the person later picks."""
        if self.address is None:
            return []
        account = await asyncio.to_thread(self._storage.calendars.get_account, account_id)
        if account is None or account.provider != "google":
            return []
        calendars = await asyncio.to_thread(self._storage.calendars.calendars_for_account, account_id)
        provider = await self._provider(account)
        old = await asyncio.to_thread(self._load, account_id)
        channels = [
            await provider.watch(c.external_id, address=self.address) for c in calendars
        ]
        await asyncio.to_thread(self._save, account_id, channels)
        for channel in old:
            with contextlib.suppress(ProviderError):
                await provider.stop_channel(channel)
        return channels

    async def renew_due(self, *, margin: timedelta = timedelta(hours=6)) -> int:
        """Replace channels that expire within ``margin``; the number renewed.  Run it periodically."""
        if self.address is None:
            return 0
        now = self._clock()
        renewed = 0
        for account in await asyncio.to_thread(self._storage.calendars.all_accounts):
            if account.provider != "google" or account.status != "ok":
                continue
            channels = await asyncio.to_thread(self._load, account.id)
            if not any(ch.expiration - margin <= now for ch in channels):
                continue
            try:
                provider = await self._provider(account)
                provider.adopt_channels(channels)
                new = await provider.renew_if_needed(now, margin=margin)
            except ProviderError as exc:
                log.info("google: could not renew channels of %s: %s", account.id, exc)
                continue
            await asyncio.to_thread(self._save, account.id, list(provider.channels.values()))
            renewed += len(new)
        return renewed

    async def handle(self, headers: Mapping[str, str]) -> int:
        """A POST to the notification address: the HTTP status to answer.  Only a notification carrying the
        channel's own token triggers a sync."""
        note = parse_notification(headers)
        if note is None:
            return 400
        st = await asyncio.to_thread(
            self._storage.conversations.load_state, CHANNEL_PREFIX + note.channel_id, now=self._clock()
        )
        if st is None or not verify_notification(headers, str(st.get("token", ""))):
            return 403
        if note.state != "sync" and self.sync is not None:
            await self.sync(str(st["account_id"]))
        return 200
