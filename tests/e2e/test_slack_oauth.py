"""Multi-workspace install: /slack/install redirects to Slack's consent page, /slack/oauth_redirect exchanges the
code (oauth.v2.access on the fake) and keeps the installation in our database; that workspace's token is used."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from sqlalchemy import text

from tests.fakes.slack_api import FakeSlackApi, RunningBot, start_bot


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlackApi]:
    api = await FakeSlackApi(team_id="T0002").start()
    api.add_user("UINSTALLER", "Ines Installer", tz="Europe/Paris")
    yield api
    await api.close()


@pytest.fixture
async def bot(tmp_path: Path, fake: FakeSlackApi) -> AsyncIterator[RunningBot]:
    running = await start_bot(
        tmp_path, fake, SLACK_BOT_TOKEN="", SLACK_CLIENT_ID="111.222", SLACK_CLIENT_SECRET="client-secret"
    )
    running.sender.team_id = "T0002"
    yield running
    await running.surface.drain()
    await running.close()


async def test_install_redirect_and_callback_store_the_installation(bot: RunningBot, fake: FakeSlackApi) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{bot.base_url}/slack/install", allow_redirects=False) as response:
            assert response.status == 302
            location = response.headers["Location"]
            cookie = response.headers["Set-Cookie"].split(";", 1)[0]
        consent = urlsplit(location)
        assert f"{consent.scheme}://{consent.netloc}" == fake.base_url and consent.path == "/oauth/v2/authorize"
        query = parse_qs(consent.query)
        assert query["client_id"] == ["111.222"]
        assert "commands" in query["scope"][0].split(",") and "chat:write" in query["scope"][0].split(",")
        assert query["redirect_uri"] == [f"{bot.base_url}/slack/oauth_redirect"]
        state = query["state"][0]

        fake.add_oauth_code(
            "code-1", team_id="T0002", team_name="Second", bot_token="xoxb-second", user_id="UINSTALLER"
        )
        # a callback with a forged state is refused and stores nothing
        forged = f"{bot.base_url}/slack/oauth_redirect?code=code-1&state=forged"
        async with session.get(forged, headers={"Cookie": cookie}) as response:
            assert response.status >= 400
        callback = f"{bot.base_url}/slack/oauth_redirect?code=code-1&state={state}"
        async with session.get(callback, headers={"Cookie": cookie}) as response:
            assert response.status == 200, await response.text()

    exchange = fake.of("oauth.v2.access")
    assert len(exchange) == 1 and exchange[0].args["code"] == "code-1"
    engine = bot.app.storage.engine

    def rows() -> list[tuple[str, str, str]]:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text("SELECT team_id, bot_token, user_id FROM slack_installations"))]

    assert await asyncio.to_thread(rows) == [("T0002", "xoxb-second", "UINSTALLER")]

    # requests from that workspace now run with its token
    status, _ = await bot.sender.command("UINSTALLER", "/sched", "help")
    assert status == 200
    answered = await fake.wait_for(lambda calls: fake.of("users.info"))
    assert answered[0].token == "xoxb-second"
    await fake.wait_for(lambda calls: [c for c in calls if c.method == "response_url" and "what I can do" in c.text])
