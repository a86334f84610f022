"""Microsoft 365, Exchange Online and Outlook.com calendars through Microsoft Graph v1.0 (aiohttp).

``GraphProvider`` satisfies the core's ``CalendarProvider`` port for one connected account: delegated
(``/me/...``, tokens from the auth-code flow) or organisation-wide app-only (``/users/{email}/...``, a client
credentials token).  Tokens come from a ``TokenSource`` (see ``bot.providers.microsoft_auth``); this module
never sees refresh tokens and never logs an access token.

What Graph answers, and how it counts
    * ``calendarView`` (and its ``delta``) with ``Prefer: outlook.timezone="UTC"``: every instance of recurring
      events is expanded by the server; ``@odata.nextLink`` pages are followed (same origin only).
    * ``showAs``: ``busy``/``oof``/``unknown`` -> opaque; ``tentative`` -> ``status="tentative"``; ``free`` and
      ``workingElsewhere`` (the person is working, only somewhere else) -> transparent.
    * ``isCancelled`` -> ``status="cancelled"``; ``responseStatus.response == "declined"`` -> transparent: both
      never block time; neither is dropped, so sync still sees the event.
    * ``isAllDay``: the date in the answer is a floating date; it covers local midnight to local midnight in
      ``all_day_timezone`` (the person's zone), flagged ``all_day=True``.
    * ``getSchedule`` (``free_busy``) answers for mailboxes (e-mail addresses), at most 20 a call and less than 62
      days a call: bigger questions are split.
    * ``calendarView/delta``: a token is the ``@odata.deltaLink``; ``@removed`` entries are deletions; 410 Gone or
      the ``syncStateNotFound``/``resyncRequired`` error codes raise ``SyncTokenInvalid`` (resync fully).
    * Our booking events carry ``transactionId = "schedbot-" + booking id`` (Graph refuses a second event with the
      same transactionId, so a retried create cannot duplicate) and the booking id in a single-value extended
      property; either marks the event as ours when it comes back (delta answers carry the transactionId).

Failures
    401 -> one forced token refresh, then ``NeedsReconnect``; 429/503/504 wait for ``Retry-After`` (capped by
    ``max_retry_after``; longer waits fail at once), other 5xx and timeouts back off exponentially; after
    ``max_retries`` retries a ``ProviderError`` names the operation.  Nothing ever reads as "no events".
    Error messages carry Graph's error code and HTTP status, never event content.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from bot.providers.httpcall import retry_after_seconds
from bot.scheduling.intervals import Interval
from bot.scheduling.model import BusyEvent, EventStatus, Transparency
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
    "BOOKING_PROPERTY_ID",
    "DEFAULT_GRAPH_URL",
    "MAX_SCHEDULES_PER_CALL",
    "MAX_SCHEDULE_DAYS",
    "SUBSCRIPTION_MAX_MINUTES",
    "GraphProvider",
    "GraphSubscription",
    "Notification",
    "NotificationCheck",
    "StaticToken",
    "TokenSource",
    "booking_id_from_transaction",
    "check_notifications",
    "split_window",
    "subscription_due",
    "transaction_id_for",
    "validation_token",
]

log = logging.getLogger(__name__)

DEFAULT_GRAPH_URL = "https://graph.microsoft.com/v1.0"
MAX_SCHEDULES_PER_CALL = 20
MAX_SCHEDULE_DAYS = 61  # getSchedule refuses spans of 62 days and more
SUBSCRIPTION_MAX_MINUTES = 4230  # Graph's limit for event subscriptions (under 3 days)
TRANSACTION_PREFIX = "schedbot-"
# A named single-value extended property (a GUID of our own, fixed forever) holding the booking id.
BOOKING_PROPERTY_ID = "String {6f0d3c2e-5c1b-4d8e-9a57-2b1e0f7c9d41} Name schedbotBookingId"
_SYNC_INVALID_CODES = {"syncstatenotfound", "resyncrequired", "syncstateinvalid"}
_RETRY_AFTER_STATUSES = {429, 503, 504}
_EVENT_FIELDS = "id,showAs,isAllDay,isCancelled,start,end,responseStatus,transactionId,type"


class TokenSource(Protocol):
    """Hands out Graph access tokens; ``force_refresh`` after a 401.  Raises ``NeedsReconnect`` when the
    account's grant is dead and ``ProviderError`` when the identity platform could not be reached."""

    async def token(self, *, force_refresh: bool = False) -> str: ...


@dataclass(frozen=True, slots=True)
class StaticToken:
    """A fixed access token (scripts; tests of Graph without the identity platform)."""

    value: str

    async def token(self, *, force_refresh: bool = False) -> str:
        return self.value

    def __repr__(self) -> str:
        return "StaticToken(***)"


def transaction_id_for(booking_id: str) -> str:
    """The transactionId of a booking's event: the same booking id always gives the same value."""
    return f"{TRANSACTION_PREFIX}{booking_id}"


def booking_id_from_transaction(transaction_id: object) -> str | None:
    if isinstance(transaction_id, str) and transaction_id.startswith(TRANSACTION_PREFIX):
        return transaction_id[len(TRANSACTION_PREFIX) :] or None
    return None


def split_window(window: Interval, *, max_days: int = MAX_SCHEDULE_DAYS) -> list[Interval]:
    """``window`` cut into consecutive pieces of at most ``max_days`` days."""
    step = timedelta(days=max_days)
    pieces: list[Interval] = []
    start = window.start
    while start < window.end:
        end = min(start + step, window.end)
        pieces.append(Interval(start, end))
        start = end
    return pieces


def _chunks(items: Sequence[str], size: int) -> list[list[str]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _graph_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _zone(name: str) -> ZoneInfo:
    """An IANA zone, or the one a Windows zone name stands for (Graph answers "W. Europe Standard Time" when it does
    not honour ``Prefer: outlook.timezone``; the CLDR table icalendar ships)."""
    try:
        return ZoneInfo(WINDOWS_TO_OLSON.get(name, name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ProviderError(f"Microsoft Graph answered with an unknown time zone {name[:60]!r}") from None


def _parse_time(value: object, *, what: str) -> datetime:
    """A Graph ``dateTimeTimeZone`` (``{"dateTime": ..., "timeZone": ...}``) as an aware UTC datetime."""
    if not isinstance(value, Mapping) or not isinstance(value.get("dateTime"), str):
        raise ProviderError(f"Microsoft Graph answered an event without a {what} time")
    try:
        moment = datetime.fromisoformat(value["dateTime"].rstrip("Z"))
    except ValueError:
        raise ProviderError(f"Microsoft Graph answered a bad {what} time") from None
    zone_name = value.get("timeZone") or "UTC"
    if moment.tzinfo is None:
        moment = moment.replace(
            tzinfo=UTC if zone_name in ("UTC", "Etc/UTC", "tzone://Microsoft/Utc") else _zone(zone_name)
        )
    return moment.astimezone(UTC)


def _parse_date(value: object, *, what: str) -> date:
    if not isinstance(value, Mapping) or not isinstance(value.get("dateTime"), str):
        raise ProviderError(f"Microsoft Graph answered an all-day event without a {what} date")
    try:
        return date.fromisoformat(value["dateTime"][:10])
    except ValueError:
        raise ProviderError(f"Microsoft Graph answered a bad {what} date") from None


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def _show_as(value: object) -> tuple[Transparency, EventStatus]:
    show = str(value or "busy").lower()
    if show in ("free", "workingelsewhere"):
        return "transparent", "confirmed"
    if show == "tentative":
        return "opaque", "tentative"
    return "opaque", "confirmed"  # busy, oof, unknown: fail closed


def _event_booking_id(item: Mapping[str, Any]) -> str | None:
    for prop in item.get("singleValueExtendedProperties") or ():
        if isinstance(prop, Mapping) and str(prop.get("id", "")).lower() == BOOKING_PROPERTY_ID.lower():
            value = prop.get("value")
            if isinstance(value, str) and value:
                return value
    return booking_id_from_transaction(item.get("transactionId"))


def _remote_event(item: Mapping[str, Any], *, source: str | None, all_day_zone: ZoneInfo) -> RemoteEvent:
    event_id = item.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise ProviderError("Microsoft Graph answered an event without an id")
    all_day = bool(item.get("isAllDay"))
    if all_day:
        first = _parse_date(item.get("start"), what="start")
        last = _parse_date(item.get("end"), what="end")
        interval = Interval(_local_midnight(first, all_day_zone), _local_midnight(max(last, first), all_day_zone))
    else:
        start = _parse_time(item.get("start"), what="start")
        end = _parse_time(item.get("end"), what="end")
        interval = Interval(start, max(start, end))
    transparency, status = _show_as(item.get("showAs"))
    response = item.get("responseStatus")
    if isinstance(response, Mapping) and str(response.get("response", "")).lower() == "declined":
        transparency = "transparent"
    if item.get("isCancelled"):
        status = "cancelled"
    booking_id = _event_booking_id(item)
    busy = BusyEvent(
        interval,
        transparency=transparency,
        all_day=all_day,
        status=status,
        kind="booking" if booking_id else "event",
        source=source,
    )
    etag = item.get("@odata.etag")
    return RemoteEvent(
        external_id=event_id, busy=busy, etag=etag if isinstance(etag, str) else None, booking_id=booking_id
    )


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: Any
    headers: Mapping[str, str]


class _Failed(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.message = message


def _error_of(status: int, body: Any) -> _Failed:
    code, message = "", ""
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        code = str(body["error"].get("code") or "")
        message = str(body["error"].get("message") or "")
    return _Failed(status, code, message[:200])


@dataclass(frozen=True, slots=True)
class GraphSubscription:
    """A Graph change-notification subscription (``clientState`` is a secret: keep it encrypted)."""

    id: str
    resource: str
    expires_at: datetime
    client_state: str
    notification_url: str
    lifecycle_url: str | None = None

    def __repr__(self) -> str:
        return f"GraphSubscription(id={self.id!r}, resource={self.resource!r}, expires_at={self.expires_at})"

    def to_record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "resource": self.resource,
            "expires_at": self.expires_at.isoformat(),
            "client_state": self.client_state,
            "notification_url": self.notification_url,
            "lifecycle_url": self.lifecycle_url,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> GraphSubscription:
        return cls(
            id=str(record["id"]),
            resource=str(record["resource"]),
            expires_at=datetime.fromisoformat(str(record["expires_at"])),
            client_state=str(record["client_state"]),
            notification_url=str(record["notification_url"]),
            lifecycle_url=record.get("lifecycle_url"),
        )


Sleep = Callable[[float], Awaitable[None]]


class GraphProvider:
    """``CalendarProvider`` for one Microsoft account over Graph v1.0.

    ``user``: None acts as the signed-in user (``/me``, delegated token); an e-mail address acts on that mailbox
    (``/users/{email}``, app-only token).  ``session``: a shared aiohttp session (not closed here); without one,
    each call opens and closes its own.  ``sleep`` is what waiting uses (tests pass one that records).
    """

    def __init__(
        self,
        tokens: TokenSource,
        *,
        base_url: str | None = None,
        user: str | None = None,
        session: aiohttp.ClientSession | None = None,
        read_only: bool = False,
        all_day_timezone: str = "UTC",
        timeout: float = 20.0,
        max_retries: int = 4,
        max_retry_after: float = 60.0,
        backoff: float = 0.5,
        page_size: int = 200,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._tokens = tokens
        self._base = (base_url or DEFAULT_GRAPH_URL).rstrip("/")
        self._origin = urlsplit(self._base)[:2]
        self._user = user
        self._prefix = f"/users/{quote(user, safe='@')}" if user else "/me"
        self._session = session
        self.read_only = read_only
        self._all_day_zone = ZoneInfo(all_day_timezone)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_retries = max(0, max_retries)
        self._max_retry_after = max_retry_after
        self._backoff = backoff
        self._page_size = page_size
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"GraphProvider({self._base!r}, user={self._user!r})"

    @property
    def default_tz(self) -> str:
        """The zone all-day dates are read in (the CalendarService sets the person's zone)."""
        return self._all_day_zone.key

    @default_tz.setter
    def default_tz(self, value: str) -> None:
        self._all_day_zone = ZoneInfo(value)

    async def aclose(self) -> None:
        """Nothing to release: a shared session belongs to its owner; otherwise each call opens its own."""

    # ------------------------------------------------------------------------------------------ the port

    async def list_calendars(self) -> list[RemoteCalendar]:
        items = await self._get_all(
            f"{self._prefix}/calendars",
            params={"$select": "id,name,canEdit,isDefaultCalendar", "$top": str(self._page_size)},
            what="list calendars",
        )
        calendars = []
        for item in items:
            if not isinstance(item.get("id"), str):
                raise ProviderError("Microsoft Graph answered a calendar without an id")
            calendars.append(
                RemoteCalendar(
                    external_id=item["id"],
                    name=str(item.get("name") or "Calendar"),
                    read_only=not item.get("canEdit", True),
                    primary=bool(item.get("isDefaultCalendar")),
                )
            )
        return calendars

    async def busy(self, calendar_ids: Sequence[str], window: Interval) -> Mapping[str, list[BusyEvent]]:
        """Busy time per calendar from ``calendarView`` (events expanded by the server, paged)."""
        out: dict[str, list[BusyEvent]] = {}
        for calendar_id in calendar_ids:
            events = await self.events(calendar_id, window)
            out[calendar_id] = [event.busy for event in events]
        return out

    async def events(self, calendar_id: str, window: Interval) -> list[RemoteEvent]:
        """Every event instance of a calendar overlapping ``window``, as ``RemoteEvent``s."""
        items = await self._get_all(
            f"{self._prefix}/calendars/{quote(calendar_id, safe='')}/calendarView",
            params={
                "startDateTime": _graph_time(window.start) + "Z",
                "endDateTime": _graph_time(window.end) + "Z",
                "$select": _EVENT_FIELDS,
                "$expand": f"singleValueExtendedProperties($filter=id eq '{BOOKING_PROPERTY_ID}')",
                "$top": str(self._page_size),
            },
            what="read the calendar",
        )
        return [self._event(item, calendar_id) for item in items]

    async def changes(self, calendar_id: str, *, token: str | None, window: Interval) -> ChangeSet:
        """``calendarView/delta``: the first call (``token`` None) lists ``window`` fully; later calls follow the
        delta link.  The window of a delta link is the one it was made with."""
        if token is None:
            path: str = f"{self._prefix}/calendars/{quote(calendar_id, safe='')}/calendarView/delta"
            params: dict[str, str] | None = {
                "startDateTime": _graph_time(window.start) + "Z",
                "endDateTime": _graph_time(window.end) + "Z",
            }
        else:
            path, params = self._same_origin(token), None
        changed: dict[str, RemoteEvent] = {}
        deleted: list[str] = []
        url: str | None = path
        delta_link: str | None = None
        pages = 0
        while url is not None:
            pages += 1
            if pages > 10_000:
                raise ProviderError("Microsoft Graph kept paging the calendar changes; giving up")
            try:
                answer = await self._call(
                    "GET",
                    url,
                    params=params,
                    headers={"Prefer": f'outlook.timezone="UTC", odata.maxpagesize={self._page_size}'},
                    what="sync the calendar",
                    raw=True,
                )
            except _Failed as exc:
                if exc.status == 410 or exc.code.lower() in _SYNC_INVALID_CODES:
                    raise SyncTokenInvalid(
                        f"the calendar's delta token was refused ({exc.status} {exc.code})"
                    ) from None
                raise self._provider_error("sync the calendar", exc) from None
            params = None
            body = answer.body
            for item in body.get("value") or ():
                if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
                    raise ProviderError("Microsoft Graph answered a change without an event id")
                if "@removed" in item:
                    changed.pop(item["id"], None)
                    deleted.append(item["id"])
                else:
                    changed[item["id"]] = self._event(item, calendar_id)
                    if item["id"] in deleted:
                        deleted.remove(item["id"])
            next_link = body.get("@odata.nextLink")
            delta_link = body.get("@odata.deltaLink") or delta_link
            url = self._same_origin(next_link) if isinstance(next_link, str) else None
        if delta_link is None:
            raise ProviderError("Microsoft Graph ended the calendar changes without a delta link (truncated sync)")
        return ChangeSet(changed=tuple(changed.values()), deleted=tuple(deleted), token=delta_link, full=token is None)

    async def create_event(self, calendar_id: str, draft: EventDraft) -> RemoteEvent:
        self._check_writable()
        body = self._event_body(draft)
        body["transactionId"] = transaction_id_for(draft.booking_id)
        body["singleValueExtendedProperties"] = [{"id": BOOKING_PROPERTY_ID, "value": draft.booking_id}]
        events_path = f"{self._prefix}/calendars/{quote(calendar_id, safe='')}/events"
        answer: _Answer | None
        try:
            answer = await self._call(
                "POST",
                events_path,
                json_body=body,
                headers={"Prefer": 'outlook.timezone="UTC"'},
                what="create the booking event",
                raw=True,
            )
        except _Failed as exc:
            if exc.code.lower() != "errorduplicatetransactionid":
                raise self._provider_error("create the booking event", exc) from None
            answer = None  # an earlier attempt did create it (Exchange may refuse the repeat instead of answering it)
        if answer is None:
            existing = await self.find_booking_event(calendar_id, draft.booking_id)
            if existing is None:
                raise ProviderError("Microsoft Graph reported the booking event as created but it cannot be found")
            return existing
        return self._event(answer.body, calendar_id, booking_id=draft.booking_id)

    async def find_booking_event(self, calendar_id: str, booking_id: str) -> RemoteEvent | None:
        """Our event for ``booking_id`` in the calendar (by the extended property), if there is one."""
        escaped = booking_id.replace("'", "''")
        items = await self._get_all(
            f"{self._prefix}/calendars/{quote(calendar_id, safe='')}/events",
            params={
                "$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{BOOKING_PROPERTY_ID}' "
                f"and ep/value eq '{escaped}')",
                "$select": _EVENT_FIELDS,
                "$expand": f"singleValueExtendedProperties($filter=id eq '{BOOKING_PROPERTY_ID}')",
            },
            what="look up the booking event",
        )
        return self._event(items[0], calendar_id, booking_id=booking_id) if items else None

    async def update_event(
        self, calendar_id: str, external_id: str, draft: EventDraft, *, etag: str | None
    ) -> RemoteEvent:
        self._check_writable()
        headers = {"Prefer": 'outlook.timezone="UTC"'}
        if etag:
            headers["If-Match"] = etag
        try:
            answer = await self._call(
                "PATCH",
                f"{self._prefix}/calendars/{quote(calendar_id, safe='')}/events/{quote(external_id, safe='')}",
                json_body=self._event_body(draft),
                headers=headers,
                what="update the booking event",
                raw=True,
            )
        except _Failed as exc:
            if exc.status == 412:
                raise WriteConflict("the booking event changed in the calendar since it was read") from None
            raise self._provider_error("update the booking event", exc) from None
        return self._event(answer.body, calendar_id, booking_id=draft.booking_id)

    async def delete_event(self, calendar_id: str, external_id: str, *, etag: str | None = None) -> None:
        self._check_writable()
        headers = {"If-Match": etag} if etag else {}
        try:
            await self._call(
                "DELETE",
                f"{self._prefix}/calendars/{quote(calendar_id, safe='')}/events/{quote(external_id, safe='')}",
                headers=headers,
                what="delete the booking event",
                raw=True,
            )
        except _Failed as exc:
            if exc.status in (404, 410):
                return
            if exc.status == 412:
                raise WriteConflict("the booking event changed in the calendar since it was read") from None
            raise self._provider_error("delete the booking event", exc) from None

    # ------------------------------------------------------------------------------------- free/busy

    async def free_busy(self, addresses: Sequence[str], window: Interval) -> dict[str, list[BusyEvent]]:
        """Busy time of mailboxes by e-mail address (``getSchedule``), split into calls of at most 20 addresses
        and less than 62 days.  A mailbox Graph could not answer for raises ``ProviderError`` naming it."""
        unique = list(dict.fromkeys(a.strip() for a in addresses if a.strip()))
        out: dict[str, list[BusyEvent]] = {a: [] for a in unique}
        failed: dict[str, str] = {}
        for piece in split_window(window):
            for batch in _chunks(unique, MAX_SCHEDULES_PER_CALL):
                answer = await self._call(
                    "POST",
                    f"{self._prefix}/calendar/getSchedule",
                    json_body={
                        "schedules": batch,
                        "startTime": {"dateTime": _graph_time(piece.start), "timeZone": "UTC"},
                        "endTime": {"dateTime": _graph_time(piece.end), "timeZone": "UTC"},
                        "availabilityViewInterval": 15,
                    },
                    headers={"Prefer": 'outlook.timezone="UTC"'},
                    what="read free/busy",
                )
                by_lower = {a.lower(): a for a in batch}
                for schedule in answer.body.get("value") or ():
                    address = by_lower.get(str(schedule.get("scheduleId", "")).lower())
                    if address is None:
                        continue
                    error = schedule.get("error")
                    if isinstance(error, Mapping):
                        failed[address] = str(error.get("responseCode") or "error")
                        continue
                    for item in schedule.get("scheduleItems") or ():
                        start = _parse_time(item.get("start"), what="start")
                        end = _parse_time(item.get("end"), what="end")
                        transparency, status = _show_as(item.get("status"))
                        out[address].append(
                            BusyEvent(
                                Interval(start, max(start, end)),
                                transparency=transparency,
                                status=status,
                                source=address,
                            )
                        )
                missing = [
                    a
                    for a in batch
                    if a.lower() not in {str(s.get("scheduleId", "")).lower() for s in answer.body.get("value") or ()}
                ]
                for address in missing:
                    failed.setdefault(address, "no answer")
        if failed:
            names = ", ".join(f"{a} ({why})" for a, why in sorted(failed.items()))
            raise ProviderError(f"Microsoft Graph could not tell the free/busy time of {names}")
        return out

    # ---------------------------------------------------------------------------------- subscriptions

    async def subscribe(
        self,
        *,
        notification_url: str,
        now: datetime,
        lifecycle_url: str | None = None,
        client_state: str | None = None,
        minutes: int = SUBSCRIPTION_MAX_MINUTES - 30,
    ) -> GraphSubscription:
        """Subscribe to created/updated/deleted events of the account's mailbox.  Graph first calls
        ``notification_url`` with a ``validationToken`` that must be echoed (see ``validation_token``)."""
        resource = f"{self._prefix.lstrip('/')}/events"
        state = client_state or secrets.token_urlsafe(32)
        expires = now + timedelta(minutes=min(minutes, SUBSCRIPTION_MAX_MINUTES))
        body: dict[str, Any] = {
            "changeType": "created,updated,deleted",
            "notificationUrl": notification_url,
            "resource": resource,
            "expirationDateTime": expires.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "clientState": state,
        }
        if lifecycle_url:
            body["lifecycleNotificationUrl"] = lifecycle_url
        answer = await self._call("POST", "/subscriptions", json_body=body, what="subscribe to calendar changes")
        return self._subscription(answer.body, state, notification_url, lifecycle_url)

    async def renew_subscription(
        self, subscription: GraphSubscription, *, now: datetime, minutes: int = SUBSCRIPTION_MAX_MINUTES - 30
    ) -> GraphSubscription:
        """PATCH the expiry forward (also what a ``reauthorizationRequired`` lifecycle event asks for).  A
        subscription Graph no longer knows (404) is created again with the same URLs."""
        expires = now + timedelta(minutes=min(minutes, SUBSCRIPTION_MAX_MINUTES))
        try:
            answer = await self._call(
                "PATCH",
                f"/subscriptions/{quote(subscription.id, safe='')}",
                json_body={"expirationDateTime": expires.astimezone(UTC).isoformat().replace("+00:00", "Z")},
                what="renew the calendar subscription",
                raw=True,
            )
        except _Failed as exc:
            if exc.status == 404:
                return await self.subscribe(
                    notification_url=subscription.notification_url,
                    lifecycle_url=subscription.lifecycle_url,
                    now=now,
                    minutes=minutes,
                )
            raise self._provider_error("renew the calendar subscription", exc) from None
        return self._subscription(
            answer.body, subscription.client_state, subscription.notification_url, subscription.lifecycle_url
        )

    async def unsubscribe(self, subscription_id: str) -> None:
        try:
            await self._call(
                "DELETE", f"/subscriptions/{quote(subscription_id, safe='')}", what="unsubscribe", raw=True
            )
        except _Failed as exc:
            if exc.status != 404:
                raise self._provider_error("unsubscribe", exc) from None

    @staticmethod
    def _subscription(body: Any, state: str, url: str, lifecycle: str | None) -> GraphSubscription:
        try:
            expires = datetime.fromisoformat(str(body["expirationDateTime"]).replace("Z", "+00:00"))
            return GraphSubscription(
                id=str(body["id"]),
                resource=str(body.get("resource") or ""),
                expires_at=expires if expires.tzinfo else expires.replace(tzinfo=UTC),
                client_state=state,
                notification_url=url,
                lifecycle_url=lifecycle,
            )
        except (KeyError, TypeError, ValueError):
            raise ProviderError("Microsoft Graph answered a subscription without an id or expiry") from None

    # ------------------------------------------------------------------------------------------- HTTP

    def _check_writable(self) -> None:
        if self.read_only:
            raise ProviderError("this Microsoft calendar account is read-only")

    def _event(self, item: Any, calendar_id: str, *, booking_id: str | None = None) -> RemoteEvent:
        if not isinstance(item, Mapping):
            raise ProviderError("Microsoft Graph answered something that is not an event")
        event = _remote_event(item, source=calendar_id, all_day_zone=self._all_day_zone)
        if booking_id and event.booking_id is None:
            event = RemoteEvent(event.external_id, event.busy, event.etag, booking_id)
        return event

    @staticmethod
    def _event_body(draft: EventDraft) -> dict[str, Any]:
        body: dict[str, Any] = {
            "subject": draft.title,
            "body": {"contentType": "text", "content": draft.description},
            "start": {"dateTime": _graph_time(draft.interval.start), "timeZone": "UTC"},
            "end": {"dateTime": _graph_time(draft.interval.end), "timeZone": "UTC"},
            "showAs": "busy",
            "attendees": [{"emailAddress": {"address": a}, "type": "required"} for a in draft.attendees],
        }
        if draft.location:
            body["location"] = {"displayName": draft.location}
        return body

    def _same_origin(self, link: str) -> str:
        if urlsplit(link)[:2] != self._origin:
            raise ProviderError("Microsoft Graph pointed to another host for the next page; refusing to follow")
        return link

    def _provider_error(self, what: str, exc: _Failed) -> ProviderError:
        if exc.status == 401:
            return NeedsReconnect(f"Microsoft refused the account's credentials; could not {what}")
        code = f" {exc.code}" if exc.code else ""
        return ProviderError(f"Microsoft Graph could not {what}: HTTP {exc.status}{code}")

    async def _get_all(self, path: str, *, params: Mapping[str, str], what: str) -> list[Mapping[str, Any]]:
        items: list[Mapping[str, Any]] = []
        url: str | None = path
        query: Mapping[str, str] | None = params
        pages = 0
        while url is not None:
            pages += 1
            if pages > 10_000:
                raise ProviderError(f"Microsoft Graph kept paging; could not {what}")
            answer = await self._call("GET", url, params=query, headers={"Prefer": 'outlook.timezone="UTC"'}, what=what)
            for item in answer.body.get("value") or ():
                if isinstance(item, Mapping):
                    items.append(item)
            next_link = answer.body.get("@odata.nextLink")
            url = self._same_origin(next_link) if isinstance(next_link, str) else None
            query = None
        return items

    async def _call(
        self,
        method: str,
        path_or_url: str,
        *,
        what: str,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        raw: bool = False,
    ) -> _Answer:
        """One Graph request with retries.  ``raw``: non-retryable HTTP errors raise ``_Failed`` for the caller
        to interpret; otherwise they become ``ProviderError``/``NeedsReconnect`` here."""
        url = path_or_url if "://" in path_or_url else self._base + path_or_url
        if self._session is not None:
            return await self._call_with(self._session, method, url, what, params, json_body, headers, raw)
        async with aiohttp.ClientSession(timeout=self._timeout) as session:
            return await self._call_with(session, method, url, what, params, json_body, headers, raw)

    async def _call_with(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        what: str,
        params: Mapping[str, str] | None,
        json_body: Any,
        headers: Mapping[str, str] | None,
        raw: bool,
    ) -> _Answer:
        refreshed = False
        attempt = 0
        while True:
            token = await self._tokens.token(force_refresh=refreshed)
            request_headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", **(headers or {})}
            try:
                async with session.request(
                    method, url, params=params, json=json_body, headers=request_headers, timeout=self._timeout
                ) as response:
                    text = await response.text()
                    status = response.status
                    answer_headers = dict(response.headers)
            except (TimeoutError, aiohttp.ClientError) as exc:
                if attempt >= self._max_retries:
                    kind = "timed out" if isinstance(exc, TimeoutError) else "could not be reached"
                    raise ProviderError(f"Microsoft Graph {kind}; could not {what}") from None
                await self._sleep(self._backoff * 2**attempt)
                attempt += 1
                continue
            try:
                body: Any = json.loads(text) if text.strip() else {}
            except ValueError:
                body = {}
            if status < 300:
                if not isinstance(body, Mapping):
                    raise ProviderError(f"Microsoft Graph answered something unexpected; could not {what}")
                return _Answer(status, body, answer_headers)
            if status == 401:
                if not refreshed:
                    refreshed = True
                    continue
                raise NeedsReconnect(f"Microsoft refused the account's credentials; could not {what}")
            if status in _RETRY_AFTER_STATUSES or status >= 500:
                wait = retry_after_seconds(answer_headers.get("Retry-After"))
                if wait is None:
                    wait = self._backoff * 2**attempt
                if attempt >= self._max_retries or wait > self._max_retry_after:
                    code = _error_of(status, body).code
                    raise ProviderError(
                        f"Microsoft Graph is busy or failing (HTTP {status}{' ' + code if code else ''}); "
                        f"could not {what}"
                    )
                log.info("graph %s: HTTP %s, retrying in %.1fs", what, status, wait)
                await self._sleep(wait)
                attempt += 1
                continue
            failure = _error_of(status, body)
            if raw:
                raise failure
            raise self._provider_error(what, failure)


# ------------------------------------------------------------------------------------- notifications


def validation_token(query: Mapping[str, str]) -> str | None:
    """The ``validationToken`` Graph sends when a subscription is created: answer 200 ``text/plain`` with it,
    unchanged.  None when the request is a real notification."""
    token = query.get("validationToken")
    return token if token else None


@dataclass(frozen=True, slots=True)
class Notification:
    subscription_id: str
    change_type: str | None  # created / updated / deleted (change notifications)
    lifecycle_event: str | None  # reauthorizationRequired / subscriptionRemoved / missed (lifecycle)
    resource: str | None = None

    @property
    def action(self) -> str:
        """What to do: ``sync`` (a change), ``renew`` (reauthorize), ``resubscribe`` (removed), ``resync``
        (missed notifications: a full resync)."""
        if self.lifecycle_event == "reauthorizationRequired":
            return "renew"
        if self.lifecycle_event == "subscriptionRemoved":
            return "resubscribe"
        if self.lifecycle_event == "missed":
            return "resync"
        return "sync"


@dataclass(frozen=True, slots=True)
class NotificationCheck:
    accepted: tuple[Notification, ...]
    rejected: int  # notifications whose clientState did not match (ignored, never acted on)


def check_notifications(payload: Any, client_state_of: Callable[[str], str | None]) -> NotificationCheck:
    """Split a notification POST body into genuine notifications and forgeries: each item's ``clientState``
    must equal (constant-time) the secret we gave its subscription (``client_state_of(subscription_id)``)."""
    import hmac

    accepted: list[Notification] = []
    rejected = 0
    items = payload.get("value") if isinstance(payload, Mapping) else None
    if not isinstance(items, list):
        raise ValueError("not a Microsoft Graph notification (no 'value' list)")
    for item in items:
        if not isinstance(item, Mapping):
            rejected += 1
            continue
        subscription_id = str(item.get("subscriptionId") or "")
        expected = client_state_of(subscription_id) if subscription_id else None
        given = item.get("clientState")
        if not expected or not isinstance(given, str) or not hmac.compare_digest(given.encode(), expected.encode()):
            rejected += 1
            continue
        accepted.append(
            Notification(
                subscription_id=subscription_id,
                change_type=item.get("changeType"),
                lifecycle_event=item.get("lifecycleEvent"),
                resource=item.get("resource"),
            )
        )
    return NotificationCheck(tuple(accepted), rejected)


def subscription_due(
    subscription: GraphSubscription, *, now: datetime, margin: timedelta = timedelta(hours=12)
) -> bool:
    """True when the subscription should be renewed now (it expires within ``margin``)."""
    return subscription.expires_at - margin <= now
