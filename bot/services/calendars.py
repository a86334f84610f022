"""The calendar service: busy time over every connected calendar, sync, and writing bookings back.

``CalendarService`` is the app's ``BusySource``.  For a person it reads each connected account's pulled calendars
(providers built from ``storage.calendars`` + ``storage.credentials``, decrypted only in memory and never logged)
plus any local ICS files (the demo coach's sample calendar), and fails closed: a calendar that cannot be read
raises ``BusyUnavailable`` naming it, never "free".

* Providers come from ``factories``: provider name -> ``callable(account, credentials, settings)``.  CalDAV,
  iCloud, ICS feeds and the local calendar are built in; Google and Microsoft register theirs
  (``register_factory``).  After building, a provider with a ``default_tz`` attribute gets the person's zone
  (all-day and floating times) and one with ``owner_emails`` the person's address (declined invitations).
* Cache: ``sync(account_id)`` (and any wide ``busy`` query) stores each calendar's busy time for a window; a
  query inside a fresh cached window is served from it.  Windows up to ``live_below`` (the booking service's
  confirm-time re-check of one slot) are always read live.
* ``NeedsReconnect`` -> the account is marked ``needs_reconnect`` and its owner told once ("Your iCloud calendar
  needs reconnecting"); until reconnected its calendars count as unreadable (busy).
* ``write_booking`` / ``remove_booking`` write the booking event into each involved person's one push calendar
  (create with the booking id as idempotency key; update with the etag, refetch once on a conflict; delete).
* ``sync`` notices when a booking event we wrote was deleted in the calendar and calls
  ``on_booking_event_deleted(booking_id)`` once (the composition root cancels the booking and tells both sides).

Events carrying our booking marker are not counted as calendar busy time: the bookings table is the truth for
bookings (the booking service adds them), so a cancelled booking frees its time even before its event is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from bot.providers.httpcall import HttpPolicy
from bot.scheduling.intervals import Interval
from bot.scheduling.model import Booking, BusyEvent
from bot.scheduling.ports import (
    BusyUnavailable,
    CalendarProvider,
    EventDraft,
    NeedsReconnect,
    NotFound,
    ProviderError,
    RemoteCalendar,
    RemoteEvent,
    SyncTokenInvalid,
    WriteConflict,
)

__all__ = [
    "PROVIDER_NAMES",
    "CalendarService",
    "Notify",
    "ProviderFactory",
    "SyncReport",
]

log = logging.getLogger(__name__)

PROVIDER_NAMES: dict[str, str] = {
    "icloud": "iCloud",
    "caldav": "CalDAV",
    "ics": "calendar feed",
    "google": "Google",
    "microsoft": "Outlook",
    "local": "bookings",
}


class ProviderFactory(Protocol):
    def __call__(self, account: Any, credentials: Mapping[str, Any], settings: Any, /) -> CalendarProvider: ...


Notify = Callable[[str, str], Awaitable[None]]  # (person id, text): a direct message to that person
BookingEventDeleted = Callable[[str], Awaitable[None]]  # booking id


@dataclass(frozen=True, slots=True)
class SyncReport:
    account_id: str
    ok: bool
    error: str | None = None
    changed: int = 0
    deleted_bookings: tuple[str, ...] = ()


@dataclass
class _Cached:
    window: Interval
    events: list[BusyEvent]
    at: datetime


async def _log_only(person_id: str, text: str) -> None:
    log.info("calendar notice for %s: %s", person_id, text)


@dataclass
class CalendarService:
    storage: Any
    clock: Callable[[], datetime]
    settings: Any = None
    factories: dict[str, ProviderFactory] = field(default_factory=dict)
    files: Mapping[str, Sequence[Path]] = field(default_factory=dict)
    file_timezones: Mapping[str, str] = field(default_factory=dict)
    notify: Notify = _log_only
    on_booking_event_deleted: BookingEventDeleted | None = None
    http_policy: HttpPolicy = field(default_factory=HttpPolicy)
    cache_ttl: timedelta = timedelta(minutes=15)
    live_below: timedelta = timedelta(days=1)
    sync_days: int = 60
    sync_interval: float = 300.0  # seconds between background syncs of every account
    _providers: dict[str, CalendarProvider] = field(default_factory=dict, init=False, repr=False)
    _cache: dict[str, _Cached] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        builtin: dict[str, ProviderFactory] = {
            "caldav": self._caldav,
            "icloud": self._caldav,
            "ics": self._ics_feed,
            "local": self._local,
            "google": self._google,
            "microsoft": self._microsoft,
        }
        self.factories = {**builtin, **self.factories}

    def register_factory(self, provider: str, factory: ProviderFactory) -> None:
        self.factories[provider] = factory
        self.forget_all(provider)

    # --- built-in factories ------------------------------------------------------------------------------

    def _caldav(self, account: Any, credentials: Mapping[str, Any], settings: Any, /) -> CalendarProvider:
        from bot.providers.caldav import ICLOUD_URL, CalDAVProvider

        url = str(credentials.get("url") or (ICLOUD_URL if account.provider == "icloud" else ""))
        return CalDAVProvider(
            url,
            username=str(credentials.get("username", "")),
            password=str(credentials.get("password", "")),
            policy=self.http_policy,
            label=f"{PROVIDER_NAMES.get(account.provider, 'CalDAV')} ({account.display_name})",
        )

    def _ics_feed(self, account: Any, credentials: Mapping[str, Any], settings: Any, /) -> CalendarProvider:
        from bot.providers.httpcall import HttpPolicy
        from bot.providers.ics_feed import DEFAULT_FEED_MAX_BYTES, IcsFeedProvider

        policy = self.http_policy
        if policy.max_bytes > DEFAULT_FEED_MAX_BYTES:
            policy = HttpPolicy(policy.timeout, policy.attempts, policy.backoff, policy.max_retry_after,
                                DEFAULT_FEED_MAX_BYTES)
        return IcsFeedProvider(str(credentials.get("url", "")), name=account.display_name, policy=policy)

    def _local(self, account: Any, credentials: Mapping[str, Any], settings: Any, /) -> CalendarProvider:
        from bot.providers.local_calendar import LocalCalendarProvider

        return LocalCalendarProvider(self.storage.bookings, account.person_id, clock=self.clock)

    def _google(self, account: Any, credentials: Mapping[str, Any], settings: Any, /) -> CalendarProvider:
        from bot.providers.google import make_google_provider

        def save(data: dict[str, Any]) -> None:  # a refreshed access token (blocking; runs in a thread)
            self.storage.credentials.put(account.id, data)

        return make_google_provider(account, credentials, settings, on_credentials_refreshed=save)

    def _microsoft(self, account: Any, credentials: Mapping[str, Any], settings: Any, /) -> CalendarProvider:
        from bot.providers.microsoft_auth import make_graph_provider

        # With storage, msal's refreshed token cache is written back into the encrypted record.
        return make_graph_provider(account, credentials, settings, storage=self.storage)

    # --- providers ---------------------------------------------------------------------------------------

    def _context(self, account: Any) -> tuple[Mapping[str, Any], str, str | None]:
        """Decrypted credentials (memory only), the person's zone and e-mail.  Blocking."""
        credentials: Mapping[str, Any] = {}
        if account.provider != "local":
            found = self.storage.credentials.get(account.id)
            if found is None:
                raise NeedsReconnect(f"no stored sign-in for {account.display_name}")
            credentials = found
        zone = "UTC"
        settings = self.storage.coach_settings.get_settings(account.person_id)
        person = self.storage.people.get(account.person_id)
        if settings is not None:
            zone = settings.timezone
        elif person is not None:
            zone = person.timezone
        return credentials, zone, getattr(person, "email", None)

    async def _provider(self, account: Any) -> CalendarProvider:
        cached = self._providers.get(account.id)
        if cached is not None:
            return cached
        factory = self.factories.get(account.provider)
        if factory is None:
            raise ProviderError(f"{self._label(account)} calendars are not set up here")
        credentials, zone, email = await asyncio.to_thread(self._context, account)
        provider = factory(account, credentials, self.settings)
        if hasattr(provider, "default_tz"):
            provider.default_tz = zone
        if email and hasattr(provider, "owner_emails"):
            provider.owner_emails = (email,)
        self._providers[account.id] = provider
        return provider

    async def refresh_calendars(self, account_id: str) -> list[RemoteCalendar]:
        """List the account's calendars at the provider and store new or renamed ones (a new one counts as busy
        when it is the person's own, ``RemoteCalendar.busy_by_default``); returns what the provider listed.
        Raises ``ProviderError`` (``NeedsReconnect``) like any call to the provider."""
        account = await asyncio.to_thread(self.storage.calendars.get_account, account_id)
        if account is None:
            raise ProviderError("no such calendar account")
        provider = await self._provider(account)
        remote = list(await provider.list_calendars())

        await asyncio.to_thread(self.storage.calendars.store_listed, account_id, remote)
        return remote

    async def forget(self, account_id: str) -> None:
        """Drop the built provider and cache of an account (its credentials or calendars changed)."""
        provider = self._providers.pop(account_id, None)
        calendars = await asyncio.to_thread(self.storage.calendars.calendars_for_account, account_id)
        for calendar in calendars:
            self._cache.pop(calendar.id, None)
        await _close(provider)

    def forget_all(self, provider_name: str | None = None) -> None:
        self._providers.clear()
        self._cache.clear()

    async def aclose(self) -> None:
        providers, self._providers = list(self._providers.values()), {}
        for provider in providers:
            await _close(provider)

    # --- failures ----------------------------------------------------------------------------------------

    def _label(self, account: Any) -> str:
        return PROVIDER_NAMES.get(account.provider, str(account.provider))

    async def _reconnect_needed(self, account: Any, reason: str) -> None:
        current = await asyncio.to_thread(self.storage.calendars.get_account, account.id)
        await asyncio.to_thread(self.storage.calendars.mark_needs_reconnect, account.id, error=reason)
        provider = self._providers.pop(account.id, None)
        await _close(provider)
        if current is not None and current.status != "needs_reconnect":
            label = self._label(account)
            text = (
                f"Your {label} calendar needs reconnecting ({account.display_name}): {reason}. "
                f"Until then I treat your time as busy. Say \"connect my {account.provider} calendar\" to fix it."
            )
            try:
                await self.notify(account.person_id, text)
            except Exception:
                log.exception("could not tell %s that a calendar needs reconnecting", account.person_id)

    async def _record_error(self, account: Any, reason: str) -> None:
        with contextlib.suppress(NotFound):
            await asyncio.to_thread(self.storage.calendars.record_error, account.id, error=reason)

    # --- busy ----------------------------------------------------------------------------------------------

    async def busy(self, person_id: str, window: Interval, *, live: bool | None = None) -> list[BusyEvent]:
        """``BusySource``: every pulled calendar of the person (plus local files) in ``window``."""
        accounts, calendars = await asyncio.to_thread(self._pulled, person_id)
        use_live = live if live is not None else window.duration <= self.live_below
        jobs = []
        for account in accounts:
            pulls = [c for c in calendars if c.account_id == account.id]
            if pulls:
                jobs.append(self._account_busy(account, pulls, window, live=use_live))
        out: list[BusyEvent] = []
        failed: list[tuple[str, str]] = []
        for result in await asyncio.gather(*jobs):
            if isinstance(result, tuple):
                failed.append(result)
            else:
                out.extend(result)
        paths = self.files.get(person_id, ())
        if paths:
            from bot.providers.local import IcsFileBusySource

            source = IcsFileBusySource({person_id: paths}, timezones=self.file_timezones)
            try:
                out.extend(await source.busy(person_id, window))
            except BusyUnavailable as exc:
                failed.append((exc.calendar, exc.reason))
        if failed:
            names = _join([name for name, _ in failed])
            raise BusyUnavailable(names, "; ".join(reason for _, reason in failed))
        out.sort(key=lambda b: (b.start, b.end))
        return out

    def _pulled(self, person_id: str) -> tuple[list[Any], list[Any]]:
        accounts = self.storage.calendars.accounts_for_person(person_id)
        calendars = self.storage.calendars.calendars_for_person(person_id, pull_only=True)
        return accounts, calendars

    async def _account_busy(
        self, account: Any, calendars: Sequence[Any], window: Interval, *, live: bool
    ) -> list[BusyEvent] | tuple[str, str]:
        """The account's busy time, or (names, reason) when it could not be read."""
        label = self._label(account)
        names = _join([f"{c.name} ({label})" for c in calendars])
        if account.status == "needs_reconnect":
            return (f"your {label} calendar {names}", "it needs reconnecting")
        now = self.clock()
        if not live:
            hits = [self._cache.get(c.id) for c in calendars]
            if all(h is not None and h.window.contains(window) and now - h.at <= self.cache_ttl for h in hits):
                return [e for h in hits if h is not None for e in h.events if e.interval.overlaps(window)]
        try:
            provider = await self._provider(account)
            found = await provider.busy([c.external_id for c in calendars], window)
            missing = [c.name for c in calendars if c.external_id not in found]
            if missing:
                raise ProviderError(f"no answer for {_join(missing)}")
        except NeedsReconnect as exc:
            await self._reconnect_needed(account, str(exc))
            return (names, "it needs reconnecting")
        except ProviderError as exc:
            await self._record_error(account, str(exc))
            return (names, str(exc))
        except Exception as exc:  # fail closed whatever went wrong
            log.exception("reading %s calendar %s failed", label, account.id)
            return (names, f"unexpected error ({type(exc).__name__})")
        out: list[BusyEvent] = []
        for calendar in calendars:
            events = [e for e in found[calendar.external_id] if account.provider == "local" or e.kind != "booking"]
            if window.duration > self.live_below:
                self._cache[calendar.id] = _Cached(window, events, now)
            out.extend(events)
        return out

    # --- sync ----------------------------------------------------------------------------------------------

    def sync_window(self) -> Interval:
        now = self.clock()
        return Interval(now - timedelta(days=1), now + timedelta(days=self.sync_days))

    async def sync_all(self) -> list[SyncReport]:
        accounts = await asyncio.to_thread(self.storage.calendars.all_accounts)
        return [await self.sync(a.id) for a in accounts if a.status == "ok"]

    def background(self, server: object) -> AsyncIterator[None]:
        """aiohttp ``cleanup_ctx``: every account is synced, ``sync_interval`` apart, while the server runs
        (polling; push notifications come on top)."""
        from bot.services.periodic import periodic

        return periodic(self.sync_all, interval=self.sync_interval, what="calendar sync round")(server)

    async def sync(self, account_id: str) -> SyncReport:
        """Pull changes of every calendar of the account, refresh the busy cache, notice deleted bookings."""
        account = await asyncio.to_thread(self.storage.calendars.get_account, account_id)
        if account is None:
            return SyncReport(account_id, False, "no such account")
        calendars = await asyncio.to_thread(self.storage.calendars.calendars_for_account, account_id)
        window = self.sync_window()
        changed = 0
        gone: list[str] = []
        try:
            provider = await self._provider(account)
            for calendar in calendars:
                if not (calendar.pull or calendar.push):
                    continue
                try:
                    changes = await provider.changes(calendar.external_id, token=calendar.sync_token, window=window)
                except SyncTokenInvalid:
                    changes = await provider.changes(calendar.external_id, token=None, window=window)
                changed += len(changes.changed) + len(changes.deleted)
                gone += await self._deleted_bookings(calendar, changes.changed, changes.deleted, changes.full, window)
                await asyncio.to_thread(
                    self.storage.calendars.save_sync_state, calendar.id, sync_token=changes.token
                )
            pulls = [c for c in calendars if c.pull]
            if pulls:
                found = await provider.busy([c.external_id for c in pulls], window)
                now = self.clock()
                for calendar in pulls:
                    events = [e for e in found.get(calendar.external_id, []) if e.kind != "booking"]
                    self._cache[calendar.id] = _Cached(window, events, now)
        except NeedsReconnect as exc:
            await self._reconnect_needed(account, str(exc))
            return SyncReport(account_id, False, str(exc), changed, tuple(gone))
        except ProviderError as exc:
            await self._record_error(account, str(exc))
            return SyncReport(account_id, False, str(exc), changed, tuple(gone))
        await asyncio.to_thread(self.storage.calendars.mark_synced, account_id, now=self.clock())
        return SyncReport(account_id, True, None, changed, tuple(gone))

    async def _deleted_bookings(
        self,
        calendar: Any,
        changed: Sequence[RemoteEvent],
        deleted: Sequence[str],
        full: bool,
        window: Interval,
    ) -> list[str]:
        mapped = await asyncio.to_thread(self.storage.calendars.booking_events_in_calendar, calendar.id)
        if not mapped:
            return []
        present_ids = {e.external_id for e in changed}
        present_bookings = {e.booking_id for e in changed if e.booking_id}
        removed = set(deleted)
        gone: list[str] = []
        now = self.clock()
        for record in mapped:
            if record.external_id in present_ids or record.booking_id in present_bookings:
                fresh = next((e.etag for e in changed if e.external_id == record.external_id and e.etag), None)
                if fresh and fresh != record.etag:
                    await asyncio.to_thread(
                        self.storage.calendars.save_booking_event,
                        record.booking_id,
                        calendar.id,
                        external_id=record.external_id,
                        etag=fresh,
                        now=now,
                    )
                continue
            booking = await asyncio.to_thread(self.storage.bookings.get, record.booking_id)
            if booking is None or not booking.status.active:
                continue
            if record.external_id in removed or (full and booking.interval.overlaps(window)):
                # claim the record: exactly one sync acts on the deletion
                claimed = await asyncio.to_thread(
                    self.storage.calendars.delete_booking_event, record.booking_id, calendar.id
                )
                if claimed:
                    gone.append(record.booking_id)
        for booking_id in gone:
            if self.on_booking_event_deleted is not None:
                try:
                    await self.on_booking_event_deleted(booking_id)
                except Exception:
                    log.exception("handling the deleted event of booking %s failed", booking_id)
        return gone

    # --- write-back --------------------------------------------------------------------------------------

    async def write_booking(self, booking: Booking) -> list[str]:
        """Write (or move) the booking event into the push calendar of the coach and each participant who has
        one.  Problems are returned as sentences (and recorded); the booking itself stands either way."""
        problems: list[str] = []
        if booking.rescheduled_from:
            problems += await self._remove(booking.rescheduled_from)
        people = [booking.coach_id, *[p for p in booking.participant_ids if p != booking.coach_id]]
        names = await asyncio.to_thread(self._names, people)
        for person_id in people:
            others = [names[p] for p in people if p != person_id] or ["you"]
            problem = await self._write_for(person_id, booking, title=f"Session with {_join(others)}")
            if problem:
                problems.append(problem)
        return problems

    def _names(self, people: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for person_id in people:
            person = self.storage.people.get(person_id)
            out[person_id] = person.display_name if person is not None else person_id
        return out

    async def _write_for(self, person_id: str, booking: Booking, *, title: str) -> str | None:
        push = await asyncio.to_thread(self.storage.calendars.push_calendar, person_id)
        if push is None:
            return None
        account = await asyncio.to_thread(self.storage.calendars.get_account, push.account_id)
        if account is None:
            return None
        label = f"{push.name} ({self._label(account)})"
        if account.status == "needs_reconnect":
            return f"could not add the session to {label}: it needs reconnecting"
        _, zone, _ = await asyncio.to_thread(self._context, account)
        draft = EventDraft(
            booking_id=booking.id,
            interval=booking.interval,
            title=title,
            description=(
                f"Booked with schedbot (booking {booking.id}). Cancel or move it by chatting with the bot; "
                "deleting this event cancels the session."
            ),
            timezone=zone,
        )
        try:
            provider = await self._provider(account)
            if provider.read_only:
                return None
            records = await asyncio.to_thread(self.storage.calendars.booking_events, booking.id)
            record = next((r for r in records if r.calendar_id == push.id), None)
            if record is None:
                event = await provider.create_event(push.external_id, draft)
            else:
                event = await self._update(provider, push.external_id, record.external_id, draft, record.etag)
            await asyncio.to_thread(
                self.storage.calendars.save_booking_event,
                booking.id,
                push.id,
                external_id=event.external_id,
                etag=event.etag,
                now=self.clock(),
            )
        except NeedsReconnect as exc:
            await self._reconnect_needed(account, str(exc))
            return f"could not add the session to {label}: it needs reconnecting"
        except ProviderError as exc:
            await self._record_error(account, str(exc))
            return f"could not add the session to {label}: {exc}"
        return None

    async def _update(
        self, provider: CalendarProvider, calendar_id: str, external_id: str, draft: EventDraft, etag: str | None
    ) -> RemoteEvent:
        """Update with the etag; on a conflict refetch once (re-create when the event is gone) and retry."""
        try:
            return await provider.update_event(calendar_id, external_id, draft, etag=etag)
        except WriteConflict:
            getter = getattr(provider, "get_event", None)
            if getter is None:
                return await provider.update_event(calendar_id, external_id, draft, etag=None)
            current: RemoteEvent | None = await getter(calendar_id, external_id)
            if current is None:
                return await provider.create_event(calendar_id, draft)
            try:
                return await provider.update_event(calendar_id, external_id, draft, etag=current.etag)
            except WriteConflict as again:
                raise ProviderError(f"the booking event keeps changing under us: {again}") from None

    async def remove_booking(self, booking: Booking) -> list[str]:
        """Delete the booking's events (cancelled or moved); problems are returned as sentences."""
        return await self._remove(booking.id)

    async def _remove(self, booking_id: str) -> list[str]:
        problems: list[str] = []
        records = await asyncio.to_thread(self.storage.calendars.booking_events, booking_id)
        for record in records:
            # claim first: a sync that sees the deletion then finds no record and cancels nothing
            if not await asyncio.to_thread(self.storage.calendars.delete_booking_event, booking_id, record.calendar_id):
                continue
            calendar = await asyncio.to_thread(self.storage.calendars.get_calendar, record.calendar_id)
            account = (
                await asyncio.to_thread(self.storage.calendars.get_account, calendar.account_id) if calendar else None
            )
            if calendar is None or account is None:
                continue
            try:
                provider = await self._provider(account)
                await provider.delete_event(calendar.external_id, record.external_id)
            except NeedsReconnect as exc:
                await self._reconnect_needed(account, str(exc))
                problems.append(f"could not remove the session from {calendar.name}: it needs reconnecting")
            except ProviderError as exc:
                await self._record_error(account, str(exc))
                problems.append(f"could not remove the session from {calendar.name}: {exc}")
        return problems

    # --- connecting ----------------------------------------------------------------------------------------

    async def connect_account(
        self,
        person_id: str,
        provider: str,
        display_name: str,
        *,
        credentials: Mapping[str, Any] | None,
        calendars: Sequence[RemoteCalendar],
    ) -> tuple[Any, list[Any]]:
        """Store a newly connected (or reconnected) account: encrypted credentials and its calendars.

        A reconnect (same person, provider and display name) reuses the account: its status goes back to ok.
        Until the person picks (``choose_calendars``), a new calendar counts as busy when it is their own
        (``RemoteCalendar.busy_by_default``): ignoring the pick form must never make real meetings look free."""

        def store() -> tuple[Any, list[Any]]:
            repo = self.storage.calendars
            existing = next(
                (
                    a
                    for a in repo.accounts_for_person(person_id)
                    if a.provider == provider and a.display_name == display_name
                ),
                None,
            )
            account = existing or repo.add_account(person_id, provider, display_name, now=self.clock())
            if credentials is not None:
                self.storage.credentials.put(account.id, dict(credentials), now=self.clock())
            repo.store_listed(account.id, calendars)
            if existing is not None:
                repo.mark_synced(account.id, now=self.clock())
            return repo.get_account(account.id), repo.calendars_for_account(account.id)

        account, stored = await asyncio.to_thread(store)
        await self.forget(account.id)
        return account, stored

    async def choose_calendars(
        self, person_id: str, account_id: str, *, pull: Sequence[str], push: str | None
    ) -> None:
        """Which of the account's calendars (our calendar ids) count as busy, and which one receives bookings
        (None: keep the current push calendar)."""

        def store() -> None:
            repo = self.storage.calendars
            for calendar in repo.calendars_for_account(account_id):
                if calendar.person_id != person_id:
                    raise ValueError("that calendar belongs to someone else")
                repo.set_pull(calendar.id, calendar.id in set(pull))
            if push is not None:
                repo.set_push_calendar(person_id, push)

        await asyncio.to_thread(store)
        await self.forget(account_id)


async def _close(provider: object) -> None:
    closer = getattr(provider, "aclose", None)
    if closer is not None:
        with contextlib.suppress(Exception):
            await closer()


def _join(names: Sequence[str]) -> str:
    names = list(dict.fromkeys(names))
    if len(names) <= 1:
        return names[0] if names else ""
    return ", ".join(names[:-1]) + " and " + names[-1]
