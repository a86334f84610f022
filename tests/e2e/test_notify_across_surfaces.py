"""Messages reach people where they are: a Slack coach booked from the web chat gets a Slack DM; a web-only coach
booked from Slack finds the message in the web chat inbox.  Real server, real HTTP, the loopback fake Slack API."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from bot.handlers.people import person_for
from bot.handlers.replies import Action, Asker, Message, Reply
from bot.scheduling.model import CoachSettings, Identity
from tests.fakes.slack_api import FakeSlackApi, RunningBot, start_bot

NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # a Monday, 08:00 in Berlin
COACH, ANN = "UCOACH1", "UANN1"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlackApi]:
    api = await FakeSlackApi().start()
    api.add_user(COACH, "Dana Coach", tz="Europe/Berlin")
    api.add_user(ANN, "Ann Lee", tz="America/New_York")
    yield api
    await api.close()


@pytest.fixture
async def bot(tmp_path: Path, fake: FakeSlackApi) -> AsyncIterator[RunningBot]:
    running = await start_bot(tmp_path, fake, overrides={"clock": lambda: NOW}, SCHEDBOT_DEMO="1")
    yield running
    await running.surface.drain()
    await running.close()


def dms_to(fake: FakeSlackApi, user: str) -> list[str]:
    channel = "D" + user.lstrip("U")
    return [c.text for c in fake.of("chat.postMessage") if c.args.get("channel") == channel]


async def test_the_notifier_prefers_slack_and_falls_back_to_the_web_inbox(bot: RunningBot, fake: FakeSlackApi) -> None:
    from bot.adapters.web.chat import take_inbox

    app = bot.app
    dana = await person_for(app.storage, Identity("slack", COACH, "T0001"), display_name="Dana", timezone="UTC")
    assert await app.notifier.notify(dana.id, [Reply("Your calendar needs reconnecting")]) == "slack"
    [sent] = dms_to(fake, COACH)
    assert "Your calendar needs reconnecting" in sent
    assert await app.notifier.notify("demo-dana", [Reply("For the demo coach")]) == "web"
    assert any("For the demo coach" in html for html in await take_inbox(app, "demo-dana"))


async def test_web_visitor_books_a_slack_coach_who_gets_a_slack_dm(bot: RunningBot, fake: FakeSlackApi) -> None:
    app = bot.app
    coach = await person_for(
        app.storage, Identity("slack", COACH, "T0001"), display_name="Dana Coach", timezone="Europe/Berlin"
    )
    await asyncio.to_thread(app.storage.coach_settings.save_settings, coach.id, CoachSettings(timezone="Europe/Berlin"))
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as web:
        form = {"name": "Vic Visitor", "email": "vic@example.com", "tz": "Europe/London"}
        async with web.post(f"{bot.base_url}/chat/start", data=form) as r:
            assert r.status == 200

        async def say(body: dict[str, object]) -> list[dict[str, object]]:
            async with web.post(f"{bot.base_url}/api/chat", json=body) as r:
                assert r.status == 200
                return list((await r.json())["replies"])

        offer = await say({"text": "book 30 min with Dana Coach tomorrow"})
        html = str(offer[0]["html"])
        assert "Pick one" in html or "Tue 3 Mar" in html
        actions = re.findall(r'data-action="([^"]+)" data-value="([^"]+)"', html)
        pick = next((a, v) for a, v in actions if a == "book.pick")
        confirm_html = str((await say({"action": pick[0], "value": pick[1]}))[0]["html"])
        confirm = next(
            (a, v) for a, v in re.findall(r'data-action="([^"]+)" data-value="([^"]+)"', confirm_html) if "confirm" in a
        )
        booked = await say({"action": confirm[0], "value": confirm[1]})
        assert "Booked" in str(booked[0]["html"])
    # the coach uses Slack, so the "new session" message is a Slack DM, not a web inbox entry
    await fake.wait_for(lambda calls: dms_to(fake, COACH))
    assert any("New session booked" in text and "Vic Visitor" in text for text in dms_to(fake, COACH))


async def test_slack_user_books_the_web_only_demo_coach_whose_message_waits_in_the_web_inbox(
    bot: RunningBot, fake: FakeSlackApi
) -> None:
    from bot.adapters.web.chat import take_inbox

    ann = await person_for(bot.app.storage, Identity("slack", ANN, "T0001"), display_name="Ann Lee",
                           timezone="America/New_York")
    offer = await bot.app.conversation.handle(_asker(ann.id), Message("book 30 min with dana on wednesday"))
    assert offer and offer[0].choices
    # walk the flow: pick the first time, confirm
    pick = offer[0].choices[0]
    confirm_step = await bot.app.conversation.handle(_asker(ann.id), Action(pick.action, pick.value))
    confirm = next(c for c in confirm_step[0].choices if "confirm" in c.action)
    replies = await bot.app.conversation.handle(_asker(ann.id), Action(confirm.action, confirm.value))
    to_coach = [r for r in replies if r.to == "demo-dana"]
    assert to_coach
    # deliver the replies the way the Slack adapter does
    from bot.adapters.slack.app import Where

    where = Where(team_id="T0001", user_id=ANN, channel="DANN1")
    await bot.surface.deliver(bot.surface.client, where, replies, asker_id=ann.id)
    inbox = await take_inbox(bot.app, "demo-dana")
    assert any("New session booked" in html for html in inbox)
    assert dms_to(fake, ANN)  # Ann's own confirmation is a Slack DM


def _asker(person_id: str) -> Asker:
    return Asker(person_id=person_id, display_name="Ann Lee", timezone="America/New_York", surface="slack",
                 tenant="T0001")
