"""A read-only calendar from a secret iCal address (Google's "secret address in iCal format", iCloud's public
calendar link, Outlook's published ICS), fetched over HTTP with aiohttp and parsed by ``bot.providers.ics``.

* ``webcal://`` is read as ``https://``.  The URL is a secret: no message, log line or ``repr`` shows it, only
  its host.
* 401/403/404/410 -> ``NeedsReconnect`` (the address was reset or revoked: the owner must paste the new one);
  timeouts, 5xx and 429 are retried with backoff, then ``ProviderError``; a body over ``max_bytes`` or one that
  is not iCalendar -> ``ProviderError``.  Never "no events" for a feed that could not be read.
* Every sync is a full listing (``ChangeSet.full``): a feed has no change tokens.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from bot.providers.httpcall import HttpPolicy, request
from bot.providers.ics import DEFAULT_MAX_INSTANCES, IcsError, parse_ics
from bot.providers.ics_events import remote_events
from bot.scheduling.intervals import Interval
from bot.scheduling.model import BusyEvent
from bot.scheduling.ports import (
    ChangeSet,
    EventDraft,
    ProviderError,
    RemoteCalendar,
    RemoteEvent,
)

__all__ = ["FEED_CALENDAR_ID", "IcsFeedProvider", "normalize_feed_url"]

FEED_CALENDAR_ID = "feed"
DEFAULT_FEED_MAX_BYTES = 10 * 1024 * 1024


def normalize_feed_url(url: str) -> str:
    """``webcal://`` -> ``https://``; anything but http(s) is refused with a one-line reason."""
    text = url.strip()
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme in ("webcal", "webcals"):
        scheme = "https"
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("a calendar feed address starts with https:// or webcal://")
    return urlunsplit((scheme, parts.netloc, parts.path or "/", parts.query, ""))


class IcsFeedProvider:
    """One feed = one read-only calendar (``external_id`` ``"feed"``)."""

    read_only = True

    def __init__(
        self,
        url: str,
        *,
        name: str = "Calendar feed",
        default_tz: str = "UTC",
        owner_emails: Sequence[str] = (),
        policy: HttpPolicy | None = None,
        session: aiohttp.ClientSession | None = None,
        max_instances: int = DEFAULT_MAX_INSTANCES,
    ) -> None:
        self._url = normalize_feed_url(url)
        self._name = name
        self.default_tz = default_tz
        self.owner_emails = tuple(owner_emails)
        self._policy = policy or HttpPolicy(max_bytes=DEFAULT_FEED_MAX_BYTES)
        self._session = session
        self._own_session = session is None
        self._max_instances = max_instances
        self._what = f"the calendar feed at {urlsplit(self._url).hostname}"

    def __repr__(self) -> str:  # never the secret URL
        return f"IcsFeedProvider({urlsplit(self._url).hostname!r})"

    async def __aenter__(self) -> IcsFeedProvider:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def _fetch(self) -> bytes:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        result = await request(
            self._session,
            "GET",
            self._url,
            what=self._what,
            policy=self._policy,
            headers={"Accept": "text/calendar, */*;q=0.5"},
            unauthorized=(401, 403, 404, 410),
        )
        if result.status != 200:
            raise ProviderError(f"{self._what} answered HTTP {result.status}")
        return result.body

    async def _read(self, window: Interval) -> list[RemoteEvent]:
        data = await self._fetch()
        _check(data, self._what)
        return await asyncio.to_thread(self._events, data, window)

    def _events(self, data: bytes, window: Interval) -> list[RemoteEvent]:
        """Instances per UID (so each gets an id); declined invitations dropped."""
        import icalendar

        try:
            calendar = icalendar.Calendar.from_ical(data)
        except Exception:
            raise ProviderError(f"{self._what} is not a valid iCalendar file") from None
        groups: dict[str, icalendar.Calendar] = {}
        timezones = list(calendar.walk("VTIMEZONE"))
        for index, event in enumerate(calendar.walk("VEVENT")):
            uid = str(event.get("UID") or f"event-{index}")
            group = groups.get(uid)
            if group is None:
                group = icalendar.Calendar()
                for key in ("VERSION", "PRODID", "X-WR-TIMEZONE"):
                    if key in calendar:
                        group[key] = calendar[key]
                for tz in timezones:
                    group.add_component(tz)
                groups[uid] = group
            group.add_component(event)
        out: list[RemoteEvent] = []
        for uid, group in groups.items():
            left = self._max_instances - len(out)
            if left < 1:
                raise ProviderError(f"{self._what} has more than {self._max_instances} events in the window")
            out += remote_events(
                group.to_ical(),
                href=f"feed:{uid}",
                etag=None,
                window=window,
                default_tz=self.default_tz,
                owner_addresses=["mailto:" + e.strip().lower() for e in self.owner_emails if "@" in e],
                max_instances=left,
                source=FEED_CALENDAR_ID,
                label=self._what,
            )
        # free/busy blocks (VFREEBUSY) have no UID: read them as the ICS parser does
        if any(True for _ in calendar.walk("VFREEBUSY")):
            only_fb = icalendar.Calendar()
            for component in calendar.walk("VFREEBUSY"):
                only_fb.add_component(component)
            try:
                blocks = parse_ics(
                    only_fb.to_ical(), window=window, default_tz=self.default_tz, source=FEED_CALENDAR_ID
                )
            except IcsError as exc:
                raise ProviderError(f"{self._what}: {exc}") from None
            out += [RemoteEvent(external_id=f"feed:freebusy-{i}", busy=b) for i, b in enumerate(blocks)]
        return out

    async def list_calendars(self) -> list[RemoteCalendar]:
        await self._fetch()  # proves the address works (the connect form validates with this)
        return [RemoteCalendar(FEED_CALENDAR_ID, self._name, read_only=True, primary=True)]

    async def busy(self, calendar_ids: Sequence[str], window: Interval) -> Mapping[str, list[BusyEvent]]:
        if not calendar_ids:
            return {}
        events = sorted((e.busy for e in await self._read(window)), key=lambda b: (b.start, b.end))
        return {calendar_id: list(events) for calendar_id in calendar_ids}

    async def changes(self, calendar_id: str, *, token: str | None, window: Interval) -> ChangeSet:
        return ChangeSet(tuple(await self._read(window)), (), None, full=True)

    async def create_event(self, calendar_id: str, draft: EventDraft) -> RemoteEvent:
        raise ProviderError("a calendar feed is read-only: bookings cannot be written into it")

    async def update_event(
        self, calendar_id: str, external_id: str, draft: EventDraft, *, etag: str | None
    ) -> RemoteEvent:
        raise ProviderError("a calendar feed is read-only: bookings cannot be written into it")

    async def delete_event(self, calendar_id: str, external_id: str, *, etag: str | None = None) -> None:
        raise ProviderError("a calendar feed is read-only: bookings cannot be written into it")

    async def check(self) -> list[RemoteCalendar]:
        """Fetch and parse once: what the connect form calls to validate the address."""
        now = datetime.now(UTC)
        await self._read(Interval(now, now + timedelta(days=1)))
        return [RemoteCalendar(FEED_CALENDAR_ID, self._name, read_only=True, primary=True)]

    @property
    def host(self) -> str:
        return urlsplit(self._url).hostname or ""


def _check(data: bytes, what: str) -> None:
    """Refuse what is not iCalendar before any parsing (an HTML login page, JSON, binary)."""
    body = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not body[:15].upper() == b"BEGIN:VCALENDAR":
        raise ProviderError(f"{what} did not send a calendar (iCalendar) file")
    if b"END:VCALENDAR" not in body.rstrip()[-4096:].upper():
        raise ProviderError(f"{what} sent a calendar that was cut off")
