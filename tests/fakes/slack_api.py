"""A loopback fake of the Slack Web API: real HTTP, Slack's response shapes, every call recorded.

Point ``SLACK_API_URL`` at ``fake.api_url``; the production ``AsyncWebClient`` talks to it unchanged.  Besides the
Web API methods it serves ``response_url`` targets (``fake.response_url(...)``) and records what is posted there.
``fake.rate_limit_once(method, retry_after=1)`` answers the next call of ``method`` with HTTP 429 and a
``Retry-After`` header, as Slack does.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

__all__ = ["Call", "FakeSlackApi", "FakeUser"]


@dataclass(frozen=True)
class Call:
    method: str  # "chat.postMessage", ..., or "response_url"
    args: dict[str, Any]
    token: str | None
    status: int = 200
    result: dict[str, Any] = field(default_factory=dict)  # what the fake answered

    @property
    def text(self) -> str:
        """The visible text of a message call: ``text`` plus the text of its section and context blocks."""
        parts = [str(self.args.get("text") or "")]
        blocks = self.args.get("blocks") or []
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        for block in blocks:
            if isinstance(block.get("text"), dict):
                parts.append(block["text"].get("text", ""))
            for element in block.get("elements", []) or []:
                if isinstance(element, dict) and isinstance(element.get("text"), str):
                    parts.append(element["text"])
        return "\n".join(p for p in parts if p)

    def blocks(self) -> list[dict[str, Any]]:
        blocks = self.args.get("blocks") or []
        return json.loads(blocks) if isinstance(blocks, str) else list(blocks)

    def buttons(self) -> list[dict[str, Any]]:
        return [e for b in self.blocks() if b.get("type") == "actions" for e in b.get("elements", [])]


@dataclass
class FakeUser:
    id: str
    name: str
    tz: str = "UTC"
    team_id: str = "T0001"
    email: str | None = None


@dataclass
class FakeSlackApi:
    team_id: str = "T0001"
    team_name: str = "Test Team"
    bot_user_id: str = "UBOT"
    bot_id: str = "BBOT"
    app_id: str = "A0001"
    users: dict[str, FakeUser] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    oauth_codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    _rate_limited: dict[str, int] = field(default_factory=dict)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _changed: asyncio.Condition | None = None
    _runner: web.AppRunner | None = None
    port: int = 0

    # --- lifecycle ----------------------------------------------------------------------------------------

    async def start(self) -> FakeSlackApi:
        self._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{hook}", self._response_url)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self, hook: str) -> str:
        return f"{self.base_url}/response/{hook}"

    # --- test controls --------------------------------------------------------------------------------------

    def add_user(self, user_id: str, name: str, *, tz: str = "UTC", email: str | None = None) -> FakeUser:
        user = FakeUser(user_id, name, tz, self.team_id, email)
        self.users[user_id] = user
        return user

    def rate_limit_once(self, method: str, *, retry_after: int = 1) -> None:
        self._rate_limited[method] = retry_after

    def add_oauth_code(self, code: str, *, team_id: str, team_name: str, bot_token: str, user_id: str) -> None:
        self.oauth_codes[code] = {
            "team_id": team_id,
            "team_name": team_name,
            "bot_token": bot_token,
            "user_id": user_id,
        }

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.status == 200]

    async def wait_for(self, predicate: Callable[[list[Call]], Any], *, limit: float = 20.0) -> Any:
        """Wait until ``predicate(calls)`` is truthy and return its value (``limit`` only stops a hung test)."""
        assert self._changed is not None
        async with self._changed:
            result = predicate(self.calls)
            try:
                async with asyncio.timeout(limit):
                    while not result:
                        await self._changed.wait()
                        result = predicate(self.calls)
            except TimeoutError:
                methods = [f"{c.method}: {c.text[:80]!r}" for c in self.calls]
                raise AssertionError(f"the expected Slack call never came; calls were: {methods}") from None
        return result

    async def _record(self, call: Call) -> None:
        assert self._changed is not None
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    # --- HTTP -----------------------------------------------------------------------------------------------

    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            body = await request.text()
            if request.content_type == "application/json":
                args.update(json.loads(body or "{}"))
            elif body:
                args.update(dict(parse_qsl(body, keep_blank_values=True)))
        for key in ("blocks", "view", "attachments"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        return args

    async def _response_url(self, request: web.Request) -> web.Response:
        args = await self._args(request)
        args["hook"] = request.match_info["hook"]
        await self._record(Call("response_url", args, None))
        return web.Response(text="ok")

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() or args.get("token")
        if method in self._rate_limited:
            retry_after = self._rate_limited.pop(method)
            await self._record(Call(method, args, token, status=429))
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(retry_after)}
            )
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            await self._record(Call(method, args, token))
            return web.json_response({"ok": False, "error": "unknown_method"})
        if method != "oauth.v2.access" and not token:
            await self._record(Call(method, args, token))
            return web.json_response({"ok": False, "error": "not_authed"})
        body = handler(args, token)
        await self._record(Call(method, args, token, result=body))
        return web.json_response(body)

    def _next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    # --- methods (shapes as documented at api.slack.com/methods) ---------------------------------------------

    def _m_auth_test(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://test.slack.com/",
            "team": self.team_name,
            "user": "schedbot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _message(self, args: dict[str, Any], ts: str) -> dict[str, Any]:
        return {
            "type": "message",
            "subtype": "bot_message",
            "text": args.get("text", ""),
            "ts": ts,
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "blocks": args.get("blocks", []),
        }

    def _m_chat_postMessage(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        ts = self._next_ts()
        return {"ok": True, "channel": args["channel"], "ts": ts, "message": self._message(args, ts)}

    def _m_chat_postEphemeral(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        if not args.get("channel") or not args.get("user"):
            return {"ok": False, "error": "channel_not_found" if not args.get("channel") else "user_not_in_channel"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_chat_update(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        if not args.get("channel") or not args.get("ts"):
            return {"ok": False, "error": "message_not_found"}
        return {
            "ok": True,
            "channel": args["channel"],
            "ts": args["ts"],
            "text": args.get("text", ""),
            "message": self._message(args, args["ts"]),
        }

    def _view(self, view: dict[str, Any], view_id: str | None = None) -> dict[str, Any]:
        return {
            "id": view_id or f"V{next(self._ts):08d}",
            "team_id": self.team_id,
            "type": view.get("type", "modal"),
            "title": view.get("title"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{next(self._ts)}.abcdef",
            "clear_on_close": False,
            "notify_on_close": False,
            "root_view_id": view_id,
            "app_id": self.app_id,
            "bot_id": self.bot_id,
        }

    def _m_views_open(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        return {"ok": True, "view": self._view(args.get("view") or {})}

    def _m_views_update(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        return {"ok": True, "view": self._view(args.get("view") or {}, args.get("view_id"))}

    def _m_views_publish(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        if not args.get("user_id"):
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True, "view": self._view(args.get("view") or {})}

    def _m_users_info(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        user = self.users.get(str(args.get("user", "")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {
            "ok": True,
            "user": {
                "id": user.id,
                "team_id": user.team_id,
                "name": user.name.lower().replace(" ", "."),
                "deleted": False,
                "real_name": user.name,
                "tz": user.tz,
                "tz_label": user.tz,
                "tz_offset": 0,
                "is_bot": False,
                "profile": {"real_name": user.name, "display_name": user.name, "email": user.email},
            },
        }

    def _m_conversations_open(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        users = str(args.get("users", ""))
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        return {"ok": True, "channel": {"id": "D" + users.split(",")[0].lstrip("U")}}

    def _m_oauth_v2_access(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        code = self.oauth_codes.pop(str(args.get("code", "")), None)
        if code is None:
            return {"ok": False, "error": "invalid_code"}
        return {
            "ok": True,
            "app_id": self.app_id,
            "authed_user": {"id": code["user_id"]},
            "scope": "app_mentions:read,chat:write,commands,im:history,im:write,users:read",
            "token_type": "bot",
            "access_token": code["bot_token"],
            "bot_user_id": self.bot_user_id,
            "team": {"id": code["team_id"], "name": code["team_name"]},
            "enterprise": None,
            "is_enterprise_install": False,
        }


# ------------------------------------------------------------------------------------------------ the bot side
# A real bot server (bot.server.make_web_app(build_app(settings))) on a free port, and a client that sends it
# what Slack sends: signed slash commands, events and interactive payloads.


def sign(secret: str, body: str, *, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack puts on a request (v0 HMAC-SHA256 of ``v0:{timestamp}:{body}``)."""
    import time

    from slack_sdk.signature import SignatureVerifier

    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": str(signature)}


@dataclass
class SlackSender:
    """Sends signed Slack requests to the bot's ``POST /slack/events``."""

    url: str
    secret: str
    fake: FakeSlackApi
    team_id: str = "T0001"
    _n: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def post(
        self, body: str, content_type: str, *, headers: dict[str, str] | None = None, signed: bool = True
    ) -> tuple[int, str]:
        import aiohttp

        all_headers = {"Content-Type": content_type, **(sign(self.secret, body) if signed else {}), **(headers or {})}
        async with aiohttp.ClientSession() as session, session.post(self.url, data=body, headers=all_headers) as r:
            return r.status, await r.text()

    async def command(self, user: str, command: str, text: str = "", *, channel: str = "C0GENERAL") -> tuple[int, str]:
        from urllib.parse import urlencode

        n = next(self._n)
        body = urlencode(
            {
                "token": "legacy",
                "team_id": self.team_id,
                "team_domain": "test",
                "channel_id": channel,
                "channel_name": "general",
                "user_id": user,
                "user_name": user.lower(),
                "command": command,
                "text": text,
                "api_app_id": self.fake.app_id,
                "is_enterprise_install": "false",
                "response_url": self.fake.response_url(f"cmd-{user}-{n}"),
                "trigger_id": f"trigger-{n}",
            }
        )
        return await self.post(body, "application/x-www-form-urlencoded")

    def event_body(self, event: dict[str, Any], *, event_id: str | None = None) -> str:
        return json.dumps(
            {
                "token": "legacy",
                "team_id": self.team_id,
                "api_app_id": self.fake.app_id,
                "event": event,
                "type": "event_callback",
                "event_id": event_id or f"Ev{next(self._n):08d}",
                "event_time": 1700000000,
                "authorizations": [
                    {"team_id": self.team_id, "user_id": self.fake.bot_user_id, "is_bot": True, "enterprise_id": None}
                ],
                "is_ext_shared_channel": False,
            }
        )

    async def event(
        self, event: dict[str, Any], *, event_id: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        return await self.post(self.event_body(event, event_id=event_id), "application/json", headers=headers)

    async def dm(self, user: str, text: str) -> tuple[int, str]:
        event = {
            "type": "message",
            "channel_type": "im",
            "channel": "D" + user.lstrip("U"),
            "user": user,
            "text": text,
            "ts": f"1700000001.{next(self._n):06d}",
            "team": self.team_id,
        }
        return await self.event(event)

    async def interactive(self, payload: dict[str, Any]) -> tuple[int, str]:
        from urllib.parse import urlencode

        return await self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    async def click(self, user: str, call: Call, label: str) -> tuple[int, str]:
        """Click the button labelled ``label`` (a prefix is enough) in the message ``call`` posted."""
        buttons = [b for b in call.buttons() if b["text"]["text"].startswith(label)]
        assert buttons, f"no button {label!r} in {[b['text']['text'] for b in call.buttons()]}"
        chosen = buttons[0]
        n = next(self._n)
        if call.method == "response_url":
            container = {
                "type": "message",
                "message_ts": f"1700000009.{n:06d}",
                "channel_id": "C0GENERAL",
                "is_ephemeral": True,
            }
            response_url = self.fake.response_url(call.args["hook"])
            channel = "C0GENERAL"
        else:
            channel = call.args["channel"]
            ts = call.args.get("ts") or call.result.get("ts")
            container = {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False}
            response_url = self.fake.response_url(f"click-{user}-{n}")
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "team_id": self.team_id},
            "api_app_id": self.fake.app_id,
            "token": "legacy",
            "container": container,
            "trigger_id": f"trigger-click-{n}",
            "team": {"id": self.team_id, "domain": "test"},
            "channel": {"id": channel, "name": "x"},
            "message": {"ts": container["message_ts"], "text": call.args.get("text", ""), "blocks": call.blocks()},
            "response_url": response_url,
            "actions": [
                {
                    "type": "button",
                    "action_id": chosen["action_id"],
                    "block_id": "b1",
                    "text": chosen["text"],
                    "value": chosen.get("value", ""),
                    "action_ts": "1700000010.000001",
                }
            ],
        }
        return await self.interactive(payload)

    async def submit_view(self, user: str, view: dict[str, Any], values: dict[str, str]) -> tuple[int, str]:
        """Submit the modal ``view`` (as sent to views.open) with plain-text ``values`` per block id."""
        state: dict[str, Any] = {"values": {}}
        for block in view.get("blocks", []):
            if block.get("type") != "input":
                continue
            element = block["element"]
            value = values.get(block["block_id"], element.get("initial_value"))
            state["values"][block["block_id"]] = {element["action_id"]: {"type": element["type"], "value": value}}
        payload = {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": "test"},
            "user": {"id": user, "username": user.lower(), "team_id": self.team_id},
            "api_app_id": self.fake.app_id,
            "token": "legacy",
            "trigger_id": f"trigger-view-{next(self._n)}",
            "view": {
                "id": "V123",
                "team_id": self.team_id,
                "type": "modal",
                "callback_id": view.get("callback_id", ""),
                "private_metadata": view.get("private_metadata", ""),
                "blocks": view.get("blocks", []),
                "state": state,
                "hash": "1.abc",
                "app_id": self.fake.app_id,
                "bot_id": self.fake.bot_id,
            },
            "response_urls": [],
        }
        return await self.interactive(payload)


@dataclass
class RunningBot:
    app: Any  # bot.app.App
    surface: Any  # bot.adapters.slack.app.SlackSurface
    base_url: str
    sender: SlackSender
    runner: web.AppRunner

    async def close(self) -> None:
        await self.runner.cleanup()


SIGNING_SECRET = "test-signing-secret"


async def start_bot(
    tmp_path: Any, fake: FakeSlackApi, *, overrides: dict[str, Any] | None = None, **env: str
) -> RunningBot:
    """The real aiohttp app of ``schedbot serve`` on a free loopback port, its Slack API pointed at ``fake``."""
    from bot.adapters.slack.app import SLACK_KEY
    from bot.app import build_app
    from bot.config import Settings
    from bot.server import make_web_app
    from storage.migrate import upgrade
    from storage.secrets import generate_key

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    values = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'slack.db'}",
        "SECRET_KEYS": generate_key(),
        "SCHEDBOT_DATA_DIR": str(tmp_path / "var"),
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_API_URL": fake.api_url,
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "PORT": str(port),
        **env,
    }
    values = {k: v for k, v in values.items() if v}
    settings = Settings.from_env(values)
    await asyncio.to_thread(upgrade, settings.database_url)
    app = build_app(settings, overrides=overrides)
    server = make_web_app(app)
    runner = web.AppRunner(server)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"
    return RunningBot(app, server[SLACK_KEY], base, SlackSender(f"{base}/slack/events", SIGNING_SECRET, fake), runner)
