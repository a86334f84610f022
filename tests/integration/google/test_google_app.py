"""The whole Google connection through the app: chat link -> Google consent (fake) -> web callback -> account."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.app import build_app
from bot.config import Settings
from bot.scheduling.model import Person
from bot.server import make_web_app
from storage.secrets import generate_key
from tests.fakes.google_api import FakeGoogle


async def test_connect_google_from_chat_to_callback(
    fake: FakeGoogle, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the fake token endpoint is plain http
    settings = dataclasses.replace(settings, secret_keys=(generate_key(),), data_dir=tmp_path)
    app = build_app(settings)
    server = make_web_app(app)
    runner = web.AppRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        from storage.migrate import upgrade

        upgrade(app.storage.engine)
        app.storage.people.add(Person(id="dana", display_name="Dana", timezone="Europe/Berlin"))
        fake.add_calendar("dana@example.com", "Dana", primary=True)
        assert app.google is not None

        replies = await app.conversation.connector.start("dana", "google")
        link = re.search(r"https://accounts\.google\.com/\S+", replies[0].text)
        assert link and replies[0].private
        code, state = fake.consent(link.group(0), principal="dana@example.com")

        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/oauth/google/callback"
            async with session.get(url, params={"state": state, "code": code}) as resp:
                body = await resp.text()
                assert resp.status == 200, body
                assert "dana@example.com" in body
            async with session.get(url, params={"state": state, "code": code}) as resp:
                assert resp.status == 400  # used once only
        [account] = app.storage.calendars.accounts_for_person("dana")
        assert account.provider == "google" and account.display_name == "dana@example.com"
        assert [c.name for c in app.storage.calendars.calendars_for_account(account.id)] == ["Dana"]
    finally:
        await runner.cleanup()
