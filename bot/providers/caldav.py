"""CalDAV (RFC 4791, RFC 6578) calendars, iCloud included, through the ``caldav`` library's async client.

Installing: caldav 3.x needs ``niquests`` -> ``urllib3-future``, whose wheel replaces urllib3 in place (requests,
and through it google-auth, msal and slack_sdk, would run on the fork).  ``scripts/setup`` builds urllib3-future
from source with ``URLLIB3_NO_OVERRIDE=1``, so it is only the separate module ``urllib3_future`` that niquests
uses; ``tests/unit/test_clean_install.py`` checks that urllib3 is still urllib3.

What the library does (``caldav.aio.AsyncDAVClient``, one per account, its own niquests session)
    * Discovery: ``get_principal()`` (``current-user-principal``; ``/.well-known/caldav`` when the address has
      none) -> PROPFIND ``calendar-home-set`` + ``calendar-user-address-set`` -> Depth 1 PROPFIND of the home
      (body built from ``caldav.elements``, answer parsed by the library): the collections that are calendars
      holding VEVENTs; read-only when ``current-user-privilege-set`` lacks write access.
      (``Principal.get_calendars`` lists calendars too, but without privileges, component sets or sync tokens,
      which would cost one more PROPFIND per calendar.)
    * Busy: ``Calendar.search(event=True, start, end, post_filter=False)``: one ``calendar-query`` REPORT with a
      ``time-range``; the server picks the resources and the library hands back each one's data exactly as sent
      (``raw_data``) with its ETag.  The expansion is ours (``bot.providers.ics.parse_ics``: RRULE/EXDATE/
      RECURRENCE-ID overrides, all-day in the person's zone, TRANSP, STATUS), capped at ``max_instances`` per
      calendar, because the library's client-side filter has no cap and rewrites the objects it filters.
      Events the owner declined (their ATTENDEE has ``PARTSTAT=DECLINED``) are not busy.
    * Sync: ``Calendar.get_objects_by_sync_token(token, disable_fallback=True)`` (truncated answers followed)
      + ``Calendar.multiget`` of the changed resources, 100 at a time.  A refused token (403/409, or
      400/412 naming ``valid-sync-token``) -> ``SyncTokenInvalid``; the library's own fallback (all objects of
      the calendar, no window) is off.  A full listing reads the collection's ``sync-token`` first, then searches
      the window, so nothing falls between the two.
    * Writes: the booking event lives at ``<calendar>/schedbot-<booking id>.ics`` with UID
      ``<booking id>@schedbot`` and ``X-SCHEDBOT-BOOKING:<booking id>``.  Updated with ``Event.save(raw_data,
      precondition="etag")`` (``If-Match``; 412 -> ``ETagMismatchError`` -> ``WriteConflict``, after which the
      calendar service refetches and retries once; a weak ETag, which can never match, the library leaves out)
      and deleted with ``Event.delete(if_match=etag)`` (412 -> ``WriteConflict``; gone already is fine).
      Created with the client's own ``put`` and ``If-None-Match: *`` (a retry finds the first one: 412 -> GET it
      and compare the booking id): ``save(no_overwrite=True)`` sends that header too, but with the library's
      default server profile it first searches the calendar for the UID (a text-match REPORT, unreliable on
      some servers), which a URL and UID both derived from the booking id do not need.

Every HTTP request the library sends goes through ``_Client.request``: ``policy.timeout`` per attempt (the whole
request), 401 -> ``NeedsReconnect`` at once, timeouts, connection errors, 429 and 5xx retried ``policy.attempts``
times (``Retry-After`` honoured, capped), then ``ProviderError``; answers larger than ``policy.max_bytes`` are
refused (before reading when the server says the length, else once read). A failure is also remembered for the
operation it happened in, so a library step that swallows errors (e.g. its per-object fallback loads) cannot turn
"could not read" into "no events".

Ids: a calendar's ``external_id`` is its collection URL; an event's is its resource URL, and an instance of a
recurring event is ``<resource URL>@<start in UTC, ISO>``.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import math
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast
from urllib.parse import unquote, urljoin, urlsplit

from caldav.aio import AsyncDAVClient, Calendar, Event
from caldav.elements import cdav, dav
from caldav.lib import error as dav_error
from caldav.response import DAVResponse
from lxml import etree

from bot.providers.httpcall import HttpPolicy, retry_after_seconds
from bot.providers.ics import DEFAULT_MAX_INSTANCES
from bot.providers.ics_events import BOOKING_PROPERTY, canonical_url, remote_events
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
    "ICLOUD_URL",
    "CalDAVProvider",
    "booking_event_ics",
    "booking_uid",
    "remote_events",
]

log = logging.getLogger(__name__)

ICLOUD_URL = "https://caldav.icloud.com/"
PRODID = "-//schedbot//calendar sync//EN"

_CAL = "{urn:ietf:params:xml:ns:caldav}"
_ICS = "text/calendar; charset=utf-8"
_MULTIGET_CHUNK = 100
_WIDE = Interval(datetime(1970, 1, 2, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC))
_WRITE_PRIVILEGES = {"{DAV:}write", "{DAV:}write-content", "{DAV:}all"}
_T = TypeVar("_T")


def booking_uid(booking_id: str) -> str:
    return f"{booking_id}@schedbot"


def _safe_name(booking_id: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", booking_id)[:120]
    if not cleaned:
        raise ProviderError("a booking event needs a booking id")
    return f"schedbot-{cleaned}.ics"


def booking_event_ics(draft: EventDraft, *, now: datetime | None = None) -> bytes:
    """The iCalendar text of a booking event (times in UTC; no attendees, so no server sends invitations)."""
    import icalendar

    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    event = icalendar.Event()
    event.add("uid", booking_uid(draft.booking_id))
    event.add("dtstamp", (now or datetime.now(UTC)).astimezone(UTC))
    event.add("dtstart", draft.interval.start.astimezone(UTC))
    event.add("dtend", draft.interval.end.astimezone(UTC))
    event.add("summary", draft.title)
    description = draft.description
    if draft.attendees:
        description = (description + "\n\n" if description else "") + "With: " + ", ".join(draft.attendees)
    if description:
        event.add("description", description)
    if draft.location:
        event.add("location", draft.location)
    event.add("transp", "OPAQUE")
    event.add("status", "CONFIRMED")
    event.add(BOOKING_PROPERTY, draft.booking_id)
    cal.add_component(event)
    return bytes(cal.to_ical())


# --- the library's client, with our HTTP policy -------------------------------------------------------------

# The failures of the operation running in this context (see ``CalDAVProvider._run``).
_FAILURES: contextvars.ContextVar[list[ProviderError] | None] = contextvars.ContextVar("caldav_failures", default=None)


class _TooLarge(Exception):
    pass


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MB" if n >= 1024 * 1024 else f"{n // 1024} KB" if n >= 1024 else f"{n} bytes"


def _content_length(headers: Any) -> int | None:
    try:
        return int(headers.get("Content-Length"))
    except (TypeError, ValueError):
        return None


class _Client(AsyncDAVClient):
    """``AsyncDAVClient`` whose every request has a timeout, bounded retries and a size cap (``HttpPolicy``)."""

    def __init__(self, url: str, *, username: str, password: str, policy: HttpPolicy, what: str) -> None:
        self._policy = policy
        self._what = what
        super().__init__(
            url=url,
            username=username,
            password=password,
            timeout=max(1, math.ceil(policy.timeout)),
            enable_rfc6764=False,  # the address is a URL: no DNS discovery
            rate_limit_handle=False,  # 429/503 are retried below, with our limits
        )

    def _create_session(self) -> None:
        super()._create_session()
        hooks = getattr(self.session, "hooks", None)
        if hooks is not None:  # niquests: refuse an announced oversized body before it is read
            hooks["response"].append(self._refuse_oversized)

    def _refuse_oversized(self, response: Any, **_: Any) -> None:
        length = _content_length(getattr(response, "headers", {}))
        if length is not None and length > self._policy.max_bytes:
            raise _TooLarge

    def _failed(self, exc: ProviderError) -> ProviderError:
        failures = _FAILURES.get()
        if failures is not None:
            failures.append(exc)
        return exc

    async def request(
        self,
        url: str,
        method: str = "GET",
        body: str = "",
        headers: Mapping[str, str] | None = None,
        rate_limit_time_slept: float = 0,
    ) -> DAVResponse:
        policy = self._policy
        attempts = max(1, policy.attempts)
        last = "no answer"
        for attempt in range(attempts):
            wait: float | None = None
            try:
                async with asyncio.timeout(policy.timeout):
                    response = await super().request(url, method, body, headers)
            except _TooLarge:
                raise self._failed(ProviderError(f"{self._what} sent more than {_size(policy.max_bytes)}")) from None
            except dav_error.RateLimitError as exc:  # 429, or 503 with Retry-After
                last = f"HTTP {exc.status or 429}"
                wait = retry_after_seconds(exc.retry_after)
            except dav_error.AuthorizationError as exc:
                if exc.status == 403:
                    raise  # the caller decides: an expired sync token, a calendar we may not write, ...
                raise self._failed(
                    NeedsReconnect(f"{self._what} refused the sign-in (HTTP {exc.status or 401})")
                ) from None
            except TimeoutError:
                last = f"no answer within {policy.timeout:g} seconds"
            except OSError as exc:  # niquests' errors are OSErrors
                if "Timeout" in type(exc).__name__:
                    last = f"no answer within {policy.timeout:g} seconds"
                else:
                    last = f"could not be reached ({type(exc).__name__})"
            else:
                if response.status == 429 or response.status >= 500:
                    last = f"HTTP {response.status}"
                    wait = retry_after_seconds(response.headers.get("Retry-After"))
                else:
                    raw = response._raw  # the body as received (the library parsed it already)
                    if raw and len(raw) > policy.max_bytes:
                        raise self._failed(ProviderError(f"{self._what} sent more than {_size(policy.max_bytes)}"))
                    return response
            if attempt + 1 < attempts:
                if wait is not None:
                    wait = min(wait, policy.max_retry_after)
                await asyncio.sleep(wait if wait is not None else policy.backoff * (2**attempt))
        tries = "once" if attempts == 1 else f"{attempts} times"
        raise self._failed(ProviderError(f"{self._what}: {last} (tried {tries})"))


def _propfind_body(*props: Any) -> str:
    root = dav.Propfind() + (dav.Prop() + list(props))
    xml: bytes = etree.tostring(root.xmlelement(), encoding="utf-8", xml_declaration=True)
    return xml.decode("utf-8")


async def _awaited(value: Any) -> Any:
    """What a dual-mode library call gave an async client: a coroutine (typed as "value or coroutine")."""
    return await value if inspect.isawaitable(value) else value


def _props(result: Any) -> Mapping[str, Any]:
    """The properties the library parsed out of one PROPFIND response."""
    props = getattr(result, "properties", None)
    return props if isinstance(props, Mapping) else {}


def _first(value: Any) -> str | None:
    """A property value the library parsed as a string or a list of strings: the first string."""
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str) and v.strip()), None)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


# --- the provider ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Collection:
    url: str
    name: str
    read_only: bool
    sync_token: str | None


class CalDAVProvider:
    """One CalDAV account (server URL + username + password; for iCloud an app-specific password).

    ``default_tz``: the zone all-day and floating times are read in (the person's).  ``owner_emails``: addresses
    of the owner besides those the server lists, to recognise invitations they declined.  Use as an async context
    manager, or call ``aclose``.
    """

    read_only = False

    def __init__(
        self,
        url: str,
        *,
        username: str,
        password: str,
        default_tz: str = "UTC",
        owner_emails: Sequence[str] = (),
        policy: HttpPolicy | None = None,
        max_instances: int = DEFAULT_MAX_INSTANCES,
        label: str | None = None,
    ) -> None:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the CalDAV server address must start with https:// (or http://)")
        if parts.username or parts.password:
            raise ValueError("put the username and password in their own fields, not in the address")
        self._url = url.strip() if url.strip().endswith("/") or parts.path.endswith(".ics") else url.strip() + "/"
        self._username = username
        self._password = password
        self.default_tz = default_tz
        self.owner_emails = tuple(owner_emails)
        self._policy = policy or HttpPolicy()
        self._max_instances = max_instances
        self._what = label or f"the CalDAV server {parts.hostname}"
        self._client: _Client | None = None
        self._collections: dict[str, _Collection] | None = None
        self._owner_addresses: set[str] = set()
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:  # never the password
        return f"CalDAVProvider({urlsplit(self._url).hostname!r}, username={self._username!r})"

    async def __aenter__(self) -> CalDAVProvider:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    def _dav(self) -> _Client:
        if self._client is None:
            self._client = _Client(
                self._url, username=self._username, password=self._password, policy=self._policy, what=self._what
            )
        return self._client

    async def _run(self, doing: str, operation: Callable[[_Client], Awaitable[_T]]) -> _T:
        """One library operation (any number of requests), its failures as ``ProviderError``s.

        A failure the library swallowed on the way (it falls back to other requests in places) still fails the
        operation: an answer built around a request that failed is not trusted."""
        failures: list[ProviderError] = []
        token = _FAILURES.set(failures)
        try:
            result = await operation(self._dav())
        except ProviderError:
            if failures:
                raise failures[0] from None
            raise
        except dav_error.DAVError as exc:
            if failures:
                raise failures[0] from None
            status = f" (HTTP {exc.status})" if exc.status else ""
            raise ProviderError(f"{self._what} could not {doing}{status}") from None
        except etree.LxmlError:
            if failures:
                raise failures[0] from None
            raise ProviderError(f"{self._what} sent an answer that is not valid XML") from None
        except (ValueError, TypeError, KeyError, AttributeError, AssertionError, NotImplementedError) as exc:
            if failures:
                raise failures[0] from None
            log.warning("caldav could not %s: %s", doing, type(exc).__name__)  # no details: they may hold data
            raise ProviderError(f"{self._what} sent an answer that could not be read while trying to {doing}") from None
        finally:
            _FAILURES.reset(token)
        if failures:
            raise failures[0]
        return result

    def _calendar(self, client: _Client, url: str) -> Calendar:
        return Calendar(client=cast(Any, client), url=url)

    # -- discovery

    async def _discover(self) -> dict[str, _Collection]:
        async with self._lock:
            if self._collections is None:
                self._collections = await self._run("list the calendars", self._list)
            return self._collections

    async def _list(self, client: _Client) -> dict[str, _Collection]:
        try:
            return await self._find_calendars(client)
        except dav_error.AuthorizationError as exc:  # 403 (a 401 is NeedsReconnect already)
            # Signed in, yet refused the account's own principal or calendars: only signing in again can help.
            raise NeedsReconnect(
                f"{self._what} refused access to the account's calendars (HTTP {exc.status})"
            ) from None

    async def _find_calendars(self, client: _Client) -> dict[str, _Collection]:
        principal = str((await client.get_principal()).url)
        homes, addresses = await self._homes(client, principal)
        if not homes:  # the address given named no principal: try the well-known one (RFC 6764)
            known = urljoin(self._url, "/.well-known/caldav")
            found = await client.propfind(known, props=["{DAV:}current-user-principal"], depth=0)
            for result in (found.results or []) if found.status == 207 else []:
                href = _first(_props(result).get("{DAV:}current-user-principal"))
                if href:
                    homes, addresses = await self._homes(client, urljoin(known, href))
                    break
        if not homes:
            raise ProviderError(f"{self._what} does not look like a CalDAV server (no calendar home found)")
        self._owner_addresses = {a.lower() for a in addresses if a.lower().startswith("mailto:")}
        home = homes[0]
        body = _propfind_body(
            dav.ResourceType(), dav.DisplayName(), cdav.SupportedCalendarComponentSet(),
            dav.CurrentUserPrivilegeSet(), dav.SyncToken(),
        )
        response = await client.propfind(home, body=body, depth=1)
        if response.status != 207:
            raise ProviderError(f"{self._what} refused to list the calendars (HTTP {response.status})")
        collections: dict[str, _Collection] = {}
        for result in response.results or []:
            props = _props(result)
            if f"{_CAL}calendar" not in _strings(props.get("{DAV:}resourcetype")):
                continue
            components = {c.upper() for c in _strings(props.get(f"{_CAL}supported-calendar-component-set"))}
            if components and "VEVENT" not in components:
                continue  # a task list
            url = canonical_url(urljoin(home, result.href))
            privileges = props.get("{DAV:}current-user-privilege-set")
            read_only = isinstance(privileges, list) and not set(privileges) & _WRITE_PRIVILEGES
            name = _first(props.get("{DAV:}displayname")) or unquote(url.rstrip("/").rsplit("/", 1)[-1])
            collections[url] = _Collection(url, name, read_only, _first(props.get("{DAV:}sync-token")))
        return collections

    async def _homes(self, client: _Client, principal: str) -> tuple[list[str], list[str]]:
        """The calendar homes and calendar-user addresses of a principal (none when it is not one)."""
        response = await client.propfind(
            principal, props=[f"{_CAL}calendar-home-set", f"{_CAL}calendar-user-address-set"], depth=0
        )
        if response.status != 207:
            return [], []
        homes: list[str] = []
        addresses: list[str] = []
        for result in response.results or []:
            props = _props(result)
            homes += [urljoin(principal, h) for h in _strings(props.get(f"{_CAL}calendar-home-set"))]
            addresses += _strings(props.get(f"{_CAL}calendar-user-address-set"))
        return homes, addresses

    def _owners(self) -> set[str]:
        owners = set(self._owner_addresses)
        for address in (self._username, *self.owner_emails):
            if "@" in address:
                owners.add("mailto:" + address.strip().lower())
        return owners

    async def list_calendars(self) -> list[RemoteCalendar]:
        collections = await self._discover()
        out: list[RemoteCalendar] = []
        first_writable = next((c.url for c in collections.values() if not c.read_only), None)
        for c in collections.values():
            out.append(RemoteCalendar(c.url, c.name, read_only=c.read_only, primary=c.url == first_writable))
        return out

    async def _collection(self, calendar_id: str) -> _Collection:
        collections = await self._discover()
        key = canonical_url(calendar_id)
        found = collections.get(key)
        if found is None:
            # A calendar we were told about before but discovery did not list (e.g. shared later): use as is.
            return _Collection(key, unquote(key.rstrip("/").rsplit("/", 1)[-1]), False, None)
        return found

    # -- reading

    async def _events_in(self, calendar: _Collection, window: Interval) -> list[RemoteEvent]:
        async def search(client: _Client) -> list[tuple[str, str | bytes, str | None]]:
            found = await _awaited(
                self._calendar(client, calendar.url).search(
                    event=True, start=window.start, end=window.end, post_filter=False
                )
            )
            return [_resource_data(o, calendar) for o in found]

        members = await self._run(f"search {calendar.name!r}", search)
        return await asyncio.to_thread(self._expand, members, calendar, window)

    def _expand(
        self, members: Sequence[tuple[str, str | bytes, str | None]], calendar: _Collection, window: Interval
    ) -> list[RemoteEvent]:
        out: list[RemoteEvent] = []
        owners = self._owners()
        for href, data, etag in members:
            left = self._max_instances - len(out)
            if left < 1:
                raise ProviderError(f"{calendar.name!r} has more than {self._max_instances} events in the window")
            out += remote_events(
                data,
                href=href,
                etag=etag,
                window=window,
                default_tz=self.default_tz,
                owner_addresses=owners,
                max_instances=left,
                source=calendar.url,
                label=repr(calendar.name),
            )
        return out

    async def busy(self, calendar_ids: Sequence[str], window: Interval) -> Mapping[str, list[BusyEvent]]:
        async def one(calendar_id: str) -> tuple[str, list[BusyEvent]]:
            calendar = await self._collection(calendar_id)
            events = await self._events_in(calendar, window)
            return calendar_id, sorted((e.busy for e in events), key=lambda b: (b.start, b.end))

        pairs = await asyncio.gather(*(one(c) for c in calendar_ids))
        return dict(pairs)

    async def changes(self, calendar_id: str, *, token: str | None, window: Interval) -> ChangeSet:
        calendar = await self._collection(calendar_id)
        if token is None:
            async def current_token(client: _Client) -> str | None:
                return _first(await _awaited(self._calendar(client, calendar.url).get_property(dav.SyncToken())))

            fresh = await self._run(f"read the sync position of {calendar.name!r}", current_token)
            listing = await self._events_in(calendar, window)
            return ChangeSet(tuple(listing), (), fresh, full=True)

        async def sync(client: _Client) -> tuple[list[tuple[str, str | bytes, str | None]], list[str], str]:
            dav_calendar = self._calendar(client, calendar.url)
            try:
                found = await _awaited(
                    dav_calendar.get_objects_by_sync_token(sync_token=token, load_objects=False, disable_fallback=True)
                )
            except dav_error.DAVError as exc:
                if _token_refused(exc):
                    raise SyncTokenInvalid(f"{calendar.name!r}: the server no longer knows our sync position") from None
                raise
            if found.truncated:  # still cut short after the library followed it: start over rather than miss changes
                raise SyncTokenInvalid(f"{calendar.name!r}: the server would not list all changes")
            new_token = _first(found.sync_token)
            if new_token is None:
                raise ProviderError(f"{self._what} sent no sync token for {calendar.name!r}")
            deleted_urls = {canonical_url(str(u)) for u in found.deleted_urls}
            changed_objects = [o for o in found if canonical_url(str(o.url)) not in deleted_urls]
            changed: list[tuple[str, str | bytes, str | None]] = []
            for start in range(0, len(changed_objects), _MULTIGET_CHUNK):
                chunk = [o.url for o in changed_objects[start : start + _MULTIGET_CHUNK]]
                for loaded in await _awaited(dav_calendar.multiget(chunk)):
                    if loaded.raw_data:  # gone again since the sync report: the next sync lists it as deleted
                        changed.append(_resource_data(loaded, calendar))
            return changed, sorted(deleted_urls), new_token

        members, deleted, new_token = await self._run(f"sync {calendar.name!r}", sync)
        events = await asyncio.to_thread(self._expand, members, calendar, window)
        return ChangeSet(tuple(events), tuple(deleted), new_token, full=False)

    async def _get(self, href: str, what: str) -> DAVResponse | None:
        async def get(client: _Client) -> DAVResponse:
            return await client.request(href, "GET")

        response = await self._run(f"read an event of {what}", get)
        if response.status in (404, 410):
            return None
        if response.status != 200:
            raise ProviderError(f"{self._what} could not read an event of {what} (HTTP {response.status})")
        return response

    async def get_event(self, calendar_id: str, external_id: str) -> RemoteEvent | None:
        """The event (its first instance) as stored now, or None when it is gone.  Optional port member."""
        calendar = await self._collection(calendar_id)
        href = _resource(external_id)
        response = await self._get(href, repr(calendar.name))
        if response is None:
            return None
        events = await asyncio.to_thread(
            remote_events,
            response.raw,
            href=href,
            etag=response.headers.get("ETag"),
            window=_WIDE,
            default_tz=self.default_tz,
            max_instances=1_000_000,
            source=calendar.url,
            label=repr(calendar.name),
        )
        if not events:
            return None
        return events[0]

    # -- writing

    async def _put(self, url: str, body: bytes, headers: Mapping[str, str], doing: str) -> DAVResponse:
        async def put(client: _Client) -> DAVResponse:
            try:
                return await client.put(url, body.decode("utf-8"), {"Content-Type": _ICS, **headers})
            except dav_error.AuthorizationError as exc:  # 403: not allowed here
                raise ProviderError(f"{self._what} refused to {doing} (HTTP {exc.status})") from None

        return await self._run(doing, put)

    def _event_url(self, calendar: _Collection, booking_id: str) -> str:
        return canonical_url(urljoin(calendar.url, _safe_name(booking_id)))

    async def create_event(self, calendar_id: str, draft: EventDraft) -> RemoteEvent:
        calendar = await self._collection(calendar_id)
        if calendar.read_only:
            raise ProviderError(f"{calendar.name!r} is read-only")
        url = self._event_url(calendar, draft.booking_id)
        doing = f"add the booking event to {calendar.name!r}"
        response = await self._put(url, booking_event_ics(draft), {"If-None-Match": "*"}, doing)
        if response.status in (200, 201, 204):
            return self._written(url, draft, response.headers.get("ETag"))
        if response.status == 412:  # it exists: a retry of the same booking (the UID is derived from its id)
            existing = await self.get_event(calendar.url, url)
            if existing is not None and existing.booking_id == draft.booking_id:
                return self._written(url, draft, existing.etag)
            raise ProviderError(f"{calendar.name!r} already has another event where the booking belongs")
        raise ProviderError(f"{self._what} refused the booking event in {calendar.name!r} (HTTP {response.status})")

    def _event(self, client: _Client, calendar: _Collection, url: str, etag: str | None) -> Event:
        props = {dav.GetEtag.tag: etag} if etag else None
        return Event(client=cast(Any, client), url=url, parent=self._calendar(client, calendar.url), props=props)

    async def update_event(
        self, calendar_id: str, external_id: str, draft: EventDraft, *, etag: str | None
    ) -> RemoteEvent:
        calendar = await self._collection(calendar_id)
        url = canonical_url(_resource(external_id))
        doing = f"update the booking event in {calendar.name!r}"

        async def save(client: _Client) -> str | None:
            event = self._event(client, calendar, url, etag)
            try:  # If-Match with the etag (a weak one the library leaves out: it could never match)
                await _awaited(event.save(raw_data=booking_event_ics(draft), precondition="etag", increase_seqno=False))
            except dav_error.ETagMismatchError:  # 412
                raise WriteConflict(f"the booking event in {calendar.name!r} was changed meanwhile") from None
            except dav_error.AuthorizationError as exc:  # 403
                raise ProviderError(f"{self._what} refused to {doing} (HTTP {exc.status})") from None
            return event.etag  # from the answer's ETag header (None when the server sent none)

        return self._written(url, draft, await self._run(doing, save))

    async def delete_event(self, calendar_id: str, external_id: str, *, etag: str | None = None) -> None:
        calendar = await self._collection(calendar_id)
        url = canonical_url(_resource(external_id))
        doing = f"delete the booking event in {calendar.name!r}"

        async def delete(client: _Client) -> None:
            event = self._event(client, calendar, url, etag)
            try:  # If-Match when we know the etag; gone already (404) is fine either way
                await _awaited(event.delete(if_match=etag) if etag else event.delete())
            except dav_error.ETagMismatchError:  # 412
                raise WriteConflict(f"the booking event in {calendar.name!r} was changed meanwhile") from None
            except dav_error.NotFoundError:
                pass
            except dav_error.AuthorizationError as exc:  # 403
                raise ProviderError(f"{self._what} refused to {doing} (HTTP {exc.status})") from None
            except dav_error.DeleteError as exc:
                if exc.status not in (202, 410):  # accepted, or gone for good: done as far as we are concerned
                    raise

        await self._run(doing, delete)

    @staticmethod
    def _written(url: str, draft: EventDraft, etag: str | None) -> RemoteEvent:
        busy = BusyEvent(draft.interval, kind="booking", source=f"booking:{draft.booking_id}")
        return RemoteEvent(external_id=url, busy=busy, etag=etag, booking_id=draft.booking_id)

    # -- connecting

    async def check(self) -> list[RemoteCalendar]:
        """Connect and list the calendars: what the connect form calls to validate what was typed."""
        try:
            return await self.list_calendars()
        except NeedsReconnect:
            raise NeedsReconnect(f"{self._what} did not accept that username and password") from None


def _resource_data(found: Any, calendar: _Collection) -> tuple[str, str | bytes, str | None]:
    """(canonical URL, calendar data as the server sent it, ETag) of an object the library returned."""
    data = found.raw_data
    if not data:
        raise ProviderError(f"{calendar.name!r}: the server sent an event without its data")
    return canonical_url(str(found.url)), data, found.etag


def _token_refused(exc: dav_error.DAVError) -> bool:
    """RFC 6578 section 3.2: the server no longer knows the token (403, or 409/400/412 on some servers)."""
    named = "{DAV:}valid-sync-token" in exc.preconditions
    return exc.status in (403, 409) or (named and exc.status in (400, 412, None))


_INSTANCE = re.compile(r"(.+)@\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _resource(external_id: str) -> str:
    """The resource URL of an event id (an instance id is ``<resource URL>@<start>``)."""
    match = _INSTANCE.fullmatch(external_id)
    return match.group(1) if match else external_id
