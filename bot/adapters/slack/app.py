"""The Slack surface: a slack_bolt ``AsyncApp`` on the shared aiohttp server (or Socket Mode).

Routes (fixed by DESIGN.md): ``POST /slack/events`` (events, slash commands, interactivity), ``GET /slack/install``
and ``GET /slack/oauth_redirect`` (multi-workspace OAuth install, installations kept in our database).

Every request is acknowledged first (Slack wants an answer within 3 seconds); the conversation runs after the ack
in a tracked task.  When it takes a while, the person sees "Checking calendars..." which is then replaced by the
answer.  Events are de-duplicated by ``event_id`` (``storage.processed_events``), so Slack's retries of an event we
already took have no second effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack import blocks as bk
from bot.handlers.format import hours_summary, range_label
from bot.handlers.people import person_for
from bot.handlers.replies import Action, Asker, Field, FieldOption, Form, FormSubmit, Incoming, Message, Reply
from bot.scheduling.model import Identity, load_zone

if TYPE_CHECKING:
    from bot.app import App
    from bot.config import Settings

__all__ = [
    "COMMANDS",
    "EVENTS",
    "SCOPES",
    "SLACK_KEY",
    "SlackSurface",
    "mount_slack",
    "slack_configured",
    "slack_surface",
]

log = logging.getLogger(__name__)

COMMANDS = ("/sched", "/book", "/hours", "/poll")
EVENTS = ("app_home_opened", "app_mention", "message.im")
SCOPES = (
    "app_mentions:read",
    "chat:write",
    "commands",
    "im:history",
    "im:read",
    "im:write",
    "users:read",
    "users:read.email",
)
EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
PROGRESS_TEXT = "Checking calendars…"
FORM_STATE_TTL = timedelta(hours=1)

SLACK_KEY: web.AppKey[SlackSurface] = web.AppKey("schedbot_slack")


def slack_configured(settings: Settings) -> bool:
    """HTTP mode needs the signing secret plus a bot token (one workspace) or OAuth client credentials."""
    oauth = bool(settings.slack_client_id and settings.slack_client_secret)
    return bool(settings.slack_signing_secret and (settings.slack_bot_token or oauth))


# ------------------------------------------------------------------------------ OAuth stores on our database


class DbInstallationStore(AsyncInstallationStore):
    """slack_sdk's ``SQLAlchemyInstallationStore`` on our engine (tables from migration 0002), in a worker thread."""

    def __init__(self, client_id: str, engine: Any) -> None:
        self.sync = SQLAlchemyInstallationStore(client_id=client_id, engine=engine)

    @property
    def logger(self) -> logging.Logger:
        return self.sync.logger

    async def async_save(self, installation: Installation) -> None:
        await asyncio.to_thread(self.sync.save, installation)

    async def async_save_bot(self, bot: Bot) -> None:
        await asyncio.to_thread(self.sync.save_bot, bot)

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        return await asyncio.to_thread(
            self.sync.find_bot,
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        return await asyncio.to_thread(
            self.sync.find_installation,
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await asyncio.to_thread(self.sync.delete_bot, enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await asyncio.to_thread(
            self.sync.delete_installation, enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
        )


class DbOAuthStateStore(AsyncOAuthStateStore):
    """slack_sdk's ``SQLAlchemyOAuthStateStore`` on our engine, in a worker thread."""

    def __init__(self, engine: Any, *, expiration_seconds: int = 600) -> None:
        self.sync = SQLAlchemyOAuthStateStore(expiration_seconds=expiration_seconds, engine=engine)

    @property
    def logger(self) -> logging.Logger:
        return self.sync.logger

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        return await asyncio.to_thread(self.sync.issue)

    async def async_consume(self, state: str) -> bool:
        return await asyncio.to_thread(self.sync.consume, state)


def _authorization_url(api_url: str) -> str:
    """``https://slack.com/api/`` -> ``https://slack.com/oauth/v2/authorize`` (a fake's base works the same way)."""
    base = api_url.rstrip("/")
    base = base[: -len("/api")] if base.endswith("/api") else base
    return f"{base}/oauth/v2/authorize"


# ------------------------------------------------------------------------------------------- where to answer


@dataclass
class Where:
    """Where an incoming came from and so where its replies go."""

    team_id: str
    user_id: str
    channel: str | None = None
    response_url: str | None = None  # slash commands, clicks: answers (and replacements) go through it
    message_ts: str | None = None  # the message a click came from
    ephemeral: bool = False  # the clicked message was ephemeral (only reachable through response_url)
    trigger_id: str | None = None  # opens a modal; valid for 3 seconds, used at most once
    progress_ts: str | None = None  # our "Checking calendars..." message, replaced by the first answer
    progress_via_response_url: bool = False
    used: set[str] = field(default_factory=set)

    @property
    def in_dm(self) -> bool:
        return bool(self.channel and self.channel.startswith("D"))


@dataclass
class _Profile:
    name: str
    timezone: str
    email: str | None
    expires: float


# -------------------------------------------------------------------------------------------------- surface


class SlackSurface:
    """Turns Slack payloads into ``Incoming`` + ``Asker``, runs the conversation, renders its replies."""

    def __init__(self, app: App, *, client: AsyncWebClient | None = None) -> None:
        self.app = app
        settings = app.settings
        self.settings = settings
        self.progress_delay = 1.0  # seconds before "Checking calendars..." appears; tests set 0
        self.form_submit_timeout = 2.5  # a modal submit must be answered within Slack's 3 seconds
        self.profile_ttl = 3600.0
        self._profiles: dict[tuple[str, str], _Profile] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.client = client or AsyncWebClient(
            base_url=settings.slack_api_url,
            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
        )
        oauth_settings: AsyncOAuthSettings | None = None
        if settings.slack_client_id and settings.slack_client_secret:
            engine = app.storage.engine
            public = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
            oauth_settings = AsyncOAuthSettings(
                client_id=settings.slack_client_id,
                client_secret=settings.slack_client_secret,
                scopes=list(SCOPES),
                redirect_uri=public + REDIRECT_PATH,
                install_path=INSTALL_PATH,
                redirect_uri_path=REDIRECT_PATH,
                install_page_rendering_enabled=False,
                authorization_url=_authorization_url(settings.slack_api_url),
                installation_store=DbInstallationStore(settings.slack_client_id, engine),
                installation_store_bot_only=True,
                state_store=DbOAuthStateStore(engine),
            )
        else:  # one workspace: bolt takes the token from the client (and checks it once with auth.test)
            self.client.token = settings.slack_bot_token
        self.bolt = AsyncApp(
            client=self.client,
            signing_secret=settings.slack_signing_secret or "",
            oauth_settings=oauth_settings,
            process_before_response=False,
            logger=logging.getLogger("bot.adapters.slack.bolt"),
        )
        self._register()

    # --- HTTP -------------------------------------------------------------------------------------------

    def add_routes(self, server: web.Application) -> None:
        server.router.add_post(EVENTS_PATH, self.handle_events)
        if self.bolt.oauth_flow is not None:
            server.router.add_get(INSTALL_PATH, self.handle_install)
            server.router.add_get(REDIRECT_PATH, self.handle_oauth_redirect)

    async def handle_events(self, request: web.Request) -> web.Response:
        bolt_request = await to_bolt_request(request)
        response = await self.bolt.async_dispatch(bolt_request)
        return await to_aiohttp_response(response)

    async def handle_install(self, request: web.Request) -> web.Response:
        flow = self.bolt.oauth_flow
        if flow is None:
            raise web.HTTPNotFound()
        return await to_aiohttp_response(await flow.handle_installation(await to_bolt_request(request)))

    async def handle_oauth_redirect(self, request: web.Request) -> web.Response:
        flow = self.bolt.oauth_flow
        if flow is None:
            raise web.HTTPNotFound()
        return await to_aiohttp_response(await flow.handle_callback(await to_bolt_request(request)))

    async def aclose(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task

    async def drain(self) -> None:
        """Wait for the work started by earlier requests (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, work: Awaitable[Any]) -> None:
        async def run() -> None:
            try:
                await work
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Slack work failed after the ack")

        task = asyncio.ensure_future(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- listeners --------------------------------------------------------------------------------------

    def _register(self) -> None:
        bolt = self.bolt
        bolt.middleware(self._dedupe)
        for command in COMMANDS:
            bolt.command(command)(self._on_command)
        listeners = {"app_mention": self._on_mention, "message.im": self._on_message, "app_home_opened": self._on_home}
        for name in EVENTS:  # the manifest subscribes to exactly these (tests/unit/adapters/test_slack_blocks.py)
            bolt.event(name.split(".", 1)[0])(listeners[name])
        bolt.action(re.compile(".*"))(self._on_action)
        bolt.view(re.compile(".*"))(self._on_view_submission)

    async def _dedupe(self, body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        """Slack delivers an event again when our answer was slow or lost; only the first delivery counts."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if isinstance(event_id, str) and event_id:
            key = f"slack:{body.get('team_id') or ''}:{event_id}"
            first = await asyncio.to_thread(self.app.storage.processed_events.first_time, key, now=self.app.clock())
            if not first:
                return BoltResponse(status=200, body="")
        await next()
        return None

    async def _on_command(self, ack: Any, command: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        await ack()
        where = Where(
            team_id=str(command.get("team_id") or context.team_id or ""),
            user_id=str(command.get("user_id") or ""),
            channel=command.get("channel_id"),
            response_url=command.get("response_url"),
            trigger_id=command.get("trigger_id"),
        )
        incoming = Message(text=str(command.get("text") or ""), command=str(command.get("command") or ""))
        self._spawn(self._converse(client, where, incoming))

    async def _on_mention(self, event: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        text = str(event.get("text") or "")
        bot_user = context.bot_user_id
        if bot_user:
            text = text.replace(f"<@{bot_user}>", " ")
        where = Where(
            team_id=str(event.get("team") or context.team_id or ""),
            user_id=str(event.get("user") or ""),
            channel=event.get("channel"),
        )
        if where.user_id:
            self._spawn(self._converse(client, where, Message(text=" ".join(text.split()))))

    async def _on_message(self, event: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        where = Where(
            team_id=str(event.get("team") or context.team_id or ""),
            user_id=str(event.get("user") or ""),
            channel=event.get("channel"),
        )
        if where.user_id:
            self._spawn(self._converse(client, where, Message(text=str(event.get("text") or ""))))

    async def _on_action(self, ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        container = body.get("container") or {}
        where = Where(
            team_id=str((body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id") or ""),
            user_id=str((body.get("user") or {}).get("id") or ""),
            channel=(body.get("channel") or {}).get("id") or container.get("channel_id"),
            response_url=body.get("response_url"),
            message_ts=container.get("message_ts") or (body.get("message") or {}).get("ts"),
            ephemeral=bool(container.get("is_ephemeral")),
            trigger_id=body.get("trigger_id"),
        )
        name = bk.action_name(str(action.get("action_id") or ""))
        value = str(action.get("value") or "")
        if name == bk.OPEN_FORM_ACTION:
            self._spawn(self._open_kept_form(client, where, value))
            return
        self._spawn(self._converse(client, where, Action(action=name, value=value), progress=False))

    async def _on_view_submission(self, ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any) -> None:
        user = body.get("user") or {}
        meta = bk.decode_metadata(str(view.get("private_metadata") or ""))
        where = Where(
            team_id=str((body.get("team") or {}).get("id") or user.get("team_id") or ""),
            user_id=str(user.get("id") or ""),
            channel=meta.get("channel") or None,
            response_url=meta.get("response_url") or None,
        )
        incoming = FormSubmit(
            form_id=str(view.get("callback_id") or ""), values=bk.view_values(view.get("state") or {})
        )

        async def run() -> list[Reply]:
            asker = await self.asker_for(client, where.team_id, where.user_id)
            return await self.app.conversation.handle(asker, incoming)

        task = asyncio.ensure_future(run())
        done, _ = await asyncio.wait({task}, timeout=self.form_submit_timeout)
        if not done:  # too slow to answer inside the modal: close it and answer in the chat when done
            await ack()
            self._spawn(self._finish_late(client, where, task))
            return
        replies = task.result()
        refused = next((r for r in replies if r.form is not None and bk.form_errors(r.form)), None)
        if refused is not None and refused.form is not None:
            await ack(response_action="errors", errors=bk.form_errors(refused.form))
            return
        follow = next((r for r in replies if r.form is not None), None)
        if follow is not None and follow.form is not None:
            await ack(
                response_action="update",
                view=bk.form_view(follow.form, private_metadata=str(view.get("private_metadata") or "")),
            )
            replies = [r for r in replies if r is not follow]
        else:
            await ack()
        if replies:
            self._spawn(self.deliver(client, where, replies, asker_id=None))

    async def _finish_late(self, client: AsyncWebClient, where: Where, task: asyncio.Future[list[Reply]]) -> None:
        replies = await task
        await self.deliver(client, where, replies, asker_id=None)

    async def _on_home(self, event: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        if event.get("tab", "home") != "home":
            return
        user_id = str(event.get("user") or "")
        team_id = str(context.team_id or "")
        if user_id:
            self._spawn(self.publish_home(client, team_id, user_id))

    # --- who is asking ------------------------------------------------------------------------------------

    async def _profile(self, client: AsyncWebClient, team_id: str, user_id: str) -> _Profile:
        key = (team_id, user_id)
        cached = self._profiles.get(key)
        now = time.monotonic()
        if cached is not None and cached.expires > now:
            return cached
        name, zone, email = user_id, "", None
        try:
            info = await client.users_info(user=user_id)
            user = info.get("user") or {}
            profile = user.get("profile") or {}
            name = profile.get("display_name") or user.get("real_name") or profile.get("real_name") or user_id
            zone = str(user.get("tz") or "")
            email = profile.get("email") or None
        except Exception as exc:  # a missing scope or a deleted user: go on with what we know
            log.warning("users.info failed for %s: %s", user_id, exc)
            return _Profile(name, zone, email, now)
        result = _Profile(str(name), zone, email, now + self.profile_ttl)
        self._profiles[key] = result
        return result

    async def asker_for(self, client: AsyncWebClient, team_id: str, user_id: str) -> Asker:
        profile = await self._profile(client, team_id, user_id)
        person = await person_for(
            self.app.storage,
            Identity(surface="slack", external_id=user_id, tenant=team_id),
            display_name=profile.name,
            timezone=profile.timezone,
            email=profile.email,
        )
        return Asker(
            person_id=person.id,
            display_name=person.display_name,
            timezone=person.timezone,
            locale=person.locale,
            surface="slack",
            tenant=team_id,
        )

    # --- the conversation --------------------------------------------------------------------------------

    async def _converse(
        self, client: AsyncWebClient, where: Where, incoming: Incoming, *, progress: bool = True
    ) -> None:
        try:
            asker = await self.asker_for(client, where.team_id, where.user_id)
        except Exception:
            log.exception("could not resolve Slack user %s", where.user_id)
            await self.deliver(client, where, [Reply("Sorry, I could not look you up. Please try again.")])
            return
        task = asyncio.ensure_future(self.app.conversation.handle(asker, incoming))
        if progress:
            done, _ = await asyncio.wait({task}, timeout=self.progress_delay)
            if not done:
                await self._progress(client, where)
        replies = await task
        await self.deliver(client, where, replies, asker_id=asker.person_id)

    async def _progress(self, client: AsyncWebClient, where: Where) -> None:
        try:
            if where.response_url:
                await self._respond(where.response_url, {"text": PROGRESS_TEXT, "response_type": "ephemeral"})
                where.progress_via_response_url = True
            elif where.channel:
                posted = await client.chat_postMessage(channel=where.channel, text=PROGRESS_TEXT)
                where.progress_ts = posted.get("ts")
        except Exception as exc:
            log.warning("could not post the progress message: %s", exc)

    async def _respond(self, url: str, payload: dict[str, Any]) -> None:
        from slack_sdk.webhook.async_client import AsyncWebhookClient

        webhook = AsyncWebhookClient(url, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)])
        result = await webhook.send_dict(payload)
        if result.status_code >= 400:
            raise RuntimeError(f"response_url answered {result.status_code}: {result.body[:200]}")

    async def deliver(
        self, client: AsyncWebClient, where: Where, replies: Sequence[Reply], *, asker_id: str | None = None
    ) -> None:
        """Render each reply where it belongs: a modal, the clicked message, a DM, an ephemeral or a new message."""
        for reply in replies:
            try:
                await self._deliver_one(client, where, reply, asker_id=asker_id)
            except Exception:
                log.exception("could not deliver a reply to Slack user %s", where.user_id)

    async def _deliver_one(self, client: AsyncWebClient, where: Where, reply: Reply, *, asker_id: str | None) -> None:
        if reply.to is not None:  # a direct message, also when it is for the asker ("you're booked")
            await self._direct_message(client, where, reply)
            return
        if reply.form is not None:
            if where.trigger_id and "trigger" not in where.used:
                where.used.add("trigger")
                meta = {"channel": where.channel or "", "response_url": where.response_url or ""}
                view = bk.form_view(reply.form, private_metadata=bk.encode_metadata(meta))
                await client.views_open(trigger_id=where.trigger_id, view=view)
                return
            key = await self._keep_form(reply.form)
            await self._post(client, where, reply, bk.message_blocks(reply, form_key=key))
            return
        await self._post(client, where, reply, bk.message_blocks(reply))

    async def _post(self, client: AsyncWebClient, where: Where, reply: Reply, blocks: list[dict[str, Any]]) -> None:
        text = reply.text[:3000]
        if where.channel is None and where.response_url is None:  # e.g. a modal opened from App Home
            opened = await client.conversations_open(users=where.user_id)
            where.channel = (opened.get("channel") or {}).get("id")
        # the first answer replaces "Checking calendars..." or, when asked, the clicked message
        if where.progress_ts and "progress" not in where.used and where.channel:
            where.used.add("progress")
            await client.chat_update(channel=where.channel, ts=where.progress_ts, text=text, blocks=blocks)
            return
        if where.progress_via_response_url and "progress" not in where.used and where.response_url:
            where.used.add("progress")
            await self._respond(where.response_url, {"text": text, "blocks": blocks, "replace_original": True})
            return
        if reply.replace and where.message_ts and "replace" not in where.used:
            where.used.add("replace")
            if where.ephemeral or not where.in_dm:
                if where.response_url:
                    await self._respond(where.response_url, {"text": text, "blocks": blocks, "replace_original": True})
                    return
            elif where.channel:
                await client.chat_update(channel=where.channel, ts=where.message_ts, text=text, blocks=blocks)
                return
        if where.response_url and not where.in_dm:
            payload = {"text": text, "blocks": blocks, "response_type": "ephemeral", "replace_original": False}
            await self._respond(where.response_url, payload)
            return
        if where.channel is None:
            opened = await client.conversations_open(users=where.user_id)
            where.channel = str((opened.get("channel") or {}).get("id") or where.user_id)
        channel: str = where.channel
        if reply.private and not where.in_dm:
            await client.chat_postEphemeral(channel=channel, user=where.user_id, text=text, blocks=blocks)
            return
        await client.chat_postMessage(channel=channel, text=text, blocks=blocks)

    async def _direct_message(self, client: AsyncWebClient, where: Where, reply: Reply) -> None:
        assert reply.to is not None
        identities = await asyncio.to_thread(self.app.storage.people.identities, reply.to)
        slack = [i for i in identities if i.surface == "slack"]
        same_team = [i for i in slack if i.tenant == where.team_id] or slack
        if not same_team:  # e.g. a coach who only uses the web chat: their inbox there
            notifier = getattr(self.app, "notifier", None)
            if notifier is not None:
                await notifier.notify(reply.to, [reply])
            else:
                log.info("person %s has no Slack identity; the DM is not sent on Slack", reply.to)
            return
        await self._post_dm(client, same_team[0].external_id, [reply])

    async def notify_identity(self, identity: Identity, replies: Sequence[Reply]) -> bool:
        """A DM that answers nothing the person just did (``Notifier``): to their Slack user, in their team."""
        client = await self._client_for_team(identity.tenant)
        if client is None:
            return False
        await self._post_dm(client, identity.external_id, replies)
        return True

    async def _post_dm(self, client: AsyncWebClient, user_id: str, replies: Sequence[Reply]) -> None:
        opened = await client.conversations_open(users=user_id)
        channel = (opened.get("channel") or {}).get("id") or user_id
        for reply in replies:
            key = await self._keep_form(reply.form) if reply.form is not None else None
            await client.chat_postMessage(
                channel=channel, text=reply.text[:3000], blocks=bk.message_blocks(reply, form_key=key)
            )

    async def _client_for_team(self, team_id: str) -> AsyncWebClient | None:
        if self.bolt.oauth_flow is None:
            return self.client if self.client.token else None
        store = self.bolt.oauth_flow.settings.installation_store
        bot = await store.async_find_bot(enterprise_id=None, team_id=team_id or None)
        if bot is None or not bot.bot_token:
            return None
        return AsyncWebClient(
            token=bot.bot_token,
            base_url=self.settings.slack_api_url,
            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
        )

    # --- forms where Slack gives no trigger_id (a DM): keep the form, a button opens it ------------------

    async def _keep_form(self, form: Form) -> str:
        key = secrets.token_urlsafe(8)
        expires = self.app.clock() + FORM_STATE_TTL
        await asyncio.to_thread(
            self.app.storage.conversations.save_state, f"slackform:{key}", asdict(form), expires_at=expires
        )
        return key

    async def _open_kept_form(self, client: AsyncWebClient, where: Where, key: str) -> None:
        state = await asyncio.to_thread(
            self.app.storage.conversations.load_state, f"slackform:{key}", now=self.app.clock()
        )
        if not state or not where.trigger_id:
            await self.deliver(client, where, [Reply("That form has expired, ask again.", private=True)])
            return
        form = _form_from_state(state)
        meta = {"channel": where.channel or "", "response_url": where.response_url or ""}
        await client.views_open(
            trigger_id=where.trigger_id, view=bk.form_view(form, private_metadata=bk.encode_metadata(meta))
        )

    # --- App Home -----------------------------------------------------------------------------------------

    async def publish_home(self, client: AsyncWebClient, team_id: str, user_id: str) -> None:
        asker = await self.asker_for(client, team_id, user_id)
        data = await asyncio.to_thread(self._home_data, asker)
        await client.views_publish(user_id=user_id, view=bk.home_view(data, now=self.app.clock()))

    def _home_data(self, asker: Asker) -> bk.HomeData:
        storage = self.app.storage
        now = self.app.clock()
        person = storage.people.get(asker.person_id)
        settings = storage.coach_settings.get_settings(asker.person_id)
        is_coach = settings is not None or bool(person and person.is_coach)
        hours: tuple[str, ...] = ()
        buffers = ""
        calendars: tuple[bk.HomeCalendar, ...] = ()
        if is_coach:
            if settings is not None:
                hours = tuple(hours_summary(settings.hours))
                before = int(settings.buffer_before.total_seconds() // 60)
                after = int(settings.buffer_after.total_seconds() // 60)
                buffers = f"Buffers: {before} min before, {after} min after · in {settings.timezone}"
            calendars = tuple(
                bk.HomeCalendar(a.display_name, a.provider, a.status, a.last_synced_at, a.last_error)
                for a in storage.calendars.accounts_for_person(asker.person_id)
            )
        sessions: list[bk.HomeSession] = []
        for booking in storage.bookings.upcoming_for_person(asker.person_id, now=now, limit=10):
            others = [p for p in (booking.coach_id, *booking.participant_ids) if p != asker.person_id]
            names = []
            for other in others:
                found = storage.people.get(other)
                names.append(found.display_name if found else other)
            when = range_label(booking.start, booking.end, asker.timezone)
            sessions.append(bk.HomeSession(when=when, with_whom=", ".join(names) or "yourself"))
        week_png = None
        if is_coach and person is not None and person.handle:
            from bot.adapters.web.links import week_png_url

            week_png = week_png_url(
                person.handle, settings=self.settings, start=now.astimezone(load_zone(asker.timezone)).date(),
                timezone=asker.timezone,
            )
        return bk.HomeData(
            week_png=week_png,
            name=asker.display_name,
            timezone=asker.timezone,
            is_coach=is_coach,
            hours=hours,
            buffers=buffers,
            calendars=calendars,
            upcoming=tuple(sessions),
        )


def _form_from_state(state: dict[str, Any]) -> Form:
    fields = tuple(
        Field(**{**f, "options": tuple(FieldOption(**o) for o in f.get("options") or ())})
        for f in state.get("fields") or ()
    )
    return Form(
        id=str(state["id"]),
        title=str(state["title"]),
        fields=fields,
        submit_label=str(state.get("submit_label", "Save")),
    )


# ---------------------------------------------------------------------------------------------- mounting


def slack_surface(server: web.Application, app: App) -> SlackSurface:
    """The server's Slack surface, built once (HTTP routes and Socket Mode share it)."""
    if SLACK_KEY in server:
        return server[SLACK_KEY]
    surface = SlackSurface(app)
    server[SLACK_KEY] = surface
    notifier = getattr(app, "notifier", None)
    if notifier is not None:
        notifier.register("slack", surface.notify_identity)

    async def _close(_: web.Application) -> None:
        await surface.aclose()

    server.on_shutdown.append(_close)
    return surface


def mount_slack(server: web.Application, app: App) -> SlackSurface | None:
    """Add the Slack routes when Slack is configured (signing secret + bot token or OAuth client)."""
    if not slack_configured(app.settings):
        return None
    surface = slack_surface(server, app)
    surface.add_routes(server)
    return surface
