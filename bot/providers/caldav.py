"""CalDAV (RFC 4791, RFC 6578) calendars, iCloud included, spoken directly over aiohttp.

Why not the ``caldav`` library: caldav 3.x hard-requires ``niquests``, whose ``urllib3-future`` replaces urllib3
in place (it falls back to ``requests`` only when niquests is absent, which pip cannot express); the last release
on ``requests`` (2.0.x) is an old line, and neither sends the conditional requests this provider relies on in
every case.  The protocol surface we need is small, and aiohttp keeps it async (no threads) with one place for
timeouts, retries and size caps (``bot.providers.httpcall``).

What is spoken
    * Discovery: PROPFIND ``current-user-principal`` (falling back to ``/.well-known/caldav``) ->
      ``calendar-home-set`` (+ ``calendar-user-address-set``) -> Depth 1 PROPFIND of the home: the collections
      that are calendars holding VEVENTs; read-only when the privilege set lacks write access.
    * Busy: REPORT ``calendar-query`` with a ``time-range`` (the server picks the resources), then client-side
      expansion with ``bot.providers.ics.parse_ics`` (RRULE/EXDATE/RECURRENCE-ID overrides, all-day in the
      person's zone, TRANSP, STATUS), capped at ``max_instances`` per calendar.  Events the owner declined
      (their ATTENDEE has ``PARTSTAT=DECLINED``) are not busy.
    * Sync: REPORT ``sync-collection`` (sync-level 1, truncated answers followed) + ``calendar-multiget`` of the
      changed resources; a refused token (403/409 ``valid-sync-token``) -> ``SyncTokenInvalid``.  A full listing
      reads the collection's ``sync-token`` first, then queries the window, so nothing falls between the two.
    * Writes: the booking event lives at ``<calendar>/schedbot-<booking id>.ics`` with UID
      ``<booking id>@schedbot`` and ``X-SCHEDBOT-BOOKING:<booking id>``; created with ``If-None-Match: *`` (a
      retry finds the first one: 412 -> GET it), updated with ``If-Match`` (412 -> ``WriteConflict``), deleted
      (404 is fine).

Ids: a calendar's ``external_id`` is its collection URL; an event's is its resource URL, and an instance of a
recurring event is ``<resource URL>@<start in UTC, ISO>``.
"""

from __future__ import annotations

import asyncio
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

import aiohttp

from bot.providers.httpcall import HttpPolicy, HttpResult, request
from bot.providers.ics import DEFAULT_MAX_INSTANCES, IcsError, parse_ics
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

ICLOUD_URL = "https://caldav.icloud.com/"
BOOKING_PROPERTY = "X-SCHEDBOT-BOOKING"
PRODID = "-//schedbot//calendar sync//EN"

DAV = "DAV:"
CAL = "urn:ietf:params:xml:ns:caldav"
CS = "http://calendarserver.org/ns/"
_NS = f'xmlns:d="{DAV}" xmlns:c="{CAL}" xmlns:cs="{CS}"'
_XML = {"Content-Type": "application/xml; charset=utf-8"}
_MULTIGET_CHUNK = 100
_MAX_SYNC_ROUNDS = 50
_WIDE = Interval(datetime(1970, 1, 2, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC))


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def booking_uid(booking_id: str) -> str:
    return f"{booking_id}@schedbot"


def _safe_name(booking_id: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", booking_id)[:120]
    if not cleaned:
        raise ProviderError("a booking event needs a booking id")
    return f"schedbot-{cleaned}.ics"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _canon(url: str) -> str:
    """One spelling per resource URL (percent-encoding normalised, no query or fragment)."""
    parts = urlsplit(url)
    path = quote(unquote(parts.path), safe="/@:+,;=~!$&'()*")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, "", ""))


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


def remote_events(
    data: bytes | str,
    *,
    href: str,
    etag: str | None,
    window: Interval,
    default_tz: str,
    owner_addresses: Iterable[str] = (),
    max_instances: int = DEFAULT_MAX_INSTANCES,
    source: str | None = None,
    label: str = "the calendar",
) -> list[RemoteEvent]:
    """The instances of one calendar resource overlapping ``window``, as ``RemoteEvent``s.

    Blocking (icalendar): call through ``asyncio.to_thread``.  Raises ``ProviderError`` for unreadable data.
    """
    import icalendar

    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        calendar = icalendar.Calendar.from_ical(raw)
    except Exception:
        raise ProviderError(f"{label}: an event could not be read as iCalendar") from None
    events = list(calendar.walk("VEVENT"))
    if not events:
        return []
    booking_id: str | None = None
    owners = {a.strip().lower() for a in owner_addresses if a and a.strip()}
    declined_any = False
    for event in events:
        marker = event.get(BOOKING_PROPERTY)
        if marker is not None and booking_id is None:
            booking_id = str(marker[0] if isinstance(marker, list) else marker).strip() or None
        if owners and _owner_declined(event, owners):
            event["STATUS"] = "CANCELLED"
            declined_any = True
    if declined_any:
        raw = calendar.to_ical()
    try:
        busy = parse_ics(raw, window=window, default_tz=default_tz, max_instances=max_instances, source=source)
    except IcsError as exc:
        raise ProviderError(f"{label}: {exc}") from None
    recurring = len(events) > 1 or any("RRULE" in e or "RDATE" in e for e in events)
    base = _canon(href)
    out: list[RemoteEvent] = []
    for item in busy:
        if booking_id is not None:
            item = BusyEvent(
                item.interval,
                transparency=item.transparency,
                all_day=item.all_day,
                status=item.status,
                kind="booking",
                source=f"booking:{booking_id}",
            )
        external_id = f"{base}@{item.interval.start.strftime('%Y-%m-%dT%H:%M:%SZ')}" if recurring else base
        out.append(RemoteEvent(external_id=external_id, busy=item, etag=etag, booking_id=booking_id))
    return out


def _owner_declined(event: Any, owners: set[str]) -> bool:
    attendees = event.get("ATTENDEE")
    if attendees is None:
        return False
    for attendee in attendees if isinstance(attendees, list) else [attendees]:
        address = str(attendee).strip().lower()
        bare = address.removeprefix("mailto:")
        if address in owners or bare in owners or f"mailto:{bare}" in owners:
            partstat = str(getattr(attendee, "params", {}).get("PARTSTAT", "")).strip().upper()
            if partstat == "DECLINED":
                return True
    return False


# --- multistatus -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Member:
    href: str  # absolute, canonical
    status: int | None  # the response-level status (sync-collection deletions: 404)
    props: Mapping[str, ET.Element]  # from the 200 propstat only


def _status_code(text: str | None) -> int | None:
    match = re.search(r"\s(\d{3})(\s|$)", text or "")
    return int(match.group(1)) if match else None


def _parse_multistatus(result: HttpResult, what: str) -> tuple[list[_Member], str | None]:
    try:
        root = ET.fromstring(result.body)
    except ET.ParseError:
        raise ProviderError(f"{what} sent an answer that is not valid XML") from None
    if root.tag != _q(DAV, "multistatus"):
        raise ProviderError(f"{what} sent an unexpected answer (no multistatus)")
    members: list[_Member] = []
    for response in root.findall(_q(DAV, "response")):
        href_el = response.find(_q(DAV, "href"))
        if href_el is None or not (href_el.text or "").strip():
            continue
        href = _canon(urljoin(result.url, (href_el.text or "").strip()))
        status_el = response.find(_q(DAV, "status"))
        status = _status_code(status_el.text) if status_el is not None else None
        props: dict[str, ET.Element] = {}
        for propstat in response.findall(_q(DAV, "propstat")):
            ps_status = _status_code(propstat.findtext(_q(DAV, "status")) or "")
            prop = propstat.find(_q(DAV, "prop"))
            if prop is None or (ps_status is not None and not 200 <= ps_status < 300):
                continue
            for child in prop:
                props[child.tag] = child
        members.append(_Member(href, status, props))
    token_el = root.find(_q(DAV, "sync-token"))
    token = (token_el.text or "").strip() if token_el is not None else None
    return members, token or None


def _hrefs(element: ET.Element | None, base: str) -> list[str]:
    if element is None:
        return []
    return [urljoin(base, (h.text or "").strip()) for h in element.findall(_q(DAV, "href")) if (h.text or "").strip()]


def _text(element: ET.Element | None) -> str | None:
    if element is None:
        return None
    text = "".join(element.itertext()).strip()
    return text or None


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
    manager, or call ``aclose``; a ``session`` passed in is not closed.
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
        session: aiohttp.ClientSession | None = None,
        max_instances: int = DEFAULT_MAX_INSTANCES,
        label: str | None = None,
    ) -> None:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the CalDAV server address must start with https:// (or http://)")
        if parts.username or parts.password:
            raise ValueError("put the username and password in their own fields, not in the address")
        self._url = url.strip() if url.strip().endswith("/") or parts.path.endswith(".ics") else url.strip() + "/"
        self._auth = aiohttp.encode_basic_auth(username, password)
        self._username = username
        self.default_tz = default_tz
        self.owner_emails = tuple(owner_emails)
        self._policy = policy or HttpPolicy()
        self._session = session
        self._own_session = session is None
        self._max_instances = max_instances
        self._what = label or f"the CalDAV server {parts.hostname}"
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
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def _call(
        self, method: str, url: str, *, headers: Mapping[str, str] | None = None, data: bytes | str | None = None
    ) -> HttpResult:
        return await request(
            self._http(),
            method,
            url,
            what=self._what,
            policy=self._policy,
            headers=headers,
            data=data,
            authorization=self._auth,
        )

    async def _propfind(self, url: str, body: str, *, depth: str) -> tuple[list[_Member], str]:
        result = await self._call("PROPFIND", url, headers={**_XML, "Depth": depth}, data=body)
        if result.status != 207:
            raise ProviderError(f"{self._what} refused to list {urlsplit(url).path} (HTTP {result.status})")
        members, _ = _parse_multistatus(result, self._what)
        return members, result.url

    # -- discovery

    async def _discover(self) -> dict[str, _Collection]:
        async with self._lock:
            if self._collections is not None:
                return self._collections
            body = f'<d:propfind {_NS}><d:prop><d:current-user-principal/></d:prop></d:propfind>'
            principal: str | None = None
            for candidate in (self._url, urljoin(self._url, "/.well-known/caldav")):
                result = await self._call("PROPFIND", candidate, headers={**_XML, "Depth": "0"}, data=body)
                if result.status != 207:
                    continue
                members, _ = _parse_multistatus(result, self._what)
                for member in members:
                    found = _hrefs(member.props.get(_q(DAV, "current-user-principal")), result.url)
                    if found:
                        principal = found[0]
                        break
                if principal:
                    break
            if principal is None:
                raise ProviderError(f"{self._what} does not look like a CalDAV server (no principal found)")
            body = (
                f"<d:propfind {_NS}><d:prop><c:calendar-home-set/><c:calendar-user-address-set/>"
                "</d:prop></d:propfind>"
            )
            members, base = await self._propfind(principal, body, depth="0")
            homes: list[str] = []
            for member in members:
                homes += _hrefs(member.props.get(_q(CAL, "calendar-home-set")), base)
                for address in _hrefs(member.props.get(_q(CAL, "calendar-user-address-set")), base):
                    if address.lower().startswith("mailto:"):
                        self._owner_addresses.add(address.lower())
            if not homes:
                raise ProviderError(f"{self._what} did not say where the calendars are (no calendar-home-set)")
            body = (
                f"<d:propfind {_NS}><d:prop><d:resourcetype/><d:displayname/><c:supported-calendar-component-set/>"
                "<d:current-user-privilege-set/><d:sync-token/></d:prop></d:propfind>"
            )
            members, base = await self._propfind(homes[0], body, depth="1")
            found_collections: dict[str, _Collection] = {}
            for member in members:
                rtype = member.props.get(_q(DAV, "resourcetype"))
                if rtype is None or rtype.find(_q(CAL, "calendar")) is None:
                    continue
                comps = member.props.get(_q(CAL, "supported-calendar-component-set"))
                if comps is not None and len(comps):
                    names = {str(c.get("name", "")).upper() for c in comps}
                    if "VEVENT" not in names:
                        continue
                privileges = member.props.get(_q(DAV, "current-user-privilege-set"))
                read_only = False
                if privileges is not None:
                    granted = {child.tag for priv in privileges for child in priv}
                    read_only = not granted & {_q(DAV, "write"), _q(DAV, "write-content"), _q(DAV, "all")}
                name = _text(member.props.get(_q(DAV, "displayname"))) or unquote(
                    member.href.rstrip("/").rsplit("/", 1)[-1]
                )
                token = _text(member.props.get(_q(DAV, "sync-token")))
                found_collections[member.href] = _Collection(member.href, name, read_only, token)
            self._collections = found_collections
            return found_collections

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
        key = _canon(calendar_id)
        found = collections.get(key)
        if found is None:
            # A calendar we were told about before but discovery did not list (e.g. shared later): use as is.
            return _Collection(key, unquote(key.rstrip("/").rsplit("/", 1)[-1]), False, None)
        return found

    # -- reading

    async def _events_in(self, calendar: _Collection, window: Interval) -> list[RemoteEvent]:
        body = (
            f'<c:calendar-query {_NS}><d:prop><d:getetag/><c:calendar-data/></d:prop>'
            '<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">'
            f'<c:time-range start="{_stamp(window.start)}" end="{_stamp(window.end)}"/>'
            "</c:comp-filter></c:comp-filter></c:filter></c:calendar-query>"
        )
        result = await self._call("REPORT", calendar.url, headers={**_XML, "Depth": "1"}, data=body)
        if result.status != 207:
            raise ProviderError(f"{self._what} could not search {calendar.name!r} (HTTP {result.status})")
        members, _ = _parse_multistatus(result, self._what)
        return await asyncio.to_thread(self._expand, members, calendar, window)

    def _expand(self, members: Sequence[_Member], calendar: _Collection, window: Interval) -> list[RemoteEvent]:
        out: list[RemoteEvent] = []
        owners = self._owners()
        for member in members:
            data = _text(member.props.get(_q(CAL, "calendar-data")))
            if data is None:
                continue
            left = self._max_instances - len(out)
            if left < 1:
                raise ProviderError(f"{calendar.name!r} has more than {self._max_instances} events in the window")
            out += remote_events(
                data,
                href=member.href,
                etag=_text(member.props.get(_q(DAV, "getetag"))),
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
            members, _ = await self._propfind(
                calendar.url, f"<d:propfind {_NS}><d:prop><d:sync-token/></d:prop></d:propfind>", depth="0"
            )
            fresh = next((_text(m.props.get(_q(DAV, "sync-token"))) for m in members), None)
            listing = await self._events_in(calendar, window)
            return ChangeSet(tuple(listing), (), fresh, full=True)
        changed: list[str] = []
        deleted: list[str] = []
        current = token
        for _ in range(_MAX_SYNC_ROUNDS):
            body = (
                f"<d:sync-collection {_NS}><d:sync-token>{_xml_escape(current)}</d:sync-token>"
                "<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"
            )
            result = await self._call("REPORT", calendar.url, headers={**_XML, "Depth": "1"}, data=body)
            if result.status in (400, 403, 409, 412) and (
                b"valid-sync-token" in result.body or result.status in (403, 409)
            ):
                raise SyncTokenInvalid(f"{calendar.name!r}: the server no longer knows our sync position")
            if result.status != 207:
                raise ProviderError(f"{self._what} could not sync {calendar.name!r} (HTTP {result.status})")
            members, new_token = _parse_multistatus(result, self._what)
            truncated = False
            for member in members:
                if member.href == calendar.url:
                    truncated = truncated or member.status == 507
                    continue
                if member.status in (404, 410):
                    deleted.append(member.href)
                elif member.status is None or 200 <= member.status < 300:
                    changed.append(member.href)
            if new_token is None:
                raise ProviderError(f"{self._what} sent no sync token for {calendar.name!r}")
            current = new_token
            if not truncated:
                break
        changed = [h for h in dict.fromkeys(changed) if h not in set(deleted)]
        events: list[RemoteEvent] = []
        for start in range(0, len(changed), _MULTIGET_CHUNK):
            events += await self._multiget(calendar, changed[start : start + _MULTIGET_CHUNK], window)
        return ChangeSet(tuple(events), tuple(dict.fromkeys(deleted)), current, full=False)

    async def _multiget(self, calendar: _Collection, hrefs: Sequence[str], window: Interval) -> list[RemoteEvent]:
        if not hrefs:
            return []
        refs = "".join(f"<d:href>{_xml_escape(urlsplit(h).path)}</d:href>" for h in hrefs)
        body = (
            f"<c:calendar-multiget {_NS}><d:prop><d:getetag/><c:calendar-data/></d:prop>{refs}</c:calendar-multiget>"
        )
        result = await self._call("REPORT", calendar.url, headers={**_XML, "Depth": "1"}, data=body)
        if result.status != 207:
            raise ProviderError(f"{self._what} could not fetch events of {calendar.name!r} (HTTP {result.status})")
        members, _ = _parse_multistatus(result, self._what)
        return await asyncio.to_thread(self._expand, [m for m in members if m.status in (None, 200)], calendar, window)

    async def get_event(self, calendar_id: str, external_id: str) -> RemoteEvent | None:
        """The event (its first instance) as stored now, or None when it is gone.  Optional port member."""
        calendar = await self._collection(calendar_id)
        href = _resource(external_id)
        result = await self._call("GET", href)
        if result.status in (404, 410):
            return None
        if result.status != 200:
            raise ProviderError(f"{self._what} could not read an event of {calendar.name!r} (HTTP {result.status})")
        events = await asyncio.to_thread(
            remote_events,
            result.body,
            href=href,
            etag=result.headers.get("ETag"),
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

    def _event_url(self, calendar: _Collection, booking_id: str) -> str:
        return _canon(urljoin(calendar.url, _safe_name(booking_id)))

    async def create_event(self, calendar_id: str, draft: EventDraft) -> RemoteEvent:
        calendar = await self._collection(calendar_id)
        if calendar.read_only:
            raise ProviderError(f"{calendar.name!r} is read-only")
        url = self._event_url(calendar, draft.booking_id)
        body = booking_event_ics(draft)
        result = await self._call(
            "PUT", url, headers={"Content-Type": "text/calendar; charset=utf-8", "If-None-Match": "*"}, data=body
        )
        if result.status in (200, 201, 204):
            return self._written(url, draft, result.headers.get("ETag"))
        if result.status == 412:  # it exists: a retry of the same booking (the UID is derived from its id)
            existing = await self.get_event(calendar.url, url)
            if existing is not None and existing.booking_id == draft.booking_id:
                return self._written(url, draft, existing.etag)
            raise ProviderError(f"{calendar.name!r} already has another event where the booking belongs")
        raise ProviderError(f"{self._what} refused the booking event in {calendar.name!r} (HTTP {result.status})")

    async def update_event(
        self, calendar_id: str, external_id: str, draft: EventDraft, *, etag: str | None
    ) -> RemoteEvent:
        calendar = await self._collection(calendar_id)
        headers = {"Content-Type": "text/calendar; charset=utf-8"}
        if etag:
            headers["If-Match"] = etag
        url = _resource(external_id)
        result = await self._call("PUT", url, headers=headers, data=booking_event_ics(draft))
        if result.status == 412:
            raise WriteConflict(f"the booking event in {calendar.name!r} was changed meanwhile")
        if result.status in (200, 201, 204):
            return self._written(_canon(url), draft, result.headers.get("ETag"))
        raise ProviderError(f"{self._what} refused to update the booking event (HTTP {result.status})")

    async def delete_event(self, calendar_id: str, external_id: str, *, etag: str | None = None) -> None:
        calendar = await self._collection(calendar_id)
        headers = {"If-Match": etag} if etag else {}
        result = await self._call("DELETE", _resource(external_id), headers=headers)
        if result.status in (200, 202, 204, 404, 410):
            return
        if result.status == 412:
            raise WriteConflict(f"the booking event in {calendar.name!r} was changed meanwhile")
        raise ProviderError(f"{self._what} refused to delete the booking event (HTTP {result.status})")

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


_INSTANCE = re.compile(r"(.+)@\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _resource(external_id: str) -> str:
    """The resource URL of an event id (an instance id is ``<resource URL>@<start>``)."""
    match = _INSTANCE.fullmatch(external_id)
    return match.group(1) if match else external_id


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
