"""The whole Google connection through the app: chat link -> Google consent (fake) -> web callback -> account."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import aiohttp
import pytest
from aiohttp import web

from bot.adapters.web.links import signin_link
from bot.app import build_app
from bot.config import Settings
from bot.handlers.replies import Action, Asker, Message
from bot.scheduling.model import Person
from bot.server import make_web_app
from storage.secrets import generate_key
from tests.fakes.google_api import FakeGoogle


@dataclasses.dataclass
class Served:
    app: Any
    base: str  # http://127.0.0.1:<port>
    settings: Settings


@pytest.fixture
async def served(
    fake: FakeGoogle, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Served]:
    """The whole app on a loopback port, Google pointed at the fake, with Dana (Europe/Berlin) in its database."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the fake token endpoint is plain http
    settings = dataclasses.replace(settings, secret_keys=(generate_key(),), data_dir=tmp_path)
    app = build_app(settings)
    runner = web.AppRunner(make_web_app(app))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        from storage.migrate import upgrade

        upgrade(app.storage.engine)
        app.storage.people.add(Person(id="dana", display_name="Dana", timezone="Europe/Berlin"))
        yield Served(app, f"http://127.0.0.1:{port}", settings)
    finally:
        await runner.cleanup()


async def test_connect_google_from_chat_to_callback(fake: FakeGoogle, served: Served) -> None:
    app = served.app
    fake.add_calendar("dana@example.com", "Dana", primary=True)
    assert app.google is not None

    replies = await app.conversation.connector.start("dana", "google")
    link = re.search(r"https://accounts\.google\.com/\S+", replies[0].text)
    assert link and replies[0].private
    code, state = fake.consent(link.group(0), principal="dana@example.com")

    async with aiohttp.ClientSession() as session:
        url = f"{served.base}/oauth/google/callback"
        async with session.get(url, params={"state": state, "code": code}) as resp:
            body = await resp.text()
            assert resp.status == 200, body
            assert "dana@example.com" in body
        async with session.get(url, params={"state": state, "code": code}) as resp:
            assert resp.status == 400  # used once only
    [account] = app.storage.calendars.accounts_for_person("dana")
    assert account.provider == "google" and account.display_name == "dana@example.com"
    assert [c.name for c in app.storage.calendars.calendars_for_account(account.id)] == ["Dana"]


async def test_after_google_sign_in_the_pick_form_arrives_in_the_web_chat(fake: FakeGoogle, served: Served) -> None:
    """Callback page -> the pick form waits in Dana's web chat -> she answers it there -> busy and push saved.
    Until she answers, her own calendars count as busy and the read-only holidays calendar does not."""
    app, base, settings = served.app, served.base, served.settings
    fake.add_calendar("dana@example.com", "Dana", primary=True)
    fake.add_calendar("team@example.com", "Team", access_role="writer")
    fake.add_calendar("holidays@example.com", "Holidays in Germany", access_role="reader")
    replies = await app.conversation.connector.start("dana", "google")
    link = re.search(r"https://accounts\.google\.com/\S+", replies[0].text)
    assert link
    code, state = fake.consent(link.group(0), principal="dana@example.com")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(f"{base}/oauth/google/callback", params={"state": state, "code": code}) as resp:
            body = await resp.text()
            assert resp.status == 200, body
            assert "sent you a message in the web chat" in body

        repo = app.storage.calendars
        [account] = repo.accounts_for_person("dana")
        by_name = {c.name: c for c in repo.calendars_for_account(account.id)}
        assert {c.name for c in repo.calendars_for_person("dana", pull_only=True)} == {"Dana", "Team"}

        token = signin_link("dana", settings=settings).split("token=", 1)[1]
        signin = session.get(f"{base}/chat/signin", params={"token": unquote(token)}, allow_redirects=False)
        async with signin as resp:  # the chat page itself would show (and take) the inbox: read it by API
            assert resp.status in (302, 303)
        async with session.get(f"{base}/api/inbox") as resp:
            [html] = (await resp.json())["messages"]
        form_id = re.search(r'data-form-id="([^"]+)"', html)
        assert form_id and form_id.group(1) == f"connect:pick:{account.id}"
        assert "Holidays in Germany" in html and "Which calendar receives new bookings?" in html
        values = {"busy": f"{by_name['Dana'].id},{by_name['Holidays in Germany'].id}", "push": by_name["Dana"].id}
        async with session.post(f"{base}/api/chat", json={"form_id": form_id.group(1), "values": values}) as resp:
            [reply] = (await resp.json())["replies"]
        assert "Busy time comes from: Dana, Holidays in Germany." in reply["html"]
        assert "New bookings go into Dana." in reply["html"]
    assert {c.name for c in repo.calendars_for_person("dana", pull_only=True)} == {"Dana", "Holidays in Germany"}
    assert repo.push_calendar("dana").id == by_name["Dana"].id

    # later, in chat: "my calendars" says what counts, and a button reopens the form with new calendars listed
    dana = Asker("dana", "Dana", timezone="Europe/Berlin", surface="web")
    [summary] = await app.conversation.handle(dana, Message("show my calendars"))
    assert "Google Calendar (dana@example.com): synced" in summary.text
    assert "Busy from: Dana, Holidays in Germany. New bookings go into Dana." in summary.text
    change = next(c for c in summary.choices if c.label.startswith("Change Google Calendar"))
    fake.add_calendar("side@example.com", "Side project", access_role="owner")
    [again] = await app.conversation.handle(dana, Action(change.action, change.value))
    assert again.form is not None and again.form.id == f"connect:pick:{account.id}"
    busy = again.form.fields[0]
    labels = {o.value: o.label for o in busy.options}
    assert {labels[v] for v in busy.value.split(",")} == {"Dana", "Holidays in Germany", "Side project"}
    [strangers] = await app.conversation.handle(
        Asker("eve", "Eve", surface="web"), Action(change.action, change.value)
    )
    assert strangers.form is None and "expired" in strangers.text
