"""GraphProvider against the fake Graph: calendars, calendarView paging, showAs mapping, getSchedule splitting,
delta sync, idempotent creates, etag conflicts, deletes, throttling, 5xx, timeouts.  Tokens are real: the
client-credentials grant through msal against the fake identity platform (``/users/{email}/...``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.providers.microsoft import GraphProvider, split_window
from bot.providers.microsoft_auth import MicrosoftAuth
from bot.scheduling.intervals import Interval
from bot.scheduling.ports import EventDraft, ProviderError, SyncTokenInvalid, WriteConflict
from tests.fakes.graph_api import FakeGraph
from tests.integration.microsoft.conftest import COACH, RecordingSleep

T0 = datetime(2026, 3, 9, tzinfo=UTC)
WEEK = Interval(T0, T0 + timedelta(days=7))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def provider(fake: FakeGraph, auth: MicrosoftAuth, sleep: RecordingSleep) -> GraphProvider:
    return GraphProvider(
        auth.app_tokens(),
        base_url=fake.graph_url,
        user=COACH,
        sleep=sleep,
        max_retries=3,
        page_size=2,
        all_day_timezone="Europe/Berlin",
    )


@pytest.fixture
def cal(fake: FakeGraph) -> str:
    return fake.mailboxes[COACH].default().id


def draft(booking_id: str = "bk-1", start: datetime | None = None) -> EventDraft:
    start = start or at(10, 14)
    return EventDraft(
        booking_id=booking_id,
        interval=Interval(start, start + timedelta(minutes=30)),
        title="Coaching: Sam",
        description="Booked by schedbot",
        attendees=("sam@example.com",),
    )


async def test_list_calendars(provider: GraphProvider, fake: FakeGraph) -> None:
    birthdays = next(c for c in fake.mailboxes[COACH].calendars.values() if c.name == "Birthdays")
    birthdays.can_edit = False

    calendars = {c.name: c for c in await provider.list_calendars()}

    assert set(calendars) == {"Calendar", "Birthdays"}
    assert calendars["Calendar"].primary and not calendars["Calendar"].read_only
    assert calendars["Birthdays"].read_only and not calendars["Birthdays"].primary


async def test_calendar_view_follows_pages_in_utc(provider: GraphProvider, fake: FakeGraph, cal: str) -> None:
    for day in range(9, 14):
        fake.put_event(COACH, start=at(day, 9), end=at(day, 10))
    fake.put_event(COACH, start=at(20, 9), end=at(20, 10))  # outside the window

    busy = await provider.busy([cal], WEEK)

    assert sorted(b.start for b in busy[cal]) == [at(d, 9) for d in range(9, 14)]
    assert all(b.source == cal and b.transparency == "opaque" for b in busy[cal])
    views = fake.calls("GET", r"/calendarView$")
    assert len(views) == 3  # 2 + 2 + 1
    assert all('outlook.timezone="UTC"' in v.headers["Prefer"] for v in views)
    assert views[0].query["startDateTime"] == "2026-03-09T00:00:00Z"


async def test_show_as_all_day_declined_cancelled(provider: GraphProvider, fake: FakeGraph, cal: str) -> None:
    ids = {
        "busy": fake.put_event(COACH, start=at(10, 9), end=at(10, 10))["id"],
        "free": fake.put_event(COACH, start=at(10, 10), end=at(10, 11), show_as="free")["id"],
        "tentative": fake.put_event(COACH, start=at(10, 11), end=at(10, 12), show_as="tentative")["id"],
        "oof": fake.put_event(COACH, start=at(10, 12), end=at(10, 13), show_as="oof")["id"],
        "elsewhere": fake.put_event(COACH, start=at(10, 13), end=at(10, 14), show_as="workingElsewhere")["id"],
        "declined": fake.put_event(COACH, start=at(10, 14), end=at(10, 15), response="declined")["id"],
        "cancelled": fake.put_event(COACH, start=at(10, 15), end=at(10, 16), cancelled=True)["id"],
        "all_day": fake.put_event(COACH, start=at(11, 0), end=at(12, 0), all_day=True)["id"],
    }

    events = {e.external_id: e.busy for e in await provider.events(cal, WEEK)}
    by = {name: events[event_id] for name, event_id in ids.items()}

    assert (by["busy"].transparency, by["busy"].status) == ("opaque", "confirmed")
    assert by["free"].transparency == "transparent"
    assert (by["tentative"].transparency, by["tentative"].status) == ("opaque", "tentative")
    assert (by["oof"].transparency, by["oof"].status) == ("opaque", "confirmed")
    assert by["elsewhere"].transparency == "transparent"
    assert by["declined"].transparency == "transparent"
    assert by["cancelled"].status == "cancelled"
    assert by["all_day"].all_day
    # The floating date 2026-03-11 is a whole day in the coach's zone (Berlin, UTC+1 in March).
    assert (by["all_day"].start, by["all_day"].end) == (at(10, 23), at(11, 23))


async def test_get_schedule_batches_of_20_people(provider: GraphProvider, fake: FakeGraph) -> None:
    people = [f"person{i:02d}@contoso.example" for i in range(44)]
    for address in people:
        fake.add_mailbox(address, name=address)
    fake.put_event(people[30], start=at(10, 9), end=at(10, 10), show_as="tentative")
    fake.put_event(COACH, start=at(10, 9), end=at(10, 10))

    busy = await provider.free_busy([COACH, *people], WEEK)

    calls = fake.calls("POST", r"/calendar/getSchedule$")
    assert [len(c.body["schedules"]) for c in calls] == [20, 20, 5]
    assert len(busy) == 45
    assert [(b.start, b.status) for b in busy[people[30]]] == [(at(10, 9), "tentative")]
    assert [b.start for b in busy[COACH]] == [at(10, 9)]
    assert busy[people[0]] == []


async def test_get_schedule_splits_a_90_day_window(provider: GraphProvider, fake: FakeGraph) -> None:
    window = Interval(T0, T0 + timedelta(days=90))
    fake.put_event(COACH, start=T0 + timedelta(days=80), end=T0 + timedelta(days=80, hours=1))

    busy = await provider.free_busy([COACH], window)

    calls = fake.calls("POST", r"/calendar/getSchedule$")
    spans = [
        (datetime.fromisoformat(c.body["startTime"]["dateTime"]), datetime.fromisoformat(c.body["endTime"]["dateTime"]))
        for c in calls
    ]
    assert len(calls) == 2 and all(end - start < timedelta(days=62) for start, end in spans)
    assert spans[0][1] == spans[1][0]
    assert [b.start for b in busy[COACH]] == [T0 + timedelta(days=80)]
    assert split_window(window)[-1].end == window.end


async def test_get_schedule_fails_closed_for_an_unknown_mailbox(provider: GraphProvider) -> None:
    with pytest.raises(ProviderError, match=r"nobody@contoso\.example"):
        await provider.free_busy([COACH, "nobody@contoso.example"], WEEK)


async def test_delta_initial_incremental_removed_and_410(provider: GraphProvider, fake: FakeGraph, cal: str) -> None:
    a = fake.put_event(COACH, start=at(9, 9), end=at(9, 10))
    b = fake.put_event(COACH, start=at(10, 9), end=at(10, 10))
    c = fake.put_event(COACH, start=at(11, 9), end=at(11, 10))

    first = await provider.changes(cal, token=None, window=WEEK)

    assert first.full and first.deleted == ()
    assert {e.external_id for e in first.changed} == {a["id"], b["id"], c["id"]}
    assert first.token and "$deltatoken" in first.token
    assert len(fake.calls("GET", r"/calendarView/delta$")) == 2  # paged: 2 + 1

    fake.remove_event(COACH, a["id"])
    fake.put_event(COACH, start=at(12, 9), end=at(12, 10), event_id=b["id"], show_as="free")
    d = fake.put_event(COACH, start=at(12, 15), end=at(12, 16))

    second = await provider.changes(cal, token=first.token, window=WEEK)

    assert not second.full
    assert second.deleted == (a["id"],)
    changed = {e.external_id: e for e in second.changed}
    assert set(changed) == {b["id"], d["id"]}
    assert changed[b["id"]].busy.transparency == "transparent" and changed[b["id"]].busy.start == at(12, 9)

    third = await provider.changes(cal, token=second.token, window=WEEK)
    assert third.changed == () and third.deleted == ()

    fake.expire_delta_tokens()
    with pytest.raises(SyncTokenInvalid):
        await provider.changes(cal, token=third.token, window=WEEK)
    resync = await provider.changes(cal, token=None, window=WEEK)
    assert resync.full and {e.external_id for e in resync.changed} == {b["id"], c["id"], d["id"]}


async def test_a_truncated_delta_is_an_error(provider: GraphProvider, fake: FakeGraph, cal: str) -> None:
    fake.fail("GET", r"/calendarView/delta$", 200, body={"value": []})
    with pytest.raises(ProviderError, match="truncated"):
        await provider.changes(cal, token=None, window=WEEK)


async def test_create_twice_with_one_booking_id_makes_one_event(
    provider: GraphProvider, fake: FakeGraph, cal: str
) -> None:
    first = await provider.create_event(cal, draft("bk-42"))
    second = await provider.create_event(cal, draft("bk-42"))

    assert first.external_id == second.external_id
    assert first.booking_id == "bk-42" and first.busy.kind == "booking"
    assert len(fake.all_events(COACH)) == 1
    stored = fake.all_events(COACH)[0]
    assert stored["transactionId"] == "schedbot-bk-42"
    assert (stored["start"]["dateTime"], stored["subject"]) == ("2026-03-10T14:00:00.0000000", "Coaching: Sam")

    # Sync recognises it as ours (delta answers carry the transactionId).
    changes = await provider.changes(cal, token=None, window=WEEK)
    assert [e.booking_id for e in changes.changed] == ["bk-42"]
    events = await provider.events(cal, WEEK)
    assert [e.booking_id for e in events] == ["bk-42"]


async def test_create_when_exchange_refuses_the_repeat(provider: GraphProvider, fake: FakeGraph, cal: str) -> None:
    fake.duplicate_transaction = "error"
    first = await provider.create_event(cal, draft("bk-7"))
    second = await provider.create_event(cal, draft("bk-7"))

    assert second.external_id == first.external_id and second.booking_id == "bk-7"
    assert len(fake.all_events(COACH)) == 1


async def test_a_create_retried_after_503_makes_one_event(
    provider: GraphProvider, fake: FakeGraph, cal: str, sleep: RecordingSleep
) -> None:
    fake.fail("POST", r"/events$", 503, headers={"Retry-After": "2"})

    created = await provider.create_event(cal, draft("bk-9"))

    assert sleep.waits == [2.0]
    assert len(fake.calls("POST", r"/events$")) == 2
    assert [e["id"] for e in fake.all_events(COACH)] == [created.external_id]


async def test_update_with_a_stale_etag_is_a_write_conflict(provider: GraphProvider, fake: FakeGraph, cal: str) -> None:
    created = await provider.create_event(cal, draft("bk-1"))
    moved = await provider.update_event(cal, created.external_id, draft("bk-1", at(11, 9)), etag=created.etag)

    assert moved.busy.start == at(11, 9) and moved.etag != created.etag
    with pytest.raises(WriteConflict):
        await provider.update_event(cal, created.external_id, draft("bk-1", at(12, 9)), etag=created.etag)
    assert fake.event(COACH, created.external_id)["start"]["dateTime"].startswith("2026-03-11T09:00")
    assert fake.calls("PATCH", r"/events/")[-1].headers["If-Match"] == created.etag


async def test_delete_and_delete_again(provider: GraphProvider, fake: FakeGraph, cal: str) -> None:
    created = await provider.create_event(cal, draft("bk-1"))
    await provider.delete_event(cal, created.external_id, etag=created.etag)
    await provider.delete_event(cal, created.external_id)  # already gone: fine
    assert fake.all_events(COACH) == []


async def test_429_retry_after_is_honoured(
    provider: GraphProvider, fake: FakeGraph, cal: str, sleep: RecordingSleep
) -> None:
    fake.put_event(COACH, start=at(10, 9), end=at(10, 10))
    fake.fail("GET", r"/calendarView$", 429, headers={"Retry-After": "7"})

    busy = await provider.busy([cal], WEEK)

    assert sleep.waits == [7.0]
    assert len(busy[cal]) == 1


async def test_503_without_retry_after_backs_off(
    provider: GraphProvider, fake: FakeGraph, cal: str, sleep: RecordingSleep
) -> None:
    fake.fail("GET", r"/calendarView$", 503, times=2)
    await provider.busy([cal], WEEK)
    assert sleep.waits == [0.5, 1.0]


async def test_5xx_after_the_last_retry_is_a_provider_error(
    provider: GraphProvider, fake: FakeGraph, cal: str, sleep: RecordingSleep
) -> None:
    fake.fail("GET", r"/calendarView$", 500, times=10)
    with pytest.raises(ProviderError, match="HTTP 500"):
        await provider.busy([cal], WEEK)
    assert sleep.waits == [0.5, 1.0, 2.0]
    assert len(fake.calls("GET", r"/calendarView$")) == 4


async def test_a_retry_after_beyond_the_cap_fails_at_once(
    fake: FakeGraph, auth: MicrosoftAuth, cal: str, sleep: RecordingSleep
) -> None:
    provider = GraphProvider(auth.app_tokens(), base_url=fake.graph_url, user=COACH, sleep=sleep, max_retry_after=30)
    fake.fail("GET", r"/calendarView$", 429, headers={"Retry-After": "600"})
    with pytest.raises(ProviderError, match="HTTP 429"):
        await provider.busy([cal], WEEK)
    assert sleep.waits == []


async def test_a_timeout_is_a_provider_error(
    fake: FakeGraph, auth: MicrosoftAuth, cal: str, sleep: RecordingSleep
) -> None:
    provider = GraphProvider(
        auth.app_tokens(), base_url=fake.graph_url, user=COACH, sleep=sleep, timeout=0.2, max_retries=1
    )
    fake.fail("GET", r"/calendarView$", 200, delay=1.0, times=2, body={"value": []})
    with pytest.raises(ProviderError, match="timed out"):
        await provider.busy([cal], WEEK)
    assert len(sleep.waits) == 1


async def test_read_only_accounts_refuse_writes(fake: FakeGraph, auth: MicrosoftAuth, cal: str) -> None:
    provider = GraphProvider(auth.app_tokens(), base_url=fake.graph_url, user=COACH, read_only=True)
    with pytest.raises(ProviderError, match="read-only"):
        await provider.create_event(cal, draft())
    assert fake.all_events(COACH) == []


async def test_a_next_link_to_another_host_is_refused(provider: GraphProvider, fake: FakeGraph, cal: str) -> None:
    fake.fail("GET", r"/calendarView$", 200, body={"value": [], "@odata.nextLink": "https://evil.example/steal"})
    with pytest.raises(ProviderError, match="another host"):
        await provider.busy([cal], WEEK)
