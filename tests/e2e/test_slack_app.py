"""The Slack app end to end: the real aiohttp server on a free port, signed requests as Slack sends them, and a
loopback fake of the Slack Web API recording what the bot says (tests/fakes/slack_api.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.scheduling.intervals import Interval
from bot.scheduling.model import BusyEvent, CoachSettings, Identity
from tests.fakes.slack_api import Call, FakeSlackApi, RunningBot, start_bot

NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # a Monday, 08:00 in Berlin
COACH, ANN = "UCOACH1", "UANN1"


class ControlledBusySource:
    """Calendars: free, except that the coach's calendar can be made to hang until the test releases it."""

    def __init__(self, hang_for: str | None = None) -> None:
        self.hang_for = hang_for
        self.release = asyncio.Event()
        self.entered = asyncio.Event()
        self.started = 0
        self.finished = 0

    async def busy(self, person_id: str, window: Interval) -> list[BusyEvent]:
        if person_id != self.hang_for:
            return []
        self.started += 1
        self.entered.set()
        try:
            await self.release.wait()
            return []
        finally:
            self.finished += 1


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlackApi]:
    api = await FakeSlackApi().start()
    api.add_user(COACH, "Dana Coach", tz="Europe/Berlin", email="dana@example.com")
    api.add_user(ANN, "Ann Lee", tz="America/New_York")
    yield api
    await api.close()


@pytest.fixture
def busy() -> ControlledBusySource:
    return ControlledBusySource()


@pytest.fixture
async def bot(tmp_path: Path, fake: FakeSlackApi, busy: ControlledBusySource) -> AsyncIterator[RunningBot]:
    running = await start_bot(tmp_path, fake, overrides={"clock": lambda: NOW, "busy_source": busy})
    yield running
    busy.release.set()
    await running.surface.drain()
    await running.close()


def texts(calls: list[Call]) -> list[str]:
    return [c.text for c in calls]


async def coach_with_hours(bot: RunningBot) -> str:
    """Dana becomes a coach (Mon-Fri 09:00-17:00 Berlin) and Ann is known: both have written to the bot once."""
    from bot.handlers.people import person_for

    storage = bot.app.storage
    coach = await person_for(
        storage, Identity("slack", COACH, "T0001"), display_name="Dana Coach", timezone="Europe/Berlin"
    )
    await person_for(storage, Identity("slack", ANN, "T0001"), display_name="Ann Lee", timezone="America/New_York")
    await asyncio.to_thread(storage.coach_settings.save_settings, coach.id, CoachSettings(timezone="Europe/Berlin"))
    return coach.id


def last_with_buttons(calls: list[Call], *, hook_prefix: str | None = None) -> Call:
    found = [
        c for c in calls if c.buttons() and (hook_prefix is None or c.args.get("hook", "").startswith(hook_prefix))
    ]
    assert found, f"no message with buttons among {texts(calls)}"
    return found[-1]


# ------------------------------------------------------------------------------------------------- tests


async def test_a_dm_is_answered_in_the_dm(bot: RunningBot, fake: FakeSlackApi) -> None:
    status, _ = await bot.sender.dm(ANN, "help")
    assert status == 200
    posted = await fake.wait_for(
        lambda calls: [
            c
            for c in calls
            if c.method in ("chat.postMessage", "chat.update") and c.args.get("channel") == "DANN1" and "book" in c.text
        ]
    )
    assert "Here's what I can do" in posted[-1].text
    assert fake.of("users.info")[0].args["user"] == ANN


def _for(fake_calls: list[Call], hook_prefix: str) -> list[Call]:
    return [c for c in fake_calls if c.method == "response_url" and c.args["hook"].startswith(hook_prefix)]


def dms_to(calls: list[Call], user: str) -> list[Call]:
    channel = "D" + user.lstrip("U")
    return [c for c in calls if c.method == "chat.postMessage" and c.status == 200 and c.args.get("channel") == channel]


async def test_book_by_slash_command_click_confirm_and_both_sides_get_a_dm(bot: RunningBot, fake: FakeSlackApi) -> None:
    await coach_with_hours(bot)
    status, body = await bot.sender.command(ANN, "/book", f"30 min with <@{COACH}> tomorrow")
    assert (status, body) == (200, "")  # acknowledged at once; the answer comes through response_url

    offer = await fake.wait_for(lambda calls: [c for c in _for(calls, f"cmd-{ANN}") if c.buttons()])
    offer_call = offer[-1]
    labels = [b["text"]["text"] for b in offer_call.buttons()]
    assert "Show more times" in labels and len(labels) >= 2
    action_ids = [b["action_id"] for b in offer_call.buttons()]
    assert len(set(action_ids)) == len(action_ids)  # unique within the message
    assert offer_call.args.get("response_type") == "ephemeral"
    assert "Tue 3 Mar" in offer_call.text or "Tue 3 Mar" in " ".join(labels)

    await bot.sender.click(ANN, offer_call, labels[0])
    confirm = await fake.wait_for(
        lambda calls: [c for c in _for(calls, f"cmd-{ANN}") if any(b["text"]["text"] == "Confirm" for b in c.buttons())]
    )
    assert confirm[-1].args.get("replace_original") is True  # the clicked message is replaced in place

    await bot.sender.click(ANN, confirm[-1], "Confirm")
    await fake.wait_for(lambda calls: dms_to(calls, COACH) and dms_to(calls, ANN))
    await bot.surface.drain()
    coach_dm = dms_to(fake.calls, COACH)
    ann_dm = dms_to(fake.calls, ANN)
    assert len(coach_dm) == 1 and "New session booked" in coach_dm[0].text and "Ann Lee" in coach_dm[0].text
    assert "(Europe/Berlin)" in coach_dm[0].text  # in the coach's zone
    assert len(ann_dm) == 1 and "confirmed" in ann_dm[0].text and "(America/New_York)" in ann_dm[0].text
    assert [c.args["users"] for c in fake.of("conversations.open")] == [COACH, ANN]
    booked = [c for c in _for(fake.calls, f"cmd-{ANN}") if c.text.startswith("Booked:")]
    assert booked and booked[-1].args.get("replace_original") is True
    coach_id = (await asyncio.to_thread(bot.app.storage.people.by_identity, Identity("slack", COACH, "T0001"))).id
    upcoming = await asyncio.to_thread(bot.app.storage.bookings.upcoming_for_person, coach_id, now=NOW)
    assert len(upcoming) == 1 and upcoming[0].status.value == "confirmed"


async def test_hours_through_the_modal_with_a_bad_field_first(bot: RunningBot, fake: FakeSlackApi) -> None:
    status, _ = await bot.sender.command(COACH, "/hours")
    assert status == 200
    opened = await fake.wait_for(lambda calls: fake.of("views.open"))
    view = opened[0].args["view"]
    assert opened[0].args["trigger_id"] == "trigger-1"
    assert view["type"] == "modal" and view["callback_id"] == "hours"
    assert [b["block_id"] for b in view["blocks"]][:2] == ["mon", "tue"]
    assert not _for(fake.calls, f"cmd-{COACH}")  # the form opened as a modal, not as a message

    status, body = await bot.sender.submit_view(COACH, view, {"mon": "9 to lunch", "timezone": "Mars/Olympus"})
    assert status == 200
    import json

    answer = json.loads(body)
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"mon", "timezone"}
    assert "Mars/Olympus" in answer["errors"]["timezone"]
    person = await asyncio.to_thread(bot.app.storage.people.by_identity, Identity("slack", COACH, "T0001"))
    assert await asyncio.to_thread(bot.app.storage.coach_settings.get_settings, person.id) is None  # nothing saved

    good = {"mon": "09:00-12:00, 13:00-17:00", "tue": "10:00-16:00", "timezone": "Europe/Berlin"}
    status, body = await bot.sender.submit_view(COACH, view, good)
    assert (status, body) == (200, "")  # the modal closes
    saved = await fake.wait_for(lambda calls: [c for c in _for(calls, f"cmd-{COACH}") if "Saved" in c.text])
    assert "09:00-12:00" in saved[0].text
    settings = await asyncio.to_thread(bot.app.storage.coach_settings.get_settings, person.id)
    assert settings is not None and settings.timezone == "Europe/Berlin"
    assert [str(r) for r in settings.hours.days[0]] == ["09:00-12:00", "13:00-17:00"]


async def _booked(bot: RunningBot, coach_id: str, start: datetime) -> Any:
    ann = await asyncio.to_thread(bot.app.storage.people.by_identity, Identity("slack", ANN, "T0001"))
    result = await bot.app.bookings.book(
        coach_id=coach_id,
        participant_ids=(ann.id,),
        slot=Interval(start, start + timedelta(minutes=30)),
        idempotency_key=f"test:{start.isoformat()}",
    )
    return result.booking


async def test_cancel_tells_both_sides(bot: RunningBot, fake: FakeSlackApi) -> None:
    coach_id = await coach_with_hours(bot)
    await _booked(bot, coach_id, datetime(2026, 3, 3, 10, 0, tzinfo=UTC))
    await bot.sender.command(ANN, "/sched", "cancel my session")
    question = await fake.wait_for(lambda calls: [c for c in _for(calls, f"cmd-{ANN}") if c.buttons()])
    button = question[-1].buttons()[0]
    assert button["style"] == "danger" and "confirm" in button  # Slack asks "are you sure?" first
    assert button["confirm"]["confirm"]["text"] == "Yes"

    await bot.sender.click(ANN, question[-1], "Cancel")
    await fake.wait_for(lambda calls: dms_to(calls, COACH))
    await bot.surface.drain()
    told = dms_to(fake.calls, COACH)
    assert len(told) == 1 and "Ann Lee cancelled your session" in told[0].text and "Europe/Berlin" in told[0].text
    mine = [c for c in _for(fake.calls, f"cmd-{ANN}") if c.text.startswith("Cancelled")]
    assert mine and mine[-1].args["replace_original"] is True
    upcoming = await asyncio.to_thread(bot.app.storage.bookings.upcoming_for_person, coach_id, now=NOW)
    assert upcoming == []


async def test_reschedule_tells_both_sides(bot: RunningBot, fake: FakeSlackApi) -> None:
    coach_id = await coach_with_hours(bot)
    old = await _booked(bot, coach_id, datetime(2026, 3, 3, 10, 0, tzinfo=UTC))
    await bot.sender.dm(ANN, "reschedule my session to Thursday")
    offer = await fake.wait_for(lambda calls: [c for c in dms_to(calls, ANN) + fake.of("chat.update") if c.buttons()])
    await bot.sender.click(ANN, offer[-1], "Thu")
    confirm = await fake.wait_for(
        lambda calls: [c for c in fake.of("chat.update") if any(b["text"]["text"] == "Confirm" for b in c.buttons())]
    )
    await bot.sender.click(ANN, confirm[-1], "Confirm")
    await fake.wait_for(lambda calls: dms_to(calls, COACH))
    await bot.surface.drain()
    told = dms_to(fake.calls, COACH)
    assert len(told) == 1 and "Ann Lee moved your session" in told[0].text and "Thu 5 Mar" in told[0].text
    moved = [c for c in fake.of("chat.update") if c.text.startswith("Moved:")]
    assert moved and moved[-1].args["channel"] == "DANN1"  # the clicked DM message, updated in place
    upcoming = await asyncio.to_thread(bot.app.storage.bookings.upcoming_for_person, coach_id, now=NOW)
    assert len(upcoming) == 1 and upcoming[0].id != old.id and upcoming[0].start.weekday() == 3


async def test_bad_signature_and_stale_timestamp_are_refused(bot: RunningBot, fake: FakeSlackApi) -> None:
    body = bot.sender.event_body({"type": "app_home_opened", "user": ANN, "tab": "home"})
    status, _ = await bot.sender.post(
        body,
        "application/json",
        signed=False,
        headers={"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64},
    )
    assert status == 401
    from tests.fakes.slack_api import SIGNING_SECRET, sign

    stale = sign(SIGNING_SECRET, body, timestamp=int(time.time()) - 10 * 60)  # correctly signed, 10 minutes old
    status, _ = await bot.sender.post(body, "application/json", signed=False, headers=stale)
    assert status == 401
    wrong_secret = sign("another-secret", body)
    status, _ = await bot.sender.post(body, "application/json", signed=False, headers=wrong_secret)
    assert status == 401
    await bot.surface.drain()
    assert fake.of("views.publish") == [] and fake.of("users.info") == []


async def test_the_same_event_four_times_has_one_effect(bot: RunningBot, fake: FakeSlackApi) -> None:
    event = {
        "type": "message",
        "channel_type": "im",
        "channel": "DANN1",
        "user": ANN,
        "text": "help",
        "ts": "1700000001.000100",
        "team": "T0001",
    }
    statuses = []
    for retry in range(4):
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        status, _ = await bot.sender.event(event, event_id="Ev0SAME", headers=headers)
        statuses.append(status)
    assert statuses == [200, 200, 200, 200]
    await fake.wait_for(lambda calls: dms_to(calls, ANN))
    await bot.surface.drain()
    assert len(dms_to(fake.calls, ANN)) == 1
    assert len(fake.of("users.info")) == 1
    status, _ = await bot.sender.event(event, event_id="Ev0OTHER")  # a new event is handled again
    await fake.wait_for(lambda calls: len(dms_to(calls, ANN)) == 2)


async def test_rate_limited_call_is_retried_after_retry_after(bot: RunningBot, fake: FakeSlackApi) -> None:
    fake.rate_limit_once("chat.postMessage", retry_after=1)
    await bot.sender.dm(ANN, "help")
    delivered = await fake.wait_for(lambda calls: dms_to(calls, ANN))
    limited = [c for c in fake.calls if c.method == "chat.postMessage" and c.status == 429]
    assert len(limited) == 1 and len(delivered) == 1
    assert fake.calls.index(limited[0]) < fake.calls.index(delivered[0])
    assert limited[0].args["text"] == delivered[0].args["text"]


async def test_a_hanging_calendar_does_not_delay_the_ack(
    bot: RunningBot, fake: FakeSlackApi, busy: ControlledBusySource
) -> None:
    coach_id = await coach_with_hours(bot)
    busy.hang_for = coach_id
    bot.surface.progress_delay = 0  # show "Checking calendars..." at once
    bot.app.bookings.busy_timeout = None  # first: a calendar that hangs until the test lets it go

    status, _ = await bot.sender.dm(ANN, f"book 30 min with <@{COACH}> tomorrow")
    assert status == 200
    progress = await fake.wait_for(lambda calls: [c for c in dms_to(calls, ANN) if "Checking calendars" in c.text])
    await asyncio.wait_for(busy.entered.wait(), 20)
    assert busy.finished == 0  # the ack and the progress message came while the calendar check still hung
    busy.release.set()
    updated = await fake.wait_for(lambda calls: [c for c in fake.of("chat.update") if c.buttons()])
    assert updated[0].args["ts"] == progress[0].result["ts"]  # "Checking calendars..." replaced by the times

    # then: a calendar that never answers is cut off after the (test-short) timeout, and the person is told
    busy.release = asyncio.Event()
    bot.app.bookings.busy_timeout = 0.2
    status, _ = await bot.sender.command(ANN, "/book", f"30 min with <@{COACH}> tomorrow")
    assert status == 200
    told = await fake.wait_for(
        lambda calls: [c for c in _for(calls, f"cmd-{ANN}") if "Dana Coach's calendar" in c.text]
    )
    assert "couldn't check" in told[-1].text.lower() or "could not check" in told[-1].text.lower()
    assert busy.started >= 2 and busy.finished == busy.started and not busy.release.is_set()  # cut off, not released


async def test_app_home_shows_hours_calendars_and_sessions(bot: RunningBot, fake: FakeSlackApi) -> None:
    coach_id = await coach_with_hours(bot)
    await _booked(bot, coach_id, datetime(2026, 3, 3, 10, 0, tzinfo=UTC))
    calendars = bot.app.storage.calendars
    google = await asyncio.to_thread(calendars.add_account, coach_id, "google", "Work Google", now=NOW)
    await asyncio.to_thread(calendars.mark_synced, google.id, now=NOW - timedelta(minutes=2))
    icloud = await asyncio.to_thread(calendars.add_account, coach_id, "icloud", "Home iCloud", now=NOW)
    await asyncio.to_thread(calendars.mark_needs_reconnect, icloud.id, error="invalid_grant")

    await bot.sender.event({"type": "app_home_opened", "user": COACH, "channel": "DCOACH1", "tab": "home"})
    published = await fake.wait_for(lambda calls: fake.of("views.publish"))
    assert published[0].args["user_id"] == COACH
    view = published[0].args["view"]
    assert view["type"] == "home"
    shown = Call("x", {"blocks": view["blocks"]}, None).text
    assert "Mon-Fri 09:00-17:00" in shown
    assert "Work Google* (google): synced 2 min ago" in shown
    assert "Home iCloud* (icloud): needs reconnecting" in shown
    assert "Tue 3 Mar 11:00-11:30 (Europe/Berlin) with Ann Lee" in shown
    # the coach's week as a PNG (PUBLIC_URL is set): Slack fetches it from our server
    [image] = [b for b in view["blocks"] if b["type"] == "image"]
    assert "/week.png?" in image["image_url"]
    import aiohttp

    async with aiohttp.ClientSession() as http, http.get(image["image_url"]) as r:
        assert r.status == 200 and (await r.read()).startswith(b"\x89PNG")

    await bot.sender.event({"type": "app_home_opened", "user": ANN, "channel": "DANN1", "tab": "home"})
    both = await fake.wait_for(lambda calls: len(fake.of("views.publish")) == 2 and fake.of("views.publish"))
    ann_view = Call("x", {"blocks": both[1].args["view"]["blocks"]}, None).text
    assert "Tue 3 Mar 05:00-05:30 (America/New_York) with Dana Coach" in ann_view
    assert "coaching hours" not in ann_view.lower()


async def test_a_mention_in_a_channel_is_answered_there_without_the_mention(
    bot: RunningBot, fake: FakeSlackApi
) -> None:
    event = {
        "type": "app_mention",
        "channel": "C0TEAM",
        "user": ANN,
        "text": f"<@{fake.bot_user_id}> help",
        "ts": "1700000002.000100",
        "team": "T0001",
    }
    await bot.sender.event(event)
    posted = await fake.wait_for(
        lambda calls: [
            c
            for c in calls
            if c.method in ("chat.postMessage", "chat.update")
            and c.status == 200
            and c.args.get("channel") == "C0TEAM"
            and "what I can do" in c.text
        ]
    )
    assert posted


async def test_a_form_asked_for_in_a_dm_opens_from_a_button(bot: RunningBot, fake: FakeSlackApi) -> None:
    await bot.sender.dm(COACH, "edit my hours")  # a DM gives no trigger_id: the form waits behind a button
    offer = await fake.wait_for(
        lambda calls: [
            c
            for c in calls
            if c.status == 200
            and c.method in ("chat.postMessage", "chat.update")
            and any(b["text"]["text"] == "Working hours" for b in c.buttons())
        ]
    )
    await bot.sender.click(COACH, offer[-1], "Working hours")
    opened = await fake.wait_for(lambda calls: fake.of("views.open"))
    assert opened[0].args["view"]["callback_id"] == "hours"
    assert opened[0].args["trigger_id"].startswith("trigger-click-")
