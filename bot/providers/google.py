"""Google Calendar behind the ``CalendarProvider`` port (google-api-python-client, blocking, run in threads).

* The service is built from the Calendar v3 discovery document shipped with googleapiclient
  (``static_discovery=True``); ``GOOGLE_API_URL`` replaces the API root (``client_options.api_endpoint``) and
  ``GOOGLE_TOKEN_URL`` the token endpoint, so tests run this very code against a loopback fake.
* Transport: ``google_auth_httplib2.AuthorizedHttp`` over ``httplib2`` (what googleapiclient is built for; it
  refreshes the access token and retries once on 401).  httplib2 objects are not thread-safe, so each worker
  thread keeps its own.  Retries are ours, not googleapiclient's (``num_retries=0``): 429 and 403
  ``rateLimitExceeded`` wait for ``Retry-After``; 5xx back off exponentially, bounded; timeouts and connection
  errors become ``ProviderError`` at once.  Dead credentials (``invalid_grant`` on refresh, 401 after the
  refresh) become ``NeedsReconnect``.  Nothing ever reads as "no events" after a failure.
* Busy time comes from ``freeBusy`` (at most 50 calendars a call); changes from ``events.list`` with
  ``singleEvents=true`` and ``syncToken`` (410 -> ``SyncTokenInvalid``); booking events are inserted with an id
  derived from the booking id, so a retry meets 409 and adopts the event instead of making a second one, and
  carry the booking id in ``extendedProperties.private.schedbotBooking``.
* Push: ``events.watch`` channels with a secret token (``verify_notification``), renewed before they expire
  (``renew_if_needed``); without ``PUBLIC_URL`` (``push_address`` is None) the caller polls ``changes``.

Messages and logs never contain tokens, event titles or bodies.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import secrets
import threading
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.providers.httpcall import retry_after_seconds
from bot.scheduling.intervals import Interval
from bot.scheduling.model import BusyEvent
from bot.scheduling.ports import (
    ChangeSet,
    EventDraft,
    NeedsReconnect,
    ProviderError,
    RemoteCalendar,
    RemoteEvent,
    SyncTokenInvalid,
    WriteConflict,
)

__all__ = [
    "BOOKING_PROPERTY",
    "DEFAULT_SCOPES",
    "FREEBUSY_MAX_CALENDARS",
    "SCOPE_EVENTS",
    "SCOPE_READONLY",
    "GoogleApiError",
    "GoogleNotification",
    "GoogleProvider",
    "RetryPolicy",
    "WatchChannel",
    "api_endpoint",
    "build_credentials",
    "credentials_to_data",
    "event_id_for_booking",
    "make_google_provider",
    "parse_notification",
    "push_address",
    "verify_notification",
]

log = logging.getLogger(__name__)

SCOPE_READONLY = "https://www.googleapis.com/auth/calendar.readonly"
SCOPE_EVENTS = "https://www.googleapis.com/auth/calendar.events"
SCOPE_FULL = "https://www.googleapis.com/auth/calendar"
DEFAULT_SCOPES: tuple[str, ...] = (SCOPE_READONLY, SCOPE_EVENTS)
DEFAULT_API_URL = "https://www.googleapis.com/"
DEFAULT_TOKEN_URL = "https://oauth2.googleapis.com/token"
BOOKING_PROPERTY = "schedbotBooking"
FREEBUSY_MAX_CALENDARS = 50
NOTIFICATION_PATH = "/google/notifications"
_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"})
_DEAD_GRANT = ("invalid_grant", "unauthorized_client", "access_denied")


# ----------------------------------------------------------------------------------------------- settings


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try: ``max_retries`` more attempts after 429/5xx, waiting ``base_delay * 2**n`` (at most
    ``max_delay``) or the server's ``Retry-After`` (refused beyond ``max_retry_after``); ``timeout`` per request."""

    max_retries: int = 4
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 60.0
    timeout: float = 20.0


def api_endpoint(api_url: str | None) -> str:
    """The Calendar v3 base URL for an API root such as ``https://www.googleapis.com/`` (GOOGLE_API_URL)."""
    root = (api_url or DEFAULT_API_URL).rstrip("/") + "/"
    return root if root.endswith("calendar/v3/") else root + "calendar/v3/"


def push_address(settings: Any) -> str | None:
    """Where Google should send notifications; None without ``PUBLIC_URL`` (then the caller polls)."""
    public = getattr(settings, "public_url", None)
    if not public or not str(public).startswith("https://"):
        return None  # Google only delivers to HTTPS addresses
    return str(public).rstrip("/") + NOTIFICATION_PATH


def event_id_for_booking(booking_id: str) -> str:
    """Google event id for a booking: lowercase base32hex (Google allows a-v and 0-9, 5 to 1024 characters).

    The same booking id always gives the same event id, so a retried insert gets 409 instead of a duplicate."""
    raw = booking_id.encode()
    if len(raw) > 500:
        raw = hashlib.sha256(raw).digest()
    return "sched" + base64.b32hexencode(raw).decode().rstrip("=").lower()


# --------------------------------------------------------------------------------------------- credentials


def _naive_utc(moment: datetime | None) -> datetime | None:
    # google-auth compares expiry with a naive UTC "now".
    return moment.astimezone(UTC).replace(tzinfo=None) if moment is not None else None


def build_credentials(data: Mapping[str, Any], settings: Any) -> Any:
    """google-auth credentials from what ``storage.credentials`` holds for a Google account.

    ``{"type": "authorized_user", "token", "refresh_token", "expiry", "scopes"}`` (the OAuth web flow; the client
    id and secret come from the settings), or ``{"type": "service_account", "info": {...key file...},
    "subject": "person@org", "scopes"}`` (domain-wide delegation)."""
    token_url = getattr(settings, "google_token_url", None) or DEFAULT_TOKEN_URL
    scopes = list(data.get("scopes") or DEFAULT_SCOPES)
    kind = data.get("type", "authorized_user")
    if kind == "service_account":
        from google.oauth2 import service_account

        sa_credentials: Any = service_account.Credentials
        info = dict(data["info"])
        if getattr(settings, "google_token_url", None):
            info["token_uri"] = token_url
        try:
            base = sa_credentials.from_service_account_info(info, scopes=scopes)
        except (ValueError, KeyError) as exc:
            raise NeedsReconnect(f"the Google service account key is not usable ({type(exc).__name__})") from None
        return base.with_subject(str(data["subject"]))
    if kind != "authorized_user":
        raise ProviderError(f"unknown Google credential type {kind!r}")
    from google.oauth2 import credentials as user_credentials

    credentials_class: Any = user_credentials.Credentials
    client_id = getattr(settings, "google_client_id", None)
    client_secret = getattr(settings, "google_client_secret", None)
    if not client_id or not client_secret:
        raise ProviderError("Google is not configured: set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET")
    expiry = data.get("expiry")
    return credentials_class(
        token=data.get("token"),
        refresh_token=data.get("refresh_token"),
        token_uri=token_url,
        client_id=client_id,
        client_secret=client_secret,
        scopes=scopes,
        expiry=_naive_utc(datetime.fromisoformat(expiry)) if expiry else None,
    )


def credentials_to_data(creds: Any, *, scopes: Sequence[str] | None = None) -> dict[str, Any]:
    """What to store (encrypted) for user credentials: no client secret, which lives in the settings."""
    expiry: datetime | None = creds.expiry
    return {
        "type": "authorized_user",
        "token": creds.token,
        "refresh_token": creds.refresh_token,
        "expiry": expiry.replace(tzinfo=UTC).isoformat() if expiry is not None else None,
        "scopes": list(scopes if scopes is not None else (creds.scopes or DEFAULT_SCOPES)),
    }


def _can_write(scopes: Sequence[str]) -> bool:
    return SCOPE_EVENTS in scopes or SCOPE_FULL in scopes


# ---------------------------------------------------------------------------------------------- push channels


@dataclass(frozen=True, slots=True)
class WatchChannel:
    """An ``events.watch`` channel: persist it (the token is a secret) to verify and renew it later."""

    calendar_id: str
    channel_id: str
    resource_id: str
    token: str
    expiration: datetime
    address: str


@dataclass(frozen=True, slots=True)
class GoogleNotification:
    channel_id: str
    resource_id: str
    state: str  # "sync" (channel created), "exists" (something changed), "not_exists"
    message_number: int | None


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


def verify_notification(headers: Mapping[str, str], expected_token: str) -> bool:
    """True only when the notification carries the channel's token (compared in constant time)."""
    token = _lower(headers).get("x-goog-channel-token")
    if not expected_token or token is None:
        return False
    return hmac.compare_digest(token.encode(), expected_token.encode())


def parse_notification(headers: Mapping[str, str]) -> GoogleNotification | None:
    """The channel and state of a Google push notification; None when the headers are not one."""
    h = _lower(headers)
    channel_id, resource_id = h.get("x-goog-channel-id"), h.get("x-goog-resource-id")
    if not channel_id or not resource_id:
        return None
    number = h.get("x-goog-message-number", "")
    return GoogleNotification(
        channel_id, resource_id, h.get("x-goog-resource-state", ""), int(number) if number.isdigit() else None
    )


# ---------------------------------------------------------------------------------------------- errors


class GoogleApiError(ProviderError):
    """Google answered with an error we do not retry (or stopped answering); ``status`` 0 means no answer."""

    def __init__(self, message: str, *, status: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


def _error_reason(exc: Any) -> str:
    try:
        body = json.loads(exc.content.decode() if isinstance(exc.content, bytes) else exc.content)
        errors = body.get("error", {}).get("errors") or []
        if errors:
            return str(errors[0].get("reason", ""))
        return str(body.get("error", {}).get("status", ""))
    except (ValueError, AttributeError, TypeError):
        return ""


# ---------------------------------------------------------------------------------------------- time helpers


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _moment(part: Mapping[str, Any], calendar_tz: str | None) -> tuple[datetime, bool]:
    """(aware start or end, all-day?) from an event's ``start``/``end``."""
    if "dateTime" in part:
        moment = datetime.fromisoformat(str(part["dateTime"]))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=_zone(part.get("timeZone") or calendar_tz))
        return moment, False
    if "date" in part:
        day = date.fromisoformat(str(part["date"]))
        return datetime.combine(day, time(0), tzinfo=_zone(part.get("timeZone") or calendar_tz)), True
    raise ValueError("event time has neither date nor dateTime")


# ---------------------------------------------------------------------------------------------- the provider


class GoogleProvider:
    """One connected Google account (``CalendarProvider``)."""

    def __init__(
        self,
        credentials: Any,
        *,
        api_url: str | None = None,
        read_only: bool = False,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        send_updates: str = "none",
        page_size: int = 250,
        on_credentials_refreshed: Callable[[dict[str, Any]], object] | None = None,
        label: str = "Google Calendar",
        busy_via: Literal["freebusy", "events"] = "freebusy",
    ) -> None:
        self.credentials = credentials
        self.read_only = read_only
        self.retry = retry or RetryPolicy()
        self.send_updates = send_updates
        self.page_size = page_size
        self.on_credentials_refreshed = on_credentials_refreshed
        self.label = label
        self.busy_via = busy_via
        self._sleep = sleep
        self._endpoint = api_endpoint(api_url)
        self._local = threading.local()
        self._service: Any = None
        self._service_lock = threading.Lock()
        self.channels: dict[str, WatchChannel] = {}

    def __repr__(self) -> str:
        return f"GoogleProvider({self.label!r}, read_only={self.read_only})"

    # -- plumbing

    def _api(self) -> Any:
        with self._service_lock:
            if self._service is None:
                import httplib2
                from googleapiclient.discovery import build

                # The placeholder http is never used: every request is executed with a per-thread authorized one.
                self._service = build(
                    "calendar",
                    "v3",
                    http=httplib2.Http(timeout=self.retry.timeout),
                    static_discovery=True,
                    cache_discovery=False,
                    client_options={"api_endpoint": self._endpoint},
                    num_retries=0,
                )
            return self._service

    def _http(self) -> Any:
        http = getattr(self._local, "http", None)
        if http is None:
            import google_auth_httplib2
            import httplib2

            http = google_auth_httplib2.AuthorizedHttp(self.credentials, http=httplib2.Http(timeout=self.retry.timeout))
            self._local.http = http
        return http

    def _execute(self, build_request: Callable[[Any], Any], headers: Mapping[str, str] | None) -> Any:
        request = build_request(self._api())
        if headers:
            request.headers.update(headers)
        return request.execute(http=self._http(), num_retries=0)

    async def _call(
        self,
        what: str,
        build_request: Callable[[Any], Any],
        *,
        headers: Mapping[str, str] | None = None,
        expect_body: bool = True,
    ) -> Any:
        """Run one API request in a thread with our retry policy; errors become the port's exceptions."""
        from google.auth.exceptions import RefreshError, TransportError
        from googleapiclient.errors import HttpError

        attempt = 0
        token_before = getattr(self.credentials, "token", None)
        while True:
            try:
                result = await asyncio.to_thread(self._execute, build_request, headers)
            except HttpError as exc:
                status, reason = int(exc.resp.status), _error_reason(exc)
                if status == 401:
                    raise NeedsReconnect(f"Google refused the saved sign-in for {self.label} (401)") from None
                delay: float | None = None
                if status == 429 or (status == 403 and reason in _RATE_REASONS):
                    delay = retry_after_seconds(exc.resp.get("retry-after"))
                    if delay is not None and delay > self.retry.max_retry_after:
                        raise GoogleApiError(
                            f"Google is rate-limiting {self.label} for {delay:.0f} s", status=status, reason=reason
                        ) from None
                    if delay is None:
                        delay = self._backoff(attempt)
                elif status >= 500:
                    delay = self._backoff(attempt)
                if delay is None or attempt >= self.retry.max_retries:
                    raise GoogleApiError(
                        f"Google could not {what} ({status}{' ' + reason if reason else ''})",
                        status=status,
                        reason=reason,
                    ) from None
                log.info("google %s: %s %s, retrying in %.2f s", what, status, reason or "-", delay)
                attempt += 1
                await self._sleep(delay)
                continue
            except RefreshError as exc:
                text = str(exc.args[0]) if exc.args else ""
                if any(text.startswith(code) for code in _DEAD_GRANT):
                    raise NeedsReconnect(
                        f"Google no longer accepts the saved sign-in for {self.label} ({text.split(':')[0]})"
                    ) from None
                raise GoogleApiError(f"Google could not refresh the sign-in for {self.label}") from None
            except (TimeoutError, TransportError, OSError) as exc:
                raise GoogleApiError(f"Google did not answer while trying to {what} ({type(exc).__name__})") from None
            except Exception as exc:  # httplib2 errors and malformed answers: fail closed, never "no events"
                log.warning("google %s failed unexpectedly (%s)", what, type(exc).__name__, exc_info=True)
                raise GoogleApiError(f"Google could not {what} ({type(exc).__name__})") from None
            await self._after_call(token_before)
            if expect_body and not isinstance(result, dict):
                # googleapiclient hands back the raw text when it is not JSON (e.g. a body cut off mid-way).
                raise GoogleApiError(f"Google sent an unreadable answer while trying to {what}")
            return result

    def _backoff(self, attempt: int) -> float:
        return float(min(self.retry.max_delay, self.retry.base_delay * (2**attempt)))

    async def _after_call(self, token_before: str | None) -> None:
        token = getattr(self.credentials, "token", None)
        if token != token_before and self.on_credentials_refreshed is not None and hasattr(
            self.credentials, "refresh_token"
        ):
            data = credentials_to_data(self.credentials)
            await asyncio.to_thread(self.on_credentials_refreshed, data)

    # -- CalendarProvider

    async def list_calendars(self) -> list[RemoteCalendar]:
        out: list[RemoteCalendar] = []
        page: str | None = None
        while True:
            resp = await self._call("list the calendars", _calendar_list_request(page, self.page_size))
            for item in resp.get("items", []):
                out.append(
                    RemoteCalendar(
                        external_id=str(item["id"]),
                        name=str(item.get("summaryOverride") or item.get("summary") or item["id"]),
                        read_only=self.read_only or item.get("accessRole") not in ("owner", "writer"),
                        primary=bool(item.get("primary", False)),
                        timezone=item.get("timeZone"),
                    )
                )
            page = resp.get("nextPageToken")
            if not page:
                return out

    async def busy(self, calendar_ids: Sequence[str], window: Interval) -> Mapping[str, list[BusyEvent]]:
        """``freeBusy`` (default: one call per 50 calendars; Google leaves out free, cancelled and declined time
        but says nothing about tentative, all-day or our booking events), or with ``busy_via="events"`` an
        ``events.list`` per calendar that keeps all of that for the core to weigh."""
        ids = list(dict.fromkeys(calendar_ids))
        out: dict[str, list[BusyEvent]] = {}
        if self.busy_via == "events":
            for cid in ids:
                listing = await self.changes(cid, token=None, window=window)
                out[cid] = [e.busy for e in listing.changed]
            return out
        for i in range(0, len(ids), FREEBUSY_MAX_CALENDARS):
            batch = ids[i : i + FREEBUSY_MAX_CALENDARS]
            body = {
                "timeMin": _rfc3339(window.start),
                "timeMax": _rfc3339(window.end),
                "items": [{"id": cid} for cid in batch],
            }
            resp = await self._call("check free/busy time", _freebusy_request(body))
            calendars = resp.get("calendars", {})
            for cid in batch:
                entry = calendars.get(cid)
                if entry is None:
                    raise GoogleApiError(f"Google did not answer for calendar {cid}")
                errors = entry.get("errors") or []
                if errors:
                    reason = errors[0].get("reason", "error")
                    raise GoogleApiError(f"Google could not check calendar {cid} ({reason})", reason=reason)
                events: list[BusyEvent] = []
                for b in entry.get("busy", []):
                    try:
                        interval = Interval(datetime.fromisoformat(b["start"]), datetime.fromisoformat(b["end"]))
                    except (KeyError, ValueError, TypeError):
                        raise GoogleApiError(f"Google sent unreadable busy time for calendar {cid}") from None
                    events.append(BusyEvent(interval, source=cid))
                out[cid] = events
        return out

    async def changes(self, calendar_id: str, *, token: str | None, window: Interval) -> ChangeSet:
        changed: dict[str, RemoteEvent] = {}
        deleted: dict[str, None] = {}
        page: str | None = None
        while True:
            params: dict[str, Any] = {"calendarId": calendar_id, "singleEvents": True, "maxResults": self.page_size}
            if page:
                params["pageToken"] = page
            if token:
                params["syncToken"] = token
            else:
                params.update(timeMin=_rfc3339(window.start), timeMax=_rfc3339(window.end), showDeleted=False)
            try:
                resp = await self._call("read calendar changes", _events_list_request(params))
            except GoogleApiError as exc:
                if exc.status == 410 and token:
                    raise SyncTokenInvalid(f"Google needs a full resync of calendar {calendar_id}") from None
                raise
            calendar_tz = resp.get("timeZone")
            for item in resp.get("items", []):
                event_id = str(item["id"])
                remote = self._remote_event(item, calendar_id=calendar_id, calendar_tz=calendar_tz)
                if remote is None or not _overlaps(remote.busy.interval, window):
                    changed.pop(event_id, None)
                    deleted[event_id] = None
                else:
                    deleted.pop(event_id, None)
                    changed[event_id] = remote
            page = resp.get("nextPageToken")
            if not page:
                next_token = resp.get("nextSyncToken")
                if not next_token:
                    raise GoogleApiError(f"Google ended the listing of calendar {calendar_id} without a sync token")
                return ChangeSet(
                    changed=tuple(changed.values()),
                    deleted=tuple(deleted) if token else (),
                    token=str(next_token),
                    full=token is None,
                )

    async def create_event(self, calendar_id: str, draft: EventDraft) -> RemoteEvent:
        self._require_writable()
        event_id = event_id_for_booking(draft.booking_id)
        body = {"id": event_id, **_event_body(draft)}
        try:
            item = await self._call(
                "create the booking event",
                lambda api: api.events().insert(calendarId=calendar_id, body=body, sendUpdates=self.send_updates),
            )
        except GoogleApiError as exc:
            if exc.status != 409:
                raise
            # Created by an earlier attempt (or deleted since): adopt it rather than making a second one.
            item = await self._call(
                "read the booking event", lambda api: api.events().get(calendarId=calendar_id, eventId=event_id)
            )
            marker = ((item.get("extendedProperties") or {}).get("private") or {}).get(BOOKING_PROPERTY)
            if marker != draft.booking_id:
                raise GoogleApiError(f"event id {event_id} is taken by another event", status=409) from None
            if item.get("status") == "cancelled":
                item = await self._call(
                    "restore the booking event",
                    lambda api: api.events().update(
                        calendarId=calendar_id,
                        eventId=event_id,
                        body={**body, "status": "confirmed"},
                        sendUpdates=self.send_updates,
                    ),
                )
        return self._written(item, calendar_id)

    async def update_event(
        self, calendar_id: str, external_id: str, draft: EventDraft, *, etag: str | None
    ) -> RemoteEvent:
        self._require_writable()
        body = _event_body(draft)
        try:
            item = await self._call(
                "update the booking event",
                lambda api: api.events().patch(
                    calendarId=calendar_id, eventId=external_id, body=body, sendUpdates=self.send_updates
                ),
                headers={"If-Match": etag} if etag else None,
            )
        except GoogleApiError as exc:
            if exc.status == 412:
                raise WriteConflict(f"the booking event in {calendar_id} was changed meanwhile") from None
            if exc.status in (404, 410):
                raise GoogleApiError(
                    f"the booking event is gone from calendar {calendar_id}", status=exc.status, reason=exc.reason
                ) from None
            raise
        return self._written(item, calendar_id)

    async def delete_event(self, calendar_id: str, external_id: str, *, etag: str | None = None) -> None:
        self._require_writable()
        try:
            await self._call(
                "delete the booking event",
                lambda api: api.events().delete(
                    calendarId=calendar_id, eventId=external_id, sendUpdates=self.send_updates
                ),
                headers={"If-Match": etag} if etag else None,
                expect_body=False,
            )
        except GoogleApiError as exc:
            if exc.status in (404, 410):
                return
            if exc.status == 412:
                raise WriteConflict(f"the booking event in {calendar_id} was changed meanwhile") from None
            raise

    # -- push channels

    async def watch(
        self, calendar_id: str, *, address: str, ttl: timedelta = timedelta(days=7), token: str | None = None
    ) -> WatchChannel:
        """Open a push channel for the calendar's events; remember it for ``renew_if_needed``."""
        channel_id = uuid.uuid4().hex
        secret = token or secrets.token_urlsafe(32)
        body = {
            "id": channel_id,
            "type": "web_hook",
            "address": address,
            "token": secret,
            "params": {"ttl": str(int(ttl.total_seconds()))},
        }
        resp = await self._call(
            "open a notification channel",
            lambda api: api.events().watch(calendarId=calendar_id, body=body),
        )
        try:
            expiration = datetime.fromtimestamp(int(resp["expiration"]) / 1000, UTC)
            channel = WatchChannel(calendar_id, channel_id, str(resp["resourceId"]), secret, expiration, address)
        except (KeyError, ValueError, TypeError):
            raise GoogleApiError("Google sent an unreadable notification channel") from None
        self.channels[calendar_id] = channel
        return channel

    async def stop_channel(self, channel: WatchChannel) -> None:
        body = {"id": channel.channel_id, "resourceId": channel.resource_id}
        try:
            await self._call(
                "stop a notification channel", lambda api: api.channels().stop(body=body), expect_body=False
            )
        except GoogleApiError as exc:
            if exc.status != 404:
                raise
        if self.channels.get(channel.calendar_id) == channel:
            del self.channels[channel.calendar_id]

    def adopt_channels(self, channels: Sequence[WatchChannel]) -> None:
        """Channels persisted earlier (after a restart), so ``renew_if_needed`` looks after them."""
        for channel in channels:
            self.channels[channel.calendar_id] = channel

    async def renew_if_needed(self, now: datetime, *, margin: timedelta = timedelta(hours=6)) -> list[WatchChannel]:
        """Replace every channel expiring within ``margin`` of ``now``: open the new one, then stop the old one
        (so no notification is lost in between).  Returns the new channels (persist them)."""
        renewed: list[WatchChannel] = []
        for channel in list(self.channels.values()):
            if channel.expiration - margin > now:
                continue
            new = await self.watch(channel.calendar_id, address=channel.address)
            renewed.append(new)
            try:
                await self.stop_channel(replace(channel))
            except ProviderError as exc:  # the old channel expires by itself; its token is no longer accepted
                log.info("google: could not stop an old channel: %s", exc)
        return renewed

    # -- helpers

    def _require_writable(self) -> None:
        if self.read_only:
            raise ProviderError(f"{self.label} is connected read-only: reconnect it to allow booking events")

    def _written(self, item: Mapping[str, Any], calendar_id: str) -> RemoteEvent:
        remote = self._remote_event(item, calendar_id=calendar_id, calendar_tz=None)
        if remote is None:
            raise GoogleApiError("Google returned the booking event as cancelled")
        return remote

    @staticmethod
    def _remote_event(item: Mapping[str, Any], *, calendar_id: str, calendar_tz: str | None) -> RemoteEvent | None:
        """The event as busy time; None when it is gone (cancelled, or a cancelled instance of a series)."""
        if item.get("status") == "cancelled":
            return None
        try:
            start, all_day = _moment(item["start"], calendar_tz)
            end, _ = _moment(item["end"], calendar_tz)
            interval = Interval(start, max(start, end))
        except (KeyError, ValueError, TypeError):
            raise GoogleApiError(f"Google sent an unreadable event in calendar {calendar_id}") from None
        me = next((a for a in item.get("attendees") or () if a.get("self")), None)
        response = (me or {}).get("responseStatus")
        status: Literal["confirmed", "tentative", "cancelled"]
        if response == "declined":
            status = "cancelled"  # declined: not busy (the core skips cancelled time)
        elif item.get("status") == "tentative" or response == "tentative":
            status = "tentative"
        else:
            status = "confirmed"
        booking_id = ((item.get("extendedProperties") or {}).get("private") or {}).get(BOOKING_PROPERTY)
        busy = BusyEvent(
            interval,
            transparency="transparent" if item.get("transparency") == "transparent" else "opaque",
            all_day=all_day,
            status=status,
            kind="booking" if booking_id else "event",
            source=calendar_id,
        )
        return RemoteEvent(
            external_id=str(item["id"]),
            busy=busy,
            etag=item.get("etag"),
            booking_id=str(booking_id) if booking_id else None,
        )


def _calendar_list_request(page: str | None, size: int) -> Callable[[Any], Any]:
    return lambda api: api.calendarList().list(pageToken=page, maxResults=size)


def _freebusy_request(body: dict[str, Any]) -> Callable[[Any], Any]:
    return lambda api: api.freebusy().query(body=body)


def _events_list_request(params: dict[str, Any]) -> Callable[[Any], Any]:
    return lambda api: api.events().list(**params)


def _overlaps(interval: Interval, window: Interval) -> bool:
    if interval.empty:
        return window.start <= interval.start < window.end
    return interval.start < window.end and interval.end > window.start


def _event_body(draft: EventDraft) -> dict[str, Any]:
    zone = _zone(draft.timezone)
    body: dict[str, Any] = {
        "summary": draft.title,
        "description": draft.description,
        "start": {"dateTime": draft.interval.start.astimezone(zone).isoformat(), "timeZone": zone.key},
        "end": {"dateTime": draft.interval.end.astimezone(zone).isoformat(), "timeZone": zone.key},
        "extendedProperties": {"private": {BOOKING_PROPERTY: draft.booking_id}},
        "transparency": "opaque",
    }
    if draft.location:
        body["location"] = draft.location
    if draft.attendees:
        body["attendees"] = [{"email": a} for a in draft.attendees]
    return body


# ---------------------------------------------------------------------------------------------- factory


def make_google_provider(
    account: Any, credentials: Mapping[str, Any], settings: Any, **options: Any
) -> GoogleProvider:
    """``provider_factory["google"]``: a provider for a stored account and its decrypted credentials.
    ``options`` go to ``GoogleProvider`` (retry policy, sleep, on_credentials_refreshed, ...)."""
    scopes = list(credentials.get("scopes") or DEFAULT_SCOPES)
    label = getattr(account, "display_name", None) or "Google Calendar"
    return GoogleProvider(
        build_credentials(credentials, settings),
        api_url=getattr(settings, "google_api_url", None),
        read_only=not _can_write(scopes),
        label=f"Google Calendar {label}" if label != "Google Calendar" else label,
        **options,
    )
