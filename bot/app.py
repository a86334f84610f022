"""The composition root: ``build_app(settings)`` wires storage, calendars and services.  Nothing is built at import.

Tests pass ``overrides`` (a clock, a busy source, an engine) instead of patching modules.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import Settings
from bot.scheduling.ports import BusySource
from bot.services.booking import BookingService

if TYPE_CHECKING:
    from bot.handlers.conversation import Conversation

__all__ = ["App", "build_app", "load_or_create_secret_keys"]

log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def load_or_create_secret_keys(settings: Settings) -> tuple[str, ...]:
    """SECRET_KEYS when set; otherwise a key generated once and kept in the data folder (embedded default)."""
    if settings.secret_keys:
        return settings.secret_keys
    from storage.secrets import generate_key

    path = Path(settings.data_dir) / "secret.key"
    if path.exists():
        return (path.read_text().strip(),)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = generate_key()
    path.touch(mode=0o600)
    path.write_text(key + "\n")
    return (key,)


@dataclass
class App:
    settings: Settings
    storage: Any
    bookings: BookingService
    clock: Callable[[], datetime]
    conversation: Conversation = None  # type: ignore[assignment]  # what every chat surface talks to; set by build_app
    calendars: Any = None  # bot.services.calendars.CalendarService: busy time, sync, write-back of bookings
    microsoft: Any = None  # bot.providers.microsoft_auth.MicrosoftAuth when MS_CLIENT_ID/SECRET are set
    google: Any = None  # bot.providers.google_oauth.GoogleOAuth when GOOGLE_CLIENT_ID/SECRET are set
    notifier: Any = None  # bot.services.notify.Notifier: DMs on Slack when possible, else the web chat inbox

    @property
    def oauth_callbacks(self) -> Any:
        """What GET /oauth/<provider>/callback calls: the configured sign-in flows (None when there are none)."""
        flows = {name: flow for name, flow in (("google", self.google), ("microsoft", self.microsoft)) if flow}
        return _OAuthCallbacks(flows, calendars=self.calendars, notifier=self.notifier) if flows else None

    async def health(self) -> tuple[bool, str]:
        try:
            await asyncio.to_thread(self._ping)
        except Exception as exc:  # report, never raise, from a health probe
            return False, type(exc).__name__
        return True, "ok"

    def _ping(self) -> None:
        from sqlalchemy import text

        with self.storage.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    async def aclose(self) -> None:
        if self.calendars is not None:
            await self.calendars.aclose()
        await asyncio.to_thread(self.storage.close)


def _calendar_label(storage: Any, person_id: str) -> str:
    """How a calendar that did not answer in time is named to people: "Dana Smith's calendar"."""
    person = storage.people.get(person_id)
    return f"{person.display_name}'s calendar" if person is not None else "a calendar"


def build_app(settings: Settings, *, overrides: Mapping[str, Any] | None = None) -> App:
    """Everything the bot needs, built from settings; ``overrides`` replaces named parts (tests)."""
    from storage import open_storage
    from storage.secrets import SecretBox

    parts = dict(overrides or {})
    clock: Callable[[], datetime] = parts.get("clock", _utc_now)
    if settings.database_url.startswith("sqlite:///"):
        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    storage = parts.get("storage") or open_storage(
        settings.database_url, secret_keys=SecretBox(load_or_create_secret_keys(settings))
    )
    files: dict[str, list[Path]] = {}
    zones: dict[str, str] = {}
    if settings.demo:
        from bot.demo.seed import DEMO_COACH_ID, DEMO_COACH_TIMEZONE, demo_calendar_path, ensure_demo_coach

        ensure_demo_coach(storage)
        files[DEMO_COACH_ID] = [demo_calendar_path()]
        zones[DEMO_COACH_ID] = DEMO_COACH_TIMEZONE
    calendars = _build_calendars(settings, storage, clock, files=files, zones=zones, parts=parts)
    from bot.services.notify import Notifier

    notifier = parts.get("notifier") or Notifier(storage)
    if getattr(calendars, "notify", None) is not None and "calendars" not in parts:
        calendars.notify = notifier.notify_text
    busy_source: BusySource = parts.get("busy_source") or calendars
    bookings = BookingService(
        bookings=storage.bookings,
        coach_settings=storage.coach_settings,
        busy_source=busy_source,
        clock=clock,
        calendar_label=lambda person_id: _calendar_label(storage, person_id),
        calendar_writer=calendars if hasattr(calendars, "write_booking") else None,
    )
    from bot.handlers.conversation import Conversation

    _wire_deleted_booking_events(calendars, bookings, storage)
    from bot.adapters.web.links import settings_link

    conversation = parts.get("conversation") or Conversation(
        storage,
        bookings,
        clock,
        connector=parts.get("calendar_connector") or _default_connector(calendars, settings),
        settings_link=lambda person_id: settings_link(person_id, settings=settings, now=clock()),
    )
    app = App(
        settings=settings,
        storage=storage,
        bookings=bookings,
        clock=clock,
        conversation=conversation,
        calendars=calendars,
        microsoft=parts.get("microsoft") or _build_microsoft(settings, storage, clock, calendars, conversation),
        google=parts.get("google") or _build_google(settings, storage, clock, calendars, conversation),
        notifier=notifier,
    )
    if notifier.fallback is None:
        from bot.adapters.web.chat import deliver_to_inbox

        async def to_web_inbox(person_id: str, replies: Sequence[Any]) -> None:
            await deliver_to_inbox(app, person_id, list(replies))

        notifier.fallback = to_web_inbox
    return app


def _build_calendars(
    settings: Settings,
    storage: Any,
    clock: Callable[[], datetime],
    *,
    files: Mapping[str, list[Path]],
    zones: Mapping[str, str],
    parts: Mapping[str, Any],
) -> Any:
    """The CalendarService (busy source over connected calendars and the demo coach's ICS file; write-back)."""
    from bot.services.calendars import CalendarService

    calendars = parts.get("calendars") or CalendarService(
        storage, clock, settings=settings, files=files, file_timezones=zones
    )
    for provider, module, name in (
        ("google", "bot.providers.google", "make_google_provider"),
        ("microsoft", "bot.providers.microsoft_auth", "make_graph_provider"),
    ):
        if provider in calendars.factories:
            continue
        try:
            factory = getattr(__import__(module, fromlist=[name]), name)
        except (ImportError, AttributeError):
            continue
        calendars.register_factory(provider, factory)
    return calendars


def _wire_deleted_booking_events(calendars: Any, bookings: BookingService, storage: Any) -> None:
    """A booking event deleted in the coach's calendar cancels the booking; both sides are told (by DM)."""
    if getattr(calendars, "on_booking_event_deleted", "absent") is not None:
        return

    async def cancelled_in_calendar(booking_id: str) -> None:
        from bot.services.booking import BookingError

        booking = await asyncio.to_thread(storage.bookings.get, booking_id)
        if booking is None:
            return
        try:
            booking = await bookings.cancel(booking_id, by=booking.coach_id)
        except BookingError:
            return  # already cancelled or moved: nothing to tell
        from bot.handlers.format import range_label

        for person_id in dict.fromkeys((booking.coach_id, *booking.participant_ids)):
            person = await asyncio.to_thread(storage.people.get, person_id)
            zone = getattr(person, "timezone", None) or "UTC"
            when = range_label(booking.interval.start, booking.interval.end, zone)  # in each reader's own zone
            text = (
                f"The session on {when} was cancelled: its event was deleted from the coach's calendar."
                if person_id != booking.coach_id
                else f"You deleted the session on {when} from your calendar, so I cancelled it and told everyone."
            )
            await calendars.notify(person_id, text)

    calendars.on_booking_event_deleted = cancelled_in_calendar


def _build_microsoft(settings: Settings, storage: Any, clock: Callable[[], datetime], calendars: Any,
                     conversation: Any) -> Any:
    """Microsoft sign-in (chat connector "connect outlook", OAuth callback, Graph notifications) when configured."""
    if not (settings.ms_client_id and settings.ms_client_secret):
        return None
    from bot.providers.microsoft_auth import MicrosoftAuth, MicrosoftConnector

    microsoft = MicrosoftAuth(settings, storage, clock=clock)
    running: set[asyncio.Task[Any]] = set()  # background work, so Graph gets its answer within 3 seconds

    def later(work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        running.add(task)
        task.add_done_callback(running.discard)

    async def on_notification(account_id: str, action: str) -> None:  # Graph said the calendar changed
        if action in ("renew", "resubscribe"):  # renew re-creates a subscription Graph removed
            account = await asyncio.to_thread(storage.calendars.get_account, account_id)
            credentials = await asyncio.to_thread(storage.credentials.get, account_id)
            if account is not None and credentials:
                later(microsoft.renew(account, credentials))
        elif calendars is not None and hasattr(calendars, "sync"):
            later(calendars.sync(account_id))

    microsoft.on_notification = on_notification
    router = getattr(conversation, "connector", None)
    if router is not None and hasattr(router, "add"):
        router.add(MicrosoftConnector(microsoft), "microsoft", "outlook", "office365", "microsoft365", "exchange")
    return microsoft


@dataclass(frozen=True)
class _OAuthCallbacks:
    """Finishes a Google or Microsoft sign-in, then sends the person the calendar pick form in chat (Slack when
    they have it, else the web chat inbox), as CalDAV does right after its connect form."""

    flows: Mapping[str, Any]
    calendars: Any = None
    notifier: Any = None

    async def oauth_callback(self, provider: str, params: Mapping[str, str]) -> Any:
        from bot.adapters.web.oauth import OAuthOutcome

        flow = self.flows.get(provider)
        if flow is None:
            return OAuthOutcome(False, f"{provider} calendars are not configured on this server.")
        outcome = await flow.oauth_callback(provider, params)
        if not (outcome.ok and outcome.account is not None and outcome.person_id and self.notifier is not None):
            return outcome
        from bot.services.calendar_pick import CalendarPicker

        try:
            reply = await CalendarPicker(self.calendars).offer(outcome.person_id, outcome.account, outcome.calendars)
            where = await self.notifier.notify(outcome.person_id, [reply])
        except Exception:  # connected all the same: their own calendars count as busy meanwhile
            log.exception("could not send the calendar pick form after a %s sign-in", provider)
            return outcome
        place = {"slack": "Slack", "web": "the web chat"}.get(where)
        if place is None:
            return outcome
        return dataclasses.replace(
            outcome,
            message=f"Connected {outcome.account.display_name}. I have sent you a message in {place}: pick there "
            "which calendars count as busy and which one gets your bookings. Until then your own calendars "
            "count as busy.",
        )


def _build_google(settings: Settings, storage: Any, clock: Callable[[], datetime], calendars: Any,
                  conversation: Any) -> Any:
    """Google sign-in (chat connector "connect google", OAuth callback) when GOOGLE_CLIENT_ID/SECRET are set."""
    if not (settings.google_client_id and settings.google_client_secret):
        return None
    from bot.providers.google_oauth import GoogleConnector, GoogleOAuth, GooglePush

    running: set[asyncio.Task[Any]] = set()

    async def sync_later(account_id: str) -> None:  # answer Google at once; sync in the background
        if calendars is not None and hasattr(calendars, "sync"):
            task = asyncio.get_running_loop().create_task(calendars.sync(account_id))
            running.add(task)
            task.add_done_callback(running.discard)

    push = GooglePush(storage, settings, clock=clock, sync=sync_later)
    google = GoogleOAuth(storage, settings, clock=clock, calendars=calendars, push=push)
    router = getattr(conversation, "connector", None)
    if router is not None and hasattr(router, "add"):
        router.add(GoogleConnector(google), "google", "gcal")
    return google


def _default_connector(calendars: Any, settings: Settings) -> Any:
    """iCloud, CalDAV and ICS feeds; other connectors join the same router
    (``app.conversation.connector.add(connector, "google")``) or replace it (override ``calendar_connector``)."""
    from bot.services.connect_caldav import caldav_router

    return caldav_router(calendars, allow_private_hosts=settings.calendar_allow_private_hosts)
