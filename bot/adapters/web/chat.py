"""The web chat: GET / (sign in with name, email and zone; then chat), POST /api/chat (JSON), GET /api/inbox.

A visitor is ``Identity(surface="web", external_id="browser:<random id>")``: the browser, not the e-mail address
they type, because nothing verifies that address (typing a coach's address must not make you the coach).  A
long-lived cookie keeps the browser id, so signing in again on the same browser is the same person; a signed
session cookie remembers who is signed in.  Existing people (a coach set up in Slack, the demo coach) get into the
web chat only through a signed, expiring sign-in link (``links.signin_link``).  What they type or
click goes to ``App.conversation.handle`` exactly as Slack's does; replies come back as HTML fragments rendered by
``render.render_reply``.  A reply addressed to someone else (``Reply.to``) waits in that person's web inbox
(conversation state ``web-inbox:<person id>``) and is shown when they next open the chat.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
import weakref
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.adapters.web import links
from bot.adapters.web.pages import check_email, check_name, check_zone, get_app, page
from bot.adapters.web.render import render_reply
from bot.handlers.people import person_for
from bot.handlers.replies import Action, Asker, FormSubmit, Incoming, Message, Reply
from bot.scheduling.model import Identity

if TYPE_CHECKING:
    from bot.app import App

__all__ = ["COOKIE", "deliver_to_inbox", "register", "take_inbox"]

COOKIE = "schedbot_web"
BROWSER_COOKIE = "schedbot_browser"
INBOX_TTL = timedelta(days=30)
_MAX_TEXT = 2000
_MAX_INBOX = 50
_inbox_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _inbox_lock() -> asyncio.Lock:
    """One lock per event loop: inbox updates are read-modify-write on one state row."""
    loop = asyncio.get_running_loop()
    lock = _inbox_locks.get(loop)
    if lock is None:
        lock = _inbox_locks[loop] = asyncio.Lock()
    return lock


_NO_CONVERSATION = Reply(
    "The chat is not available on this server yet. You can still book a coach on their page, e.g. /book/dana."
)


def _session(request: web.Request) -> links.WebSession | None:
    return links.read_session(request.cookies.get(COOKIE), settings=get_app(request).settings)


def _message_id() -> str:
    return f"m-{uuid.uuid4().hex[:12]}"


# --- inbox ----------------------------------------------------------------------------------------------------


def _inbox_key(person_id: str) -> str:
    return f"web-inbox:{person_id}"


async def deliver_to_inbox(app: App, person_id: str, replies: list[Reply]) -> None:
    """Keep replies for ``person_id`` until they open the web chat."""
    if not replies:
        return
    repo = app.storage.conversations
    async with _inbox_lock():
        now = app.clock()
        state = await asyncio.to_thread(repo.load_state, _inbox_key(person_id), now=now) or {}
        items: list[Any] = list(state.get("items", []))
        for reply in replies:
            items.append({"html": str(render_reply(reply, message_id=_message_id())), "at": now.isoformat()})
        await asyncio.to_thread(
            repo.save_state, _inbox_key(person_id), {"items": items[-_MAX_INBOX:]}, expires_at=now + INBOX_TTL
        )


async def take_inbox(app: App, person_id: str) -> list[str]:
    """The waiting messages (HTML), removed from the inbox."""
    repo = app.storage.conversations
    async with _inbox_lock():
        state = await asyncio.to_thread(repo.load_state, _inbox_key(person_id), now=app.clock())
        if not state:
            return []
        await asyncio.to_thread(repo.delete_state, _inbox_key(person_id))
    return [str(item["html"]) for item in state.get("items", []) if isinstance(item, dict)]


# --- pages ----------------------------------------------------------------------------------------------------


def _signin_page(values: dict[str, str], errors: dict[str, str], *, status: int = 200) -> web.Response:
    return page("chat_signin.html", status=status, values=values, errors=errors)


async def chat_page(request: web.Request) -> web.Response:
    app = get_app(request)
    session = _session(request)
    person = await asyncio.to_thread(app.storage.people.get, session.person_id) if session else None
    if session is None or person is None:
        return _signin_page({}, {})
    inbox = await take_inbox(app, person.id)
    welcome = render_reply(
        Reply(
            f"Hi {session.display_name}! Tell me what you need, e.g. "
            "\u201cbook 30 min with dana tomorrow afternoon\u201d or \u201chelp\u201d."
        ),
        message_id=_message_id(),
    )
    return page("chat.html", session=session, welcome=welcome, inbox=inbox, available=_conversation(app) is not None)


async def chat_start(request: web.Request) -> web.Response:
    app = get_app(request)
    form = await request.post()
    values = {k: str(form.get(k, "")).strip() for k in ("name", "email", "tz")}
    values["tz"] = values["tz"] or "UTC"
    errors = {"name": check_name(values["name"]), "email": check_email(values["email"]), "tz": check_zone(values["tz"])}
    errors = {k: v for k, v in errors.items() if v}
    if errors:
        return _signin_page(values, errors, status=400)
    browser = request.cookies.get(BROWSER_COOKIE, "")
    if not (16 <= len(browser) <= 64 and browser.replace("-", "").replace("_", "").isalnum()):
        browser = secrets.token_urlsafe(18)
    person = await person_for(
        app.storage,
        Identity(surface="web", external_id=f"browser:{browser}"),
        display_name=values["name"],
        timezone=values["tz"],
        email=values["email"],
    )
    session = links.WebSession(person.id, values["name"], values["tz"])
    response = web.HTTPSeeOther("/")
    response.set_cookie(
        BROWSER_COOKIE,
        browser,
        max_age=int(timedelta(days=365).total_seconds()),
        httponly=True,
        samesite="Lax",
        path="/",
    )
    _set_session(response, session, app)
    raise response


async def chat_signin_link(request: web.Request) -> web.Response:
    """GET /chat/signin?token=...: open the chat as the person the signed link was made for."""
    app = get_app(request)
    try:
        person_id = links.read_signin_token(request.query.get("token", ""), settings=app.settings, now=app.clock())
    except links.BadLink as exc:
        return page("message.html", title="Link not valid", heading="Link not valid", message=str(exc), status=403)
    person = await asyncio.to_thread(app.storage.people.get, person_id)
    if person is None:
        return page(
            "message.html",
            title="Link not valid",
            heading="Link not valid",
            message="This link is not valid.",
            status=403,
        )
    response = web.HTTPSeeOther("/")
    _set_session(response, links.WebSession(person.id, person.display_name, person.timezone), app)
    raise response


def _set_session(response: web.StreamResponse, session: links.WebSession, app: App) -> None:
    response.set_cookie(
        COOKIE,
        links.session_cookie(session, settings=app.settings),
        max_age=int(timedelta(days=30).total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=bool(app.settings.public_url and app.settings.public_url.startswith("https://")),
        path="/",
    )


async def chat_signout(request: web.Request) -> web.Response:
    response = web.HTTPSeeOther("/")
    response.del_cookie(COOKIE, path="/")
    raise response


# --- the JSON API ---------------------------------------------------------------------------------------------


def _conversation(app: App) -> Any:
    return getattr(app, "conversation", None)


def _incoming(body: object) -> Incoming | str:
    """The request body as an ``Incoming``, or what is wrong with it."""
    if not isinstance(body, dict):
        return "expected a JSON object"
    if "text" in body:
        text = body["text"]
        if not isinstance(text, str):
            return "text must be a string"
        if len(text) > _MAX_TEXT:
            return f"that message is too long (at most {_MAX_TEXT} characters)"
        return Message(text)
    if "action" in body:
        action, value = body.get("action"), body.get("value", "")
        if not isinstance(action, str) or not isinstance(value, str) or not action:
            return "action and value must be strings"
        return Action(action, value)
    if "form_id" in body:
        form_id, values = body.get("form_id"), body.get("values", {})
        if not isinstance(form_id, str) or not isinstance(values, dict):
            return "form_id must be a string and values an object"
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in values.items()):
            return "form values must be strings"
        return FormSubmit(form_id, dict(values))
    return "expected text, action or form_id"


async def api_chat(request: web.Request) -> web.Response:
    app = get_app(request)
    session = _session(request)
    if session is None:
        return web.json_response({"error": "Please sign in again."}, status=401)
    if request.content_type != "application/json":  # also keeps other sites' plain form posts out
        return web.json_response({"error": "Send JSON (Content-Type: application/json)."}, status=415)
    try:
        body = await request.json()
    except ValueError:
        return web.json_response({"error": "That request was not valid JSON."}, status=400)
    incoming = _incoming(body)
    if isinstance(incoming, str):
        return web.json_response({"error": incoming}, status=400)
    asker = Asker(
        person_id=session.person_id, display_name=session.display_name, timezone=session.timezone, surface="web"
    )
    conversation = _conversation(app)
    replies: list[Reply] = [_NO_CONVERSATION] if conversation is None else await conversation.handle(asker, incoming)
    mine: list[dict[str, Any]] = []
    others: dict[str, list[Reply]] = {}
    for reply in replies:
        if reply.to and reply.to != asker.person_id:
            others.setdefault(reply.to, []).append(reply)
            continue
        message_id = _message_id()
        html = str(render_reply(reply, message_id=message_id))
        mine.append({"id": message_id, "html": html, "replace": reply.replace})
    notifier = getattr(app, "notifier", None)
    for person_id, theirs in others.items():  # on Slack when they use it, else their inbox here
        if notifier is not None:
            await notifier.notify(person_id, theirs)
        else:
            await deliver_to_inbox(app, person_id, theirs)
    return web.json_response({"replies": mine}, headers={"Cache-Control": "no-store"})


async def api_inbox(request: web.Request) -> web.Response:
    session = _session(request)
    if session is None:
        return web.json_response({"error": "Please sign in again."}, status=401)
    items = await take_inbox(get_app(request), session.person_id)
    return web.json_response({"messages": items}, headers={"Cache-Control": "no-store"})


def register(server: web.Application) -> None:
    server.router.add_get("/", chat_page)
    server.router.add_post("/chat/start", chat_start)
    server.router.add_post("/chat/signout", chat_signout)
    server.router.add_get("/chat/signin", chat_signin_link)
    server.router.add_post("/api/chat", api_chat)
    server.router.add_get("/api/inbox", api_inbox)
