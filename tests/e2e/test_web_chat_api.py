"""The web chat's JSON API over real HTTP (no browser): sessions, bad requests, replies as HTML, the inbox."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.adapters.web.chat import deliver_to_inbox
from bot.app import App, build_app
from bot.config import Settings
from bot.handlers.replies import Choice, Reply
from bot.server import make_web_app
from storage.migrate import upgrade
from storage.secrets import generate_key

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _serve(tmp_path: Path, **overrides: object) -> tuple[str, App, web.AppRunner]:
    db = f"sqlite:///{tmp_path / 'chat.db'}"
    await asyncio.to_thread(upgrade, db)
    port = _free_port()
    settings = Settings(database_url=db, port=port, data_dir=tmp_path, demo=True, secret_keys=(generate_key(),))
    app = build_app(settings, overrides={"clock": lambda: NOW, **overrides})
    runner = web.AppRunner(make_web_app(app))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return f"http://127.0.0.1:{port}", app, runner


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[str, App]]:
    url, app, runner = await _serve(tmp_path)
    yield url, app
    await runner.cleanup()


async def _signed_in(url: str, email: str = "ann@example.com") -> aiohttp.ClientSession:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # cookies for 127.0.0.1
    async with http.post(f"{url}/chat/start", data={"name": "Ann", "email": email, "tz": "Europe/London"}) as r:
        assert r.status == 200 and "chat-input" in await r.text()
    return http


async def _signed_in_as(url: str, app: App, person_id: str, *, open_page: bool = True) -> aiohttp.ClientSession:
    """Sign in through the signed link, the only way into an existing person's chat."""
    from bot.adapters.web.links import signin_link

    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    query = signin_link(person_id, settings=app.settings, now=app.clock()).split("?", 1)[1]
    async with http.get(f"{url}/chat/signin?{query}", allow_redirects=open_page) as r:
        if open_page:
            assert r.status == 200 and "chat-input" in await r.text()
        else:
            assert r.status == 303
    return http


async def test_typing_a_coachs_email_does_not_make_you_the_coach(server: tuple[str, App]) -> None:
    url, app = server
    await deliver_to_inbox(app, "demo-dana", [Reply("For Dana only")])
    impostor = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with impostor:
        form = {"name": "Dana", "email": "dana@example.invalid", "tz": "Europe/Berlin"}
        async with impostor.post(f"{url}/chat/start", data=form) as r:
            assert r.status == 200 and "chat-input" in await r.text()
            assert "For Dana only" not in await r.text()
        async with impostor.get(f"{url}/api/inbox") as r:
            assert (await r.json())["messages"] == []
        # signing in again on the same browser is the same person (not a new one each time, and not Dana)
        async with impostor.post(f"{url}/chat/start", data=form) as r:
            assert r.status == 200
    web_people = await asyncio.to_thread(app.storage.people.by_name, "Dana")
    assert len([p for p in web_people if p.id != "demo-dana"]) == 1
    # a forged or expired sign-in link is refused
    from bot.adapters.web.links import signin_link

    async with aiohttp.ClientSession() as http:
        async with http.get(f"{url}/chat/signin?token=forged") as r:
            assert r.status == 403
        old = signin_link("demo-dana", settings=app.settings, now=app.clock() - timedelta(days=2))
        async with http.get(f"{url}/chat/signin?" + old.split("?", 1)[1]) as r:
            assert r.status == 403 and "expired" in await r.text()
    dana = await _signed_in_as(url, app, "demo-dana", open_page=False)
    async with dana, dana.get(f"{url}/api/inbox") as r:
        assert [m for m in (await r.json())["messages"] if "For Dana only" in m]


async def test_chat_api_refuses_what_it_cannot_read(server: tuple[str, App]) -> None:
    url, _ = server
    async with aiohttp.ClientSession() as anonymous, anonymous.post(f"{url}/api/chat", json={"text": "hi"}) as r:
        assert r.status == 401
    http = await _signed_in(url)
    async with http:
        async with http.post(f"{url}/api/chat", data={"text": "hi"}) as r:  # a plain form post (another site)
            assert r.status == 415
        for body in ([1, 2], {"nothing": 1}, {"text": 5}, {"form_id": "x", "values": {"a": 1}}, {"text": "x" * 3000}):
            async with http.post(f"{url}/api/chat", json=body) as r:
                assert r.status == 400, body
                assert (await r.json())["error"]
        async with http.post(f"{url}/api/chat", data=b"{not json", headers={"Content-Type": "application/json"}) as r:
            assert r.status == 400


async def test_chat_api_answers_with_html_fragments_and_keeps_others_messages_in_their_inbox(
    server: tuple[str, App],
) -> None:
    url, app = server
    http = await _signed_in(url)
    async with http:
        async with http.post(f"{url}/api/chat", json={"text": "help"}) as r:
            assert r.status == 200
            replies = (await r.json())["replies"]
        assert replies and replies[0]["html"].startswith(f'<div class="msg bot" id="{replies[0]["id"]}">')
        assert replies[0]["replace"] is False
    # a forged cookie is no session
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), cookies={"schedbot_web": "x.y"}) as forged,
        forged.post(f"{url}/api/chat", json={"text": "help"}) as r,
    ):
        assert r.status == 401

    await deliver_to_inbox(app, "demo-dana", [Reply("New <session>", choices=(Choice("OK", "x.ok", "1"),))])
    dana = await _signed_in_as(url, app, "demo-dana")
    async with dana, dana.get(f"{url}/api/inbox") as r:
        assert (await r.json())["messages"] == []  # shown on the page when she opened the chat, then cleared
    await deliver_to_inbox(app, "demo-dana", [Reply("Another")])
    dana = await _signed_in_as(url, app, "demo-dana")
    async with dana, dana.get(f"{url}/api/inbox") as r:
        assert (await r.json())["messages"] == []
    await deliver_to_inbox(app, "demo-dana", [Reply("Third & last")])
    http2 = await _signed_in_as(url, app, "demo-dana", open_page=False)
    async with http2:
        async with http2.get(f"{url}/api/inbox") as r:
            messages = (await r.json())["messages"]
        assert len(messages) == 1 and "Third &amp; last" in messages[0]


async def test_without_a_conversation_the_chat_says_so(tmp_path: Path) -> None:
    class NoConversation:
        async def handle(self, asker: object, incoming: object) -> list[Reply]:
            return [Reply("not here", to="someone-else"), Reply("for you", replace=True)]

    url, app, runner = await _serve(tmp_path, conversation=NoConversation())
    try:
        http = await _signed_in(url)
        async with http, http.post(f"{url}/api/chat", json={"action": "book.pick", "value": "s:1"}) as r:
            replies = (await r.json())["replies"]
        assert [("for you" in x["html"], x["replace"]) for x in replies] == [(True, True)]
        app.conversation = None  # type: ignore[assignment]
        http = await _signed_in(url)
        async with http, http.post(f"{url}/api/chat", json={"text": "hi"}) as r:
            replies = (await r.json())["replies"]
        assert "not available" in replies[0]["html"]
    finally:
        await runner.cleanup()


async def test_a_coach_gets_a_working_settings_link_in_chat(server: tuple[str, App]) -> None:
    import html as html_lib
    import re

    url, app = server
    dana = await _signed_in_as(url, app, "demo-dana", open_page=False)
    async with dana:
        async with dana.post(f"{url}/api/chat", json={"text": "show my settings"}) as r:
            shown = " ".join(x["html"] for x in (await r.json())["replies"])
        assert "Your settings (Europe/Berlin)" in shown
        found = re.search(r"(http://[^\s\"<]+/settings\?token=[^\s\"<]+)", html_lib.unescape(shown))
        assert found, shown
        link = found.group(1)
    async with aiohttp.ClientSession() as http, http.get(link.replace(link.split("/settings")[0], url)) as r:
        assert r.status == 200 and "Monday" in await r.text()
