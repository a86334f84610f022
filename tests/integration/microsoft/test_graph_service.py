"""The Microsoft provider as the CalendarService builds it (its ``microsoft`` factory, ``make_graph_provider``):
busy time of a connected account, refreshed tokens written back, a dead grant marking the account, and the web
OAuth callback handler.  msal trusts the fake's CA through REQUESTS_CA_BUNDLE, as a deployment behind a private
CA would."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.config import Settings
from bot.providers.microsoft_auth import MicrosoftAuth
from bot.scheduling.intervals import Interval
from bot.scheduling.ports import BusyUnavailable
from bot.services.calendars import CalendarService
from tests.fakes.graph_api import FakeGraph
from tests.integration.microsoft.conftest import COACH, COACH_ID

WEEK = Interval(datetime(2026, 3, 9, tzinfo=UTC), datetime(2026, 3, 16, tzinfo=UTC))


@pytest.fixture
def service(settings: Settings, storage: Any, fake: FakeGraph, monkeypatch: pytest.MonkeyPatch) -> CalendarService:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fake.ca_file))
    told: list[tuple[str, str]] = []

    async def notify(person_id: str, text: str) -> None:
        told.append((person_id, text))

    calendars = CalendarService(storage, lambda: datetime(2026, 3, 8, tzinfo=UTC), settings=settings, notify=notify)
    calendars.told = told  # type: ignore[attr-defined]
    return calendars


async def _connect(auth: MicrosoftAuth, fake: FakeGraph) -> Any:
    params = await fake.consent(await auth.astart_url(COACH_ID))
    outcome = await auth.oauth_callback("microsoft", params)
    assert outcome.ok, outcome.message
    assert "Connected 2 calendars of dana@contoso.example" in outcome.message
    (account,) = auth.storage.calendars.accounts_for_person(COACH_ID)
    return account


async def test_busy_through_the_calendar_service(
    auth: MicrosoftAuth, fake: FakeGraph, storage: Any, service: CalendarService
) -> None:
    await _connect(auth, fake)
    fake.put_event(COACH, start=datetime(2026, 3, 10, 9, tzinfo=UTC), end=datetime(2026, 3, 10, 10, tzinfo=UTC))
    fake.put_event(COACH, start=datetime(2026, 3, 12, tzinfo=UTC), end=datetime(2026, 3, 13, tzinfo=UTC), all_day=True)

    busy = await service.busy(COACH_ID, WEEK)

    assert [(b.start, b.all_day) for b in busy] == [
        (datetime(2026, 3, 10, 9, tzinfo=UTC), False),
        (datetime(2026, 3, 11, 23, tzinfo=UTC), True),  # the coach is in Berlin: the service set default_tz
    ]


async def test_refreshed_tokens_are_written_back(
    auth: MicrosoftAuth, fake: FakeGraph, storage: Any, service: CalendarService
) -> None:
    account = await _connect(auth, fake)
    before = storage.credentials.get(account.id)["token_cache"]
    fake.expire_access_tokens()

    await service.busy(COACH_ID, WEEK)

    after = storage.credentials.get(account.id)
    assert after["token_cache"] != before and after["kind"] == "delegated"
    assert any(rt in after["token_cache"] for rt in fake.refresh_tokens)


async def test_a_revoked_grant_fails_closed_and_marks_the_account(
    auth: MicrosoftAuth, fake: FakeGraph, storage: Any, service: CalendarService
) -> None:
    account = await _connect(auth, fake)
    fake.expire_access_tokens()
    fake.revoke_refresh_tokens()

    with pytest.raises(BusyUnavailable):
        await service.busy(COACH_ID, WEEK)

    assert storage.calendars.get_account(account.id).status == "needs_reconnect"
    assert [p for p, _ in service.told] == [COACH_ID]  # type: ignore[attr-defined]


async def test_the_callback_handler_explains_a_stale_link(auth: MicrosoftAuth, fake: FakeGraph) -> None:
    params = await fake.consent(await auth.astart_url(COACH_ID))
    assert (await auth.oauth_callback("microsoft", params)).ok
    again = await auth.oauth_callback("microsoft", params)
    assert not again.ok and "expired or was already used" in again.message


async def test_chat_connector_sends_the_link(auth: MicrosoftAuth, fake: FakeGraph, storage: Any) -> None:
    from bot.providers.microsoft_auth import MicrosoftConnector

    (reply,) = await MicrosoftConnector(auth).start(COACH_ID, "outlook")
    url = reply.text.split("\n")[-1]
    assert reply.private and url.startswith(fake.authority_url + "/common/oauth2/v2.0/authorize?")
    params = await fake.consent(url)
    account = await auth.finish(params["state"], params)
    assert account.person_id == COACH_ID


async def test_after_microsoft_sign_in_the_pick_form_is_sent_to_the_person(
    auth: MicrosoftAuth, fake: FakeGraph, storage: Any, service: CalendarService
) -> None:
    """The composition root's callback handler sends the provider-neutral pick form through the Notifier (here its
    web-inbox fallback); answering it chooses busy calendars and the booking calendar."""
    from bot.adapters.web.oauth import OAuthOutcome
    from bot.app import _OAuthCallbacks
    from bot.handlers.replies import Reply
    from bot.services.calendar_pick import CalendarPicker
    from bot.services.notify import Notifier
    from tests.fakes.graph_api import FakeCalendar

    box = fake.mailboxes[COACH]
    box.calendars["AAMk-holidays"] = FakeCalendar(id="AAMk-holidays", name="United States holidays", can_edit=False)
    inbox: list[tuple[str, list[Reply]]] = []

    async def to_inbox(person_id: str, replies: Any) -> None:
        inbox.append((person_id, list(replies)))

    callbacks = _OAuthCallbacks({"microsoft": auth}, calendars=service, notifier=Notifier(storage, fallback=to_inbox))
    params = await fake.consent(await auth.astart_url(COACH_ID))
    outcome: OAuthOutcome = await callbacks.oauth_callback("microsoft", params)

    assert outcome.ok and "sent you a message in the web chat" in outcome.message, outcome.message
    [(person, [reply])] = inbox
    (account,) = storage.calendars.accounts_for_person(COACH_ID)
    assert person == COACH_ID and reply.form is not None and reply.form.id == f"connect:pick:{account.id}"
    by_name = {c.name: c for c in storage.calendars.calendars_for_account(account.id)}
    busy, push = reply.form.fields
    # until answered: the coach's own calendars count as busy, the read-only holidays do not
    assert {c.name for c in storage.calendars.calendars_for_person(COACH_ID, pull_only=True)} == set(by_name) - {
        "United States holidays"
    }
    assert [o.label for o in busy.options] == [c.name for c in storage.calendars.calendars_for_account(account.id)]
    assert "United States holidays" not in {o.label for o in push.options}  # cannot write there
    default = next(c for c in box.calendars.values() if c.default)
    assert push.value == by_name[default.name].id  # the default calendar gets bookings unless changed

    [done] = await CalendarPicker(service).picked(
        COACH_ID, reply.form.id, {"busy": by_name["United States holidays"].id, "push": "none"}
    )
    assert "Busy time comes from: United States holidays." in done.text
    assert [c.name for c in storage.calendars.calendars_for_person(COACH_ID, pull_only=True)] == [
        "United States holidays"
    ]
    assert storage.calendars.push_calendar(COACH_ID) is None
    # a stranger cannot answer Dana's form
    [stranger] = await CalendarPicker(service).picked("eve", reply.form.id, {"busy": "", "push": "none"})
    assert "expired" in stranger.text
