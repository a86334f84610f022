"""Signing in to Microsoft (msal): the delegated auth-code flow and organisation-wide client credentials.

Delegated (a person connects their own Microsoft 365 / Outlook.com calendar)
    ``start_url(person_id)`` asks msal for an authorization URL (PKCE S256, ``state`` and ``nonce`` made by msal)
    and keeps msal's flow dict server-side in the conversation-state table under ``msal-flow:<state>`` for 15
    minutes.  The web route ``GET /oauth/microsoft/callback`` hands the query to ``finish(state, params)``:
    the flow is taken (one use), msal redeems the code (checking state, nonce and the PKCE verifier), the
    account is created with ``storage.calendars.add_account(provider="microsoft")`` (or the person's existing
    account for the same Microsoft user is reconnected) and its calendars are listed and upserted.
    msal's ``SerializableTokenCache`` (access, refresh and id tokens) is kept only inside the encrypted
    credential record (``storage.credentials``); refreshed tokens are written back after every refresh.

Organisation-wide (app-only)
    With ``MS_TENANT_ID`` set, ``connect_mailbox(person_id, email)`` creates an account that acts on
    ``/users/{email}/...`` with a client-credentials token (``https://graph.microsoft.com/.default``).  Its
    record holds no secret: the token is made from MS_CLIENT_SECRET and cached in memory.

Authority
    ``MS_AUTHORITY_URL`` (default ``https://login.microsoftonline.com``) is the identity platform's instance; a
    path on it is the delegated tenant (default ``common``: work, school and personal accounts).  msal fetches
    ``{authority}/v2.0/.well-known/openid-configuration`` and requires https; the instance-discovery call to
    login.microsoftonline.com is turned off (``instance_discovery=False``) because the authority is our own
    configuration, never user input.  ``verify`` (a CA bundle path) lets tests trust a loopback fake's
    certificate; ``REQUESTS_CA_BUNDLE`` does the same in deployments behind a private CA.

Errors: ``invalid_grant`` / ``interaction_required`` (revoked, expired, password changed) -> ``NeedsReconnect``;
anything else that goes wrong reaching the identity platform -> ``ProviderError``.  Tokens are never logged.
msal is blocking (requests): every msal call runs in ``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import warnings
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

import aiohttp
import msal
import requests
import requests.adapters

from bot.config import Settings
from bot.providers.microsoft import (
    DEFAULT_GRAPH_URL,
    GraphProvider,
    GraphSubscription,
    TokenSource,
    check_notifications,
    subscription_due,
)
from bot.scheduling.ports import NeedsReconnect, ProviderError, RemoteCalendar

__all__ = [
    "APP_SCOPES",
    "CALLBACK_PATH",
    "DEFAULT_AUTHORITY",
    "DELEGATED_SCOPES",
    "AppTokens",
    "DelegatedTokens",
    "MicrosoftAuth",
    "MicrosoftAuthError",
    "MicrosoftConnector",
    "make_graph_provider",
]

log = logging.getLogger(__name__)

DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
CALLBACK_PATH = "/oauth/microsoft/callback"
DELEGATED_SCOPES = ("Calendars.ReadWrite", "User.Read")  # msal adds openid, profile and offline_access
APP_SCOPES = ("https://graph.microsoft.com/.default",)
FLOW_PREFIX = "msal-flow:"
FLOW_TTL = timedelta(minutes=15)
SUBSCRIPTION_PREFIX = "graph-subscription:"
_RECONNECT_ERRORS = {"invalid_grant", "interaction_required", "consent_required", "login_required"}


class MicrosoftAuthError(Exception):
    """A sign-in that cannot complete; the message is meant for the person."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _instance(settings: Settings) -> tuple[str, str | None]:
    """(scheme://host[:port], path tenant or None) of MS_AUTHORITY_URL."""
    url = (settings.ms_authority_url or DEFAULT_AUTHORITY).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc:
        raise ValueError(f"MS_AUTHORITY_URL must be an https URL, not {url!r}")
    tenant = parts.path.strip("/") or None
    return f"{parts.scheme}://{parts.netloc}", tenant


class _CaSession(requests.Session):
    """A requests session that always verifies with ``ca`` (requests lets REQUESTS_CA_BUNDLE override a
    session's ``verify``; a per-request ``verify`` wins, so it is set on every request)."""

    def __init__(self, ca: str, timeout: float) -> None:
        super().__init__()
        self._ca = ca
        self._timeout = timeout
        adapter = requests.adapters.HTTPAdapter(max_retries=1)
        self.mount("https://", adapter)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs["verify"] = self._ca
        kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, *args, **kwargs)


def _build_app(
    settings: Settings, authority: str, *, cache: msal.TokenCache | None, verify: bool | str, timeout: float
) -> msal.ConfidentialClientApplication:
    if not settings.ms_client_id or not settings.ms_client_secret:
        raise ProviderError("Microsoft calendars are not configured (MS_CLIENT_ID and MS_CLIENT_SECRET)")
    try:
        return msal.ConfidentialClientApplication(
            settings.ms_client_id,
            client_credential=settings.ms_client_secret,
            authority=authority,
            token_cache=cache,
            http_client=_CaSession(verify, timeout) if isinstance(verify, str) else None,
            verify=verify,
            timeout=timeout,
            instance_discovery=False,
        )
    except ValueError as exc:  # msal: bad authority, discovery refused
        raise ProviderError(f"the Microsoft identity platform at {authority} could not be used: {exc}") from None
    except OSError as exc:  # requests' ConnectionError / Timeout are OSErrors
        raise ProviderError(f"the Microsoft identity platform could not be reached ({type(exc).__name__})") from None


def _interpret(result: Mapping[str, Any] | None, *, what: str) -> str:
    if result is None:
        raise NeedsReconnect(f"no Microsoft sign-in is stored for this account; could not {what}")
    if "access_token" in result:
        return str(result["access_token"])
    error = str(result.get("error") or "unknown_error")
    if error in _RECONNECT_ERRORS:
        raise NeedsReconnect(f"Microsoft ended this account's sign-in ({error}); could not {what}")
    raise ProviderError(f"the Microsoft identity platform refused a token ({error}); could not {what}")


Save = Callable[[dict[str, Any]], Awaitable[None]]


def _save_token_cache(storage: Any, account_id: str, record: Mapping[str, Any], now: datetime | None) -> None:
    """Write a refreshed token cache into the account's record, keeping whatever else it holds now."""
    current = storage.credentials.get(account_id) or {}
    current.update({k: v for k, v in record.items() if k in ("token_cache", "home_account_id")})
    storage.credentials.put(account_id, current, now=now)


class DelegatedTokens:
    """``TokenSource`` for a delegated account: msal's cache from the credential record; refreshes silently and
    hands the changed cache to ``save`` (which writes the encrypted record)."""

    def __init__(
        self,
        settings: Settings,
        credentials: Mapping[str, Any],
        *,
        save: Save | None = None,
        verify: bool | str = True,
        timeout: float = 10.0,
        scopes: tuple[str, ...] = DELEGATED_SCOPES,
    ) -> None:
        self._settings = settings
        self._record = dict(credentials)
        self._save = save
        self._verify = verify
        self._timeout = timeout
        self._scopes = list(scopes)
        self._cache = msal.SerializableTokenCache()
        if credentials.get("token_cache"):
            self._cache.deserialize(str(credentials["token_cache"]))
        self._app: msal.ConfidentialClientApplication | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"DelegatedTokens(user={self._record.get('username')!r})"

    async def token(self, *, force_refresh: bool = False) -> str:
        async with self._lock:
            token = await asyncio.to_thread(self._acquire, force_refresh)
            if self._cache.has_state_changed and self._save is not None:
                self._record["token_cache"] = self._cache.serialize()
                await self._save(dict(self._record))
                self._cache.has_state_changed = False
            return token

    def _acquire(self, force_refresh: bool) -> str:
        if self._app is None:
            instance, tenant = _instance(self._settings)
            self._app = _build_app(
                self._settings,
                f"{instance}/{tenant or 'common'}",
                cache=self._cache,
                verify=self._verify,
                timeout=self._timeout,
            )
        accounts = self._app.get_accounts()
        wanted = self._record.get("home_account_id")
        account = next((a for a in accounts if a.get("home_account_id") == wanted), accounts[0] if accounts else None)
        if account is None:
            raise NeedsReconnect("no Microsoft sign-in is stored for this account")
        try:
            result = self._app.acquire_token_silent_with_error(self._scopes, account, force_refresh=force_refresh)
        except OSError as exc:
            raise ProviderError(
                f"the Microsoft identity platform could not be reached ({type(exc).__name__})"
            ) from None
        return _interpret(result, what="refresh the Microsoft sign-in")


class AppTokens:
    """``TokenSource`` for organisation-wide access: client credentials for MS_TENANT_ID (msal caches the token)."""

    def __init__(self, settings: Settings, *, verify: bool | str = True, timeout: float = 10.0) -> None:
        if not settings.ms_tenant_id:
            raise ProviderError("organisation-wide Microsoft access needs MS_TENANT_ID")
        self._settings = settings
        self._verify = verify
        self._timeout = timeout
        self._app: msal.ConfidentialClientApplication | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"AppTokens(tenant={self._settings.ms_tenant_id!r})"

    async def token(self, *, force_refresh: bool = False) -> str:
        return await asyncio.to_thread(self._acquire, force_refresh)

    def _acquire(self, force_refresh: bool) -> str:
        with self._lock:
            if self._app is None:
                instance, _ = _instance(self._settings)
                self._app = _build_app(
                    self._settings,
                    f"{instance}/{self._settings.ms_tenant_id}",
                    cache=msal.TokenCache(),
                    verify=self._verify,
                    timeout=self._timeout,
                )
            if force_refresh:
                cache = self._app.token_cache
                for item in cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN):
                    cache.remove_at(item)
            try:
                result = self._app.acquire_token_for_client(scopes=list(APP_SCOPES))
            except OSError as exc:
                raise ProviderError(
                    f"the Microsoft identity platform could not be reached ({type(exc).__name__})"
                ) from None
        if result and result.get("error") in ("invalid_client", "unauthorized_client"):
            raise NeedsReconnect(f"Microsoft refused the app's credentials ({result['error']}): check MS_CLIENT_SECRET")
        return _interpret(result, what="get an organisation-wide Microsoft token")


@dataclass
class MicrosoftAuth:
    """The Microsoft sign-in flows and the providers of connected Microsoft accounts.

    ``storage`` is the ``Storage`` bundle (calendars, credentials, conversations).  ``graph_url`` defaults to
    GRAPH_API_URL.  ``verify``: a CA bundle for the identity platform (tests), else the system's.
    """

    settings: Settings
    storage: Any
    clock: Callable[[], datetime] = _utc_now
    verify: bool | str = True
    timeout: float = 10.0
    provider_options: Mapping[str, Any] | None = None  # extra GraphProvider keywords (tests: retries, sleep)
    # Called for each genuine notification: (account id, "sync" | "resync" | "renew" | "resubscribe").
    on_notification: Callable[[str, str], Awaitable[None]] | None = None

    def __post_init__(self) -> None:
        self._app_tokens: AppTokens | None = None

    def __repr__(self) -> str:
        return f"MicrosoftAuth(client_id={self.settings.ms_client_id!r})"

    @property
    def redirect_uri(self) -> str:
        base = (self.settings.public_url or f"http://{self.settings.host}:{self.settings.port}").rstrip("/")
        return base + CALLBACK_PATH

    @property
    def graph_url(self) -> str:
        return self.settings.graph_api_url or DEFAULT_GRAPH_URL

    def _delegated_app(self, cache: msal.TokenCache | None) -> msal.ConfidentialClientApplication:
        instance, tenant = _instance(self.settings)
        return _build_app(
            self.settings, f"{instance}/{tenant or 'common'}", cache=cache, verify=self.verify, timeout=self.timeout
        )

    # -------------------------------------------------------------------------------- delegated flow

    def start_url(self, person_id: str, *, login_hint: str | None = None) -> str:
        """The sign-in link for ``person_id`` (blocking: msal may fetch the discovery document; from async code
        use ``astart_url``).  The flow (PKCE verifier, nonce, state) stays on the server."""
        app = self._delegated_app(None)
        with warnings.catch_warnings():
            # msal suggests response_mode=form_post; the callback is a GET route and the code it carries is
            # single-use, bound to the PKCE verifier and worthless without the client secret.
            warnings.filterwarnings("ignore", message="response_mode='form_post' is recommended")
            flow = app.initiate_auth_code_flow(
                list(DELEGATED_SCOPES), redirect_uri=self.redirect_uri, login_hint=login_hint, prompt="select_account"
            )
        now = self.clock()
        self.storage.conversations.save_state(
            FLOW_PREFIX + flow["state"], {"person_id": person_id, "flow": flow}, expires_at=now + FLOW_TTL, now=now
        )
        return str(flow["auth_uri"])

    async def astart_url(self, person_id: str, *, login_hint: str | None = None) -> str:
        return await asyncio.to_thread(self.start_url, person_id, login_hint=login_hint)

    async def finish(self, state: str, params: Mapping[str, str]) -> Any:
        """Complete the sign-in from the callback's query parameters; returns the ``CalendarAccount``.
        Raises ``MicrosoftAuthError`` with a message for the person when it cannot."""
        account, _ = await self.finish_listing(state, params)
        return account

    async def finish_listing(self, state: str, params: Mapping[str, str]) -> tuple[Any, list[RemoteCalendar]]:
        """``finish``, also returning the calendars Graph listed (for the pick form)."""
        key = FLOW_PREFIX + (state or "")
        saved = await asyncio.to_thread(self.storage.conversations.load_state, key, now=self.clock())
        if not state or saved is None:
            raise MicrosoftAuthError(
                "This Microsoft sign-in link has expired or was already used. Ask me for a new one."
            )
        await asyncio.to_thread(self.storage.conversations.delete_state, key)
        if params.get("error"):
            raise MicrosoftAuthError(
                f"Microsoft did not connect the calendar ({params['error']}). Nothing was changed; you can try again."
            )
        person_id = str(saved["person_id"])
        flow = dict(cast(Mapping[str, Any], saved["flow"]))
        cache = msal.SerializableTokenCache()
        result, home_account_id = await asyncio.to_thread(self._redeem, flow, dict(params), cache)
        if "access_token" not in result:
            raise MicrosoftAuthError(
                f"Microsoft refused the sign-in ({result.get('error') or 'unknown error'}). Please try again."
            )
        claims = result.get("id_token_claims") or {}
        username = str(claims.get("preferred_username") or claims.get("email") or claims.get("name") or "Microsoft")
        record = {
            "kind": "delegated",
            "token_cache": cache.serialize(),
            "home_account_id": home_account_id,
            "username": username,
        }
        account = await asyncio.to_thread(self._save_account, person_id, username, record)
        return account, await self.refresh_calendars(account, record)

    def _redeem(
        self, flow: dict[str, Any], params: dict[str, str], cache: msal.SerializableTokenCache
    ) -> tuple[dict[str, Any], str | None]:
        app = self._delegated_app(cache)
        try:
            result = app.acquire_token_by_auth_code_flow(flow, params)
        except ValueError:  # state mismatch, nonce mismatch, malformed response
            raise MicrosoftAuthError("This Microsoft sign-in answer did not match the link it came from.") from None
        except OSError:
            raise MicrosoftAuthError(
                "Microsoft could not be reached to finish the sign-in. Please try again."
            ) from None
        accounts = app.get_accounts()
        return result, (accounts[0].get("home_account_id") if accounts else None)

    def _save_account(self, person_id: str, username: str, record: dict[str, Any]) -> Any:
        calendars = self.storage.calendars
        now = self.clock()
        existing = next(
            (
                a
                for a in calendars.accounts_for_person(person_id)
                if a.provider == "microsoft" and a.display_name == username
            ),
            None,
        )
        if existing is not None:
            self.storage.credentials.put(existing.id, record, now=now)
            calendars.mark_synced(existing.id, now=now)  # status back to ok: reconnected
            return calendars.get_account(existing.id)
        account = calendars.add_account(person_id, "microsoft", username, now=now)
        try:
            self.storage.credentials.put(account.id, record, now=now)
        except Exception:
            calendars.delete_account(account.id)  # never an account without credentials
            raise
        return account

    async def refresh_calendars(self, account: Any, credentials: Mapping[str, Any]) -> list[RemoteCalendar]:
        """List the account's calendars and upsert them (a new one counts as busy when it is the person's own,
        until they pick); returns what Graph listed.  A failure is recorded on the account and re-raised."""
        provider = self.provider(account, credentials)
        try:
            remote = await provider.list_calendars()
        except ProviderError as exc:
            await asyncio.to_thread(self.storage.calendars.record_error, account.id, error=str(exc))
            raise
        await asyncio.to_thread(self.storage.calendars.store_listed, account.id, remote)
        return list(remote)

    async def oauth_callback(self, provider: str, params: Mapping[str, str]) -> Any:
        """``App.oauth_callbacks`` for ``GET /oauth/microsoft/callback``: finish and say what happened."""
        from bot.adapters.web.oauth import OAuthOutcome

        if provider != "microsoft":
            return OAuthOutcome(False, f"This server cannot finish a {provider} sign-in here.")
        try:
            account, calendars = await self.finish_listing(str(params.get("state", "")), params)
        except MicrosoftAuthError as exc:
            return OAuthOutcome(False, str(exc))
        except ProviderError as exc:
            return OAuthOutcome(False, f"Connected, but the calendars could not be listed yet: {exc}")
        count = len(await asyncio.to_thread(self.storage.calendars.calendars_for_account, account.id))
        return OAuthOutcome(
            True,
            f"Connected {count} calendar{'s' if count != 1 else ''} of {account.display_name}. "
            "Back in chat, pick which ones count as busy and which one gets your bookings.",
            person_id=account.person_id,
            account=account,
            calendars=tuple(calendars),
        )

    # ----------------------------------------------------------------------------- organisation-wide

    async def connect_mailbox(self, person_id: str, email: str) -> Any:
        """An organisation-wide (app-only) account for ``email``'s mailbox in MS_TENANT_ID."""
        if not self.settings.ms_tenant_id:
            raise MicrosoftAuthError("Organisation-wide Microsoft access is not set up (MS_TENANT_ID).")
        email = email.strip()
        if "@" not in email:
            raise MicrosoftAuthError(f"{email!r} is not an e-mail address.")
        record = {"kind": "app", "user": email, "tenant": self.settings.ms_tenant_id}

        def save() -> Any:
            now = self.clock()
            account = self.storage.calendars.add_account(person_id, "microsoft", email, now=now)
            self.storage.credentials.put(account.id, record, now=now)
            return account

        account = await asyncio.to_thread(save)
        await self.refresh_calendars(account, record)
        return account

    # ---------------------------------------------------------------------------------- subscriptions

    async def ensure_subscription(
        self, account: Any, credentials: Mapping[str, Any], *, notification_url: str, lifecycle_url: str | None = None
    ) -> GraphSubscription:
        """The account's change subscription: created when there is none, renewed (PATCH) when it expires within
        12 hours, else left alone.  Kept in the encrypted record (its clientState is a secret) and indexed by
        subscription id in the conversation-state table for the notification route."""
        now = self.clock()
        provider = self.provider(account, credentials)
        saved = credentials.get("subscription")
        current = GraphSubscription.from_record(saved) if isinstance(saved, Mapping) else None
        if current is None:
            fresh = await provider.subscribe(notification_url=notification_url, lifecycle_url=lifecycle_url, now=now)
        elif subscription_due(current, now=now):
            fresh = await provider.renew_subscription(current, now=now)
        else:
            return current
        await asyncio.to_thread(self._remember_subscription, account.id, fresh, current)
        return fresh

    async def ensure_all_subscriptions(self, *, notification_url: str) -> int:
        """Run periodically: every connected Microsoft account gets (or keeps, or renews) its change subscription.
        Returns how many accounts are covered; an account whose credentials died is marked by the service."""
        covered = 0
        for account in await asyncio.to_thread(self.storage.calendars.all_accounts):
            if account.provider != "microsoft" or account.status != "ok":
                continue
            credentials = await asyncio.to_thread(self.storage.credentials.get, account.id)
            if not credentials:
                continue
            try:
                await self.ensure_subscription(
                    account, credentials, notification_url=notification_url, lifecycle_url=notification_url
                )
            except ProviderError as exc:  # polling still covers the account
                log.info("microsoft: no subscription for %s: %s", account.id, exc)
                continue
            covered += 1
        return covered

    async def renew(self, account: Any, credentials: Mapping[str, Any]) -> GraphSubscription:
        """Renew now (a ``reauthorizationRequired`` lifecycle event)."""
        saved = credentials.get("subscription")
        if not isinstance(saved, Mapping):
            raise ProviderError("this Microsoft account has no calendar subscription to renew")
        current = GraphSubscription.from_record(saved)
        fresh = await self.provider(account, credentials).renew_subscription(current, now=self.clock())
        await asyncio.to_thread(self._remember_subscription, account.id, fresh, current)
        return fresh

    def _remember_subscription(self, account_id: str, fresh: GraphSubscription, old: GraphSubscription | None) -> None:
        record = self.storage.credentials.get(account_id) or {}
        record["subscription"] = fresh.to_record()
        self.storage.credentials.put(account_id, record, now=self.clock())
        if old is not None and old.id != fresh.id:
            self.storage.conversations.delete_state(SUBSCRIPTION_PREFIX + old.id)
        self.storage.conversations.save_state(
            SUBSCRIPTION_PREFIX + fresh.id,
            {"account_id": account_id},
            expires_at=fresh.expires_at + timedelta(days=1),
            now=self.clock(),
        )

    def _client_states(self, subscription_ids: list[str]) -> dict[str, tuple[str, str]]:
        """subscription id -> (account id, clientState) for the subscriptions we know."""
        out: dict[str, tuple[str, str]] = {}
        for sub_id in subscription_ids:
            index = self.storage.conversations.load_state(SUBSCRIPTION_PREFIX + sub_id, now=self.clock())
            if not index:
                continue
            account_id = str(index["account_id"])
            record = self.storage.credentials.get(account_id) or {}
            sub = record.get("subscription")
            if isinstance(sub, Mapping) and sub.get("id") == sub_id and sub.get("client_state"):
                out[sub_id] = (account_id, str(sub["client_state"]))
        return out

    async def handle_notifications(self, payload: Any) -> list[tuple[str, str]]:
        """Check a notification POST (change or lifecycle) and return ``(account_id, action)`` pairs for the genuine
        ones (``action``: sync / resync / renew / resubscribe, see ``Notification.action``).  Items whose
        clientState does not match are dropped.  ``on_notification`` (when set) is awaited for each pair."""
        items = payload.get("value") if isinstance(payload, Mapping) else None
        ids = sorted({str(i.get("subscriptionId")) for i in items or () if isinstance(i, Mapping)})
        known = await asyncio.to_thread(self._client_states, ids)
        check = check_notifications(payload, lambda sub_id: known[sub_id][1] if sub_id in known else None)
        if check.rejected:
            log.warning("graph notifications: %d with an unknown subscription or a wrong clientState", check.rejected)
        actions = list(dict.fromkeys((known[n.subscription_id][0], n.action) for n in check.accepted))
        if self.on_notification is not None:
            for account_id, action in actions:
                await self.on_notification(account_id, action)
        return actions

    # ------------------------------------------------------------------------------------- providers

    def app_tokens(self) -> AppTokens:
        if self._app_tokens is None:
            self._app_tokens = AppTokens(self.settings, verify=self.verify, timeout=self.timeout)
        return self._app_tokens

    def tokens(self, account_id: str, credentials: Mapping[str, Any]) -> TokenSource:
        if credentials.get("kind") == "app":
            return self.app_tokens()

        async def save(record: dict[str, Any]) -> None:
            await asyncio.to_thread(_save_token_cache, self.storage, account_id, record, self.clock())

        return DelegatedTokens(self.settings, credentials, save=save, verify=self.verify, timeout=self.timeout)

    def provider(
        self,
        account: Any,
        credentials: Mapping[str, Any],
        *,
        session: aiohttp.ClientSession | None = None,
        all_day_timezone: str = "UTC",
    ) -> GraphProvider:
        user = str(credentials["user"]) if credentials.get("kind") == "app" else None
        return GraphProvider(
            self.tokens(account.id, credentials),
            base_url=self.graph_url,
            user=user,
            session=session,
            all_day_timezone=all_day_timezone,
            **dict(self.provider_options or {}),
        )


class MicrosoftConnector:
    """The chat side of connecting (``CalendarConnector``): "connect my outlook calendar" -> a one-use sign-in link
    (private to the asker)."""

    def __init__(self, auth: MicrosoftAuth) -> None:
        self._auth = auth

    async def start(self, person_id: str, provider: str) -> list[Any]:
        from bot.handlers.replies import Reply

        try:
            url = await self._auth.astart_url(person_id)
        except ProviderError as exc:
            return [Reply(f"I could not start the Microsoft sign-in: {exc}. Please try again later.", private=True)]
        return [
            Reply(
                "Open this link to connect your Microsoft 365 / Outlook calendar (it works once, for 15 minutes):\n"
                + url,
                private=True,
                details=("I only read when you are busy, never what your events are about.",),
            )
        ]

    async def submit(self, person_id: str, form_id: str, values: dict[str, str]) -> list[Any]:
        from bot.handlers.replies import Reply

        return [Reply('Microsoft calendars connect through the sign-in link; say "connect outlook" for a new one.')]


def make_graph_provider(
    account: Any, credentials: Mapping[str, Any], settings: Settings, *, storage: Any = None, **options: Any
) -> GraphProvider:
    """The ``provider_factory`` entry for ``"microsoft"``.  With ``storage``, refreshed tokens are written back
    to the encrypted credential record; without it they live as long as the provider (the stored refresh token
    keeps working)."""
    if credentials.get("kind") == "app":
        tokens: TokenSource = AppTokens(settings)
        user: str | None = str(credentials["user"])
    else:
        save: Save | None = None
        if storage is not None:

            async def save_record(record: dict[str, Any]) -> None:
                await asyncio.to_thread(_save_token_cache, storage, account.id, record, None)

            save = save_record
        tokens = DelegatedTokens(settings, credentials, save=save)
        user = None
    return GraphProvider(tokens, base_url=settings.graph_api_url or DEFAULT_GRAPH_URL, user=user, **options)
