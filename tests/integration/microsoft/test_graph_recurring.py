"""Recurring Outlook events through the production GraphProvider (and the CalendarService) against the fake Graph,
which keeps series the way Graph does: a ``seriesMaster`` with ``recurrence`` in a Windows zone, expanded by the
server into ``occurrence`` instances; a deleted occurrence (Graph's EXDATE) and ``exception`` instances moved and
stated in another zone.  Every assertion is an exact list of UTC intervals.

Clock changes in the windows used: the US moves to summer time on 2026-03-08 (Pacific -8 -> -7), the EU on
2026-03-29 (Berlin +1 -> +2).  The coach (``dana``) lives in Europe/Berlin.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import aiohttp
import pytest

from bot.config import Settings
from bot.providers.microsoft import GraphProvider
from bot.providers.microsoft_auth import MicrosoftAuth
from bot.scheduling.intervals import Interval
from bot.scheduling.model import BusyEvent
from bot.services.calendars import CalendarService
from tests.fakes.graph_api import FakeGraph, occurrence_id
from tests.integration.microsoft.conftest import COACH, COACH_ID, RecordingSleep

BERLIN = "W. Europe Standard Time"
PACIFIC = "Pacific Standard Time"
SPRING = Interval(datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 4, 14, tzinfo=UTC))  # both clock changes


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def spans(events: Iterable[BusyEvent]) -> list[tuple[datetime, datetime]]:
    return sorted((e.start, e.end) for e in events)


def weekly(*days: str, interval: int = 1) -> dict[str, Any]:
    return {"type": "weekly", "interval": interval, "daysOfWeek": list(days), "firstDayOfWeek": "monday"}


@pytest.fixture
def provider(fake: FakeGraph, auth: MicrosoftAuth, sleep: RecordingSleep) -> GraphProvider:
    return GraphProvider(
        auth.app_tokens(),
        base_url=fake.graph_url,
        user=COACH,
        sleep=sleep,
        max_retries=3,
        page_size=2,  # instances come over several pages
        all_day_timezone="Europe/Berlin",
    )


@pytest.fixture
def cal(fake: FakeGraph) -> str:
    return fake.mailboxes[COACH].default().id


def tuesday_series(fake: FakeGraph) -> str:
    """Tuesdays 09:00-10:00 Berlin time from 2026-03-03, no end."""
    master = fake.put_series(
        COACH,
        start=datetime(2026, 3, 3, 9),
        end=datetime(2026, 3, 3, 10),
        time_zone=BERLIN,
        pattern=weekly("tuesday"),
        range={"type": "noEnd", "startDate": "2026-03-03"},
    )
    return str(master["id"])


def monday_pacific_series(fake: FakeGraph) -> str:
    """Mondays 08:00-08:30 Pacific time from 2026-03-02, no end."""
    master = fake.put_series(
        COACH,
        start=datetime(2026, 3, 2, 8),
        end=datetime(2026, 3, 2, 8, 30),
        time_zone=PACIFIC,
        pattern=weekly("monday"),
    )
    return str(master["id"])


# Tuesdays 09:00 Berlin: 08:00Z until the EU change, 07:00Z after it (the US change does not touch it).
TUESDAYS = [(utc(3, d, 8), utc(3, d, 9)) for d in (3, 10, 17, 24)] + [
    (utc(3, 31, 7), utc(3, 31, 8)),
    (utc(4, 7, 7), utc(4, 7, 8)),
]
# Mondays 08:00 Pacific: 16:00Z before the US change, 15:00Z after it (the EU change does not touch it).
MONDAYS = [(utc(3, 2, 16), utc(3, 2, 16, 30))] + [
    (utc(m, d, 15), utc(m, d, 15, 30)) for m, d in ((3, 9), (3, 16), (3, 23), (3, 30), (4, 6), (4, 13))
]


def with_changes(series: str, fake: FakeGraph) -> tuple[str, str]:
    """Cancel Tuesday 17 March; move Tuesday 24 March to Thursday 26 March 06:00-07:00 *Pacific* time (PDT:
    13:00-14:00Z, 14:00 in Berlin, which is still on winter time)."""
    cancelled = fake.cancel_occurrence(COACH, series, date(2026, 3, 17))
    moved = fake.put_exception(
        COACH,
        series,
        date(2026, 3, 24),
        start=datetime(2026, 3, 26, 6),
        end=datetime(2026, 3, 26, 7),
        time_zone=PACIFIC,
    )
    return cancelled, str(moved["id"])


CHANGED_TUESDAYS = sorted(
    [s for s in TUESDAYS if s[0].day not in (17, 24) or s[0].month != 3] + [(utc(3, 26, 13), utc(3, 26, 14))]
)
# An all-day daily series of three days from Friday 27 March (numbered): local days in Berlin, the last one 23 hours.
ALL_DAY_BERLIN = [
    (utc(3, 26, 23), utc(3, 27, 23)),
    (utc(3, 27, 23), utc(3, 28, 23)),
    (utc(3, 28, 23), utc(3, 29, 22)),
]


def all_day_series(fake: FakeGraph) -> str:
    master = fake.put_series(
        COACH,
        start=date(2026, 3, 27),
        end=date(2026, 3, 28),
        time_zone=BERLIN,
        all_day=True,
        pattern={"type": "daily", "interval": 1},
        range={"type": "numbered", "startDate": "2026-03-27", "numberOfOccurrences": 3},
    )
    return str(master["id"])


# ------------------------------------------------------------------------------------------------- busy


async def test_weekly_series_keep_their_wall_clock_time_across_both_clock_changes(
    provider: GraphProvider, fake: FakeGraph, cal: str
) -> None:
    tuesday_series(fake)
    monday_pacific_series(fake)

    busy = await provider.busy([cal], SPRING)

    assert spans(busy[cal]) == sorted(TUESDAYS + MONDAYS)
    assert all(not b.all_day and b.transparency == "opaque" for b in busy[cal])
    views = fake.calls("GET", r"/calendarView$")
    assert len(views) == (len(TUESDAYS) + len(MONDAYS) + 1) // 2  # paged two by two
    assert all('outlook.timezone="UTC"' in v.headers["Prefer"] for v in views)


async def test_every_instance_has_its_own_id_in_the_delta(provider: GraphProvider, fake: FakeGraph, cal: str) -> None:
    tuesdays = tuesday_series(fake)
    mondays = monday_pacific_series(fake)

    first = await provider.changes(cal, token=None, window=SPRING)

    assert first.full and first.deleted == ()
    assert spans(e.busy for e in first.changed) == sorted(TUESDAYS + MONDAYS)
    ids = {e.external_id: e.busy.start for e in first.changed}
    assert len(ids) == len(TUESDAYS) + len(MONDAYS)  # distinct per instance, never the master's id
    assert tuesdays not in ids and mondays not in ids
    assert ids[occurrence_id(tuesdays, date(2026, 3, 31))] == utc(3, 31, 7)
    assert ids[occurrence_id(mondays, date(2026, 3, 2))] == utc(3, 2, 16)


async def test_a_cancelled_occurrence_is_free_and_removed_in_the_delta(
    provider: GraphProvider, fake: FakeGraph, cal: str
) -> None:
    series = tuesday_series(fake)
    first = await provider.changes(cal, token=None, window=SPRING)
    assert len(first.changed) == len(TUESDAYS)

    cancelled = fake.cancel_occurrence(COACH, series, date(2026, 3, 17))

    busy = await provider.busy([cal], SPRING)
    assert spans(busy[cal]) == [s for s in TUESDAYS if s[0] != utc(3, 17, 8)]
    second = await provider.changes(cal, token=first.token, window=SPRING)
    assert second.deleted == (cancelled,) and second.changed == () and not second.full
    assert cancelled == occurrence_id(series, date(2026, 3, 17))
    third = await provider.changes(cal, token=second.token, window=SPRING)
    assert third.changed == () and third.deleted == ()
    resync = await provider.changes(cal, token=None, window=SPRING)
    assert cancelled not in {e.external_id for e in resync.changed} and len(resync.changed) == len(TUESDAYS) - 1


async def test_an_exception_moved_and_stated_in_pacific_time(
    provider: GraphProvider, fake: FakeGraph, cal: str
) -> None:
    series = tuesday_series(fake)
    first = await provider.changes(cal, token=None, window=SPRING)

    moved = fake.put_exception(
        COACH,
        series,
        date(2026, 3, 24),
        start=datetime(2026, 3, 26, 6),
        end=datetime(2026, 3, 26, 7),
        time_zone=PACIFIC,
    )
    away = fake.put_exception(  # moved out of the synced window altogether
        COACH, series, date(2026, 3, 31), start=datetime(2026, 5, 5, 9), end=datetime(2026, 5, 5, 10), time_zone=BERLIN
    )

    assert moved["type"] == "exception" and moved["start"]["timeZone"] == PACIFIC
    busy = await provider.busy([cal], SPRING)
    assert spans(busy[cal]) == sorted(
        [s for s in TUESDAYS if s[0] not in (utc(3, 24, 8), utc(3, 31, 7))] + [(utc(3, 26, 13), utc(3, 26, 14))]
    )
    second = await provider.changes(cal, token=first.token, window=SPRING)
    assert [(e.external_id, e.busy.start, e.busy.end) for e in second.changed] == [
        (occurrence_id(series, date(2026, 3, 24)), utc(3, 26, 13), utc(3, 26, 14))
    ]
    assert second.deleted == (away["id"],) == (occurrence_id(series, date(2026, 3, 31)),)
    # the original Tuesday slot is free; the later one (after the EU change) is too
    tuesday_24 = Interval(utc(3, 24, 0), utc(3, 25, 0))
    assert (await provider.busy([cal], tuesday_24))[cal] == []


async def test_ranges_stop_at_their_end_date_or_count(provider: GraphProvider, fake: FakeGraph, cal: str) -> None:
    fake.put_series(  # Mon+Wed 14:00 Berlin, until Wednesday 18 March (inclusive)
        COACH,
        start=datetime(2026, 3, 2, 14),
        end=datetime(2026, 3, 2, 15),
        time_zone=BERLIN,
        pattern=weekly("monday", "wednesday"),
        range={"type": "endDate", "startDate": "2026-03-02", "endDate": "2026-03-18"},
    )
    fake.put_series(  # every other day 07:00 Pacific, four times from Friday 6 March: across the US change
        COACH,
        start=datetime(2026, 3, 6, 7),
        end=datetime(2026, 3, 6, 7, 30),
        time_zone="America/Los_Angeles",  # IANA names are allowed too
        pattern={"type": "daily", "interval": 2},
        range={"type": "numbered", "startDate": "2026-03-06", "numberOfOccurrences": 4},
    )
    fake.put_series(  # the 10th of each month at noon Berlin, twice from 10 February
        COACH,
        start=datetime(2026, 2, 10, 12),
        end=datetime(2026, 2, 10, 12, 45),
        time_zone=BERLIN,
        pattern={"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 10},
        range={"type": "numbered", "startDate": "2026-02-10", "numberOfOccurrences": 2},
    )
    fake.put_series(  # every second Friday 10:00 New York until 3 April
        COACH,
        start=datetime(2026, 3, 6, 10),
        end=datetime(2026, 3, 6, 11),
        time_zone="Eastern Standard Time",
        pattern=weekly("friday", interval=2),
        range={"type": "endDate", "startDate": "2026-03-06", "endDate": "2026-04-03"},
    )
    window = Interval(utc(3, 1, 0), utc(4, 30, 0))

    busy = await provider.busy([cal], window)

    assert spans(busy[cal]) == sorted(
        [(utc(3, d, 13), utc(3, d, 14)) for d in (2, 4, 9, 11, 16, 18)]
        + [(utc(3, 6, 15), utc(3, 6, 15, 30))]
        + [(utc(3, d, 14), utc(3, d, 14, 30)) for d in (8, 10, 12)]
        + [(utc(3, 10, 11), utc(3, 10, 11, 45))]
        + [(utc(3, 6, 15), utc(3, 6, 16)), (utc(3, 20, 14), utc(3, 20, 15)), (utc(4, 3, 14), utc(4, 3, 15))]
    )


async def test_an_all_day_series_covers_whole_local_days_of_the_person(
    fake: FakeGraph, auth: MicrosoftAuth, sleep: RecordingSleep, cal: str
) -> None:
    all_day_series(fake)
    window = Interval(utc(3, 23, 0), utc(4, 6, 0))

    def reader(zone: str) -> GraphProvider:
        return GraphProvider(auth.app_tokens(), base_url=fake.graph_url, user=COACH, sleep=sleep, all_day_timezone=zone)

    berlin = (await reader("Europe/Berlin").busy([cal], window))[cal]
    new_york = (await reader("America/New_York").busy([cal], window))[cal]

    assert spans(berlin) == ALL_DAY_BERLIN  # the third day is 23 hours long (the EU change); no fourth day
    assert all(b.all_day for b in berlin)
    assert spans(new_york) == [(utc(3, d, 4), utc(3, d + 1, 4)) for d in (27, 28, 29)]


# ------------------------------------------------------------------------------------------- free/busy


async def test_get_schedule_agrees_with_the_calendar_view(provider: GraphProvider, fake: FakeGraph, cal: str) -> None:
    series = tuesday_series(fake)
    monday_pacific_series(fake)
    all_day_series(fake)
    with_changes(series, fake)

    free_busy = await provider.free_busy([COACH], SPRING)
    busy = await provider.busy([cal], SPRING)

    expected = sorted(CHANGED_TUESDAYS + MONDAYS + ALL_DAY_BERLIN)
    assert spans(free_busy[COACH]) == expected
    assert spans(busy[cal]) == expected
    (call,) = fake.calls("POST", r"/calendar/getSchedule$")
    assert call.headers["Prefer"] == 'outlook.timezone="UTC"'


# ---------------------------------------------------------------------------------- answers not in UTC


async def test_answers_in_windows_zone_names_are_converted(provider: GraphProvider, fake: FakeGraph, cal: str) -> None:
    """The server ignores Prefer and answers each event in its own zone ("W. Europe Standard Time", "Pacific
    Standard Time"): the client must come to the same UTC intervals."""
    series = tuesday_series(fake)
    monday_pacific_series(fake)
    all_day_series(fake)
    first = await provider.changes(cal, token=None, window=SPRING)
    cancelled, moved = with_changes(series, fake)
    fake.ignore_prefer = True
    expected = sorted(CHANGED_TUESDAYS + MONDAYS + ALL_DAY_BERLIN)

    busy = await provider.busy([cal], SPRING)
    free_busy = await provider.free_busy([COACH], SPRING)
    second = await provider.changes(cal, token=first.token, window=SPRING)
    resync = await provider.changes(cal, token=None, window=SPRING)

    assert spans(busy[cal]) == expected
    assert [b.all_day for b in sorted(busy[cal], key=lambda b: b.start)] == [e in ALL_DAY_BERLIN for e in expected]
    assert spans(free_busy[COACH]) == expected
    assert second.deleted == (cancelled,)
    assert [(e.external_id, e.busy.start, e.busy.end) for e in second.changed] == [
        (moved, utc(3, 26, 13), utc(3, 26, 14))
    ]
    assert spans(e.busy for e in resync.changed) == expected


async def test_the_fake_answers_as_graph_does(fake: FakeGraph, auth: MicrosoftAuth) -> None:
    """The wire format the provider is tested against: Prefer honoured (times converted and labelled with the zone
    as asked, all-day dates left at midnight), UTC without it, each event's own zone when ignoring it; masters
    never in the view; occurrences and exceptions carry seriesMasterId and originalStart."""
    series = tuesday_series(fake)
    all_day_series(fake)
    with_changes(series, fake)
    token = await auth.app_tokens().token()
    cal_id = fake.mailboxes[COACH].default().id
    url = f"{fake.graph_url}/users/{COACH}/calendars/{cal_id}/calendarView"
    query = {"startDateTime": "2026-03-23T00:00:00Z", "endDateTime": "2026-04-01T00:00:00Z"}

    async def view(prefer: str | None) -> list[tuple[str, str, str, str, str]]:
        headers = {"Authorization": f"Bearer {token}", **({"Prefer": prefer} if prefer else {})}
        async with aiohttp.ClientSession() as session, session.get(url, params=query, headers=headers) as response:
            assert response.status == 200
            items = (await response.json())["value"]
        assert all(i["seriesMasterId"] == i["id"].split("_occ_")[0] and i["originalStart"] for i in items)
        return [
            (i["type"], i["start"]["dateTime"], i["start"]["timeZone"], i["end"]["dateTime"], i["originalStart"])
            for i in items
        ]

    in_pacific = await view(f'outlook.timezone="{PACIFIC}"')
    in_utc = await view(None)
    fake.ignore_prefer = True
    own = await view('outlook.timezone="UTC"')

    assert in_pacific == [
        ("exception", "2026-03-26T06:00:00.0000000", PACIFIC, "2026-03-26T07:00:00.0000000", "2026-03-24T08:00:00Z"),
        ("occurrence", "2026-03-27T00:00:00.0000000", PACIFIC, "2026-03-28T00:00:00.0000000", "2026-03-26T23:00:00Z"),
        ("occurrence", "2026-03-28T00:00:00.0000000", PACIFIC, "2026-03-29T00:00:00.0000000", "2026-03-27T23:00:00Z"),
        ("occurrence", "2026-03-29T00:00:00.0000000", PACIFIC, "2026-03-30T00:00:00.0000000", "2026-03-28T23:00:00Z"),
        ("occurrence", "2026-03-31T00:00:00.0000000", PACIFIC, "2026-03-31T01:00:00.0000000", "2026-03-31T07:00:00Z"),
    ]
    assert [row[1:4] for row in in_utc] == [
        ("2026-03-26T13:00:00.0000000", "UTC", "2026-03-26T14:00:00.0000000"),
        ("2026-03-27T00:00:00.0000000", "UTC", "2026-03-28T00:00:00.0000000"),
        ("2026-03-28T00:00:00.0000000", "UTC", "2026-03-29T00:00:00.0000000"),
        ("2026-03-29T00:00:00.0000000", "UTC", "2026-03-30T00:00:00.0000000"),
        ("2026-03-31T07:00:00.0000000", "UTC", "2026-03-31T08:00:00.0000000"),
    ]
    assert [row[1:4] for row in own] == [
        ("2026-03-26T06:00:00.0000000", PACIFIC, "2026-03-26T07:00:00.0000000"),
        ("2026-03-27T00:00:00.0000000", BERLIN, "2026-03-28T00:00:00.0000000"),
        ("2026-03-28T00:00:00.0000000", BERLIN, "2026-03-29T00:00:00.0000000"),
        ("2026-03-29T00:00:00.0000000", BERLIN, "2026-03-30T00:00:00.0000000"),
        ("2026-03-31T09:00:00.0000000", BERLIN, "2026-03-31T10:00:00.0000000"),
    ]


async def test_occurrences_can_be_deleted_and_changed_through_the_api(
    fake: FakeGraph, auth: MicrosoftAuth, provider: GraphProvider, cal: str
) -> None:
    """DELETE on an occurrence's id cancels it; PATCH makes it an exception kept in the zone it was stated in."""
    series = tuesday_series(fake)
    token = await auth.app_tokens().token()
    base = f"{fake.graph_url}/users/{COACH}/events"
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.delete(f"{base}/{occurrence_id(series, date(2026, 3, 17))}") as response:
            assert response.status == 204
        body = {
            "start": {"dateTime": "2026-03-26T06:00:00", "timeZone": PACIFIC},
            "end": {"dateTime": "2026-03-26T07:00:00", "timeZone": PACIFIC},
        }
        async with session.patch(f"{base}/{occurrence_id(series, date(2026, 3, 24))}", json=body) as response:
            assert response.status == 200
            assert (await response.json())["type"] == "exception"
        async with session.get(f"{base}/{occurrence_id(series, date(2026, 3, 17))}") as response:
            assert response.status == 404
        async with session.get(f"{base}/{occurrence_id(series, date(2026, 3, 18))}") as response:
            assert response.status == 404  # a Wednesday: not an occurrence of a Tuesday series

    busy = await provider.busy([cal], SPRING)

    assert spans(busy[cal]) == CHANGED_TUESDAYS
    stored = fake.event(COACH, occurrence_id(series, date(2026, 3, 24)))
    assert stored is not None and stored["start"]["timeZone"] == PACIFIC


# ------------------------------------------------------------------------------------ the calendar service


@pytest.fixture
def service(settings: Settings, storage: Any, fake: FakeGraph, monkeypatch: pytest.MonkeyPatch) -> CalendarService:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fake.ca_file))
    return CalendarService(storage, lambda: datetime(2026, 3, 8, tzinfo=UTC), settings=settings)


async def _connect(auth: MicrosoftAuth, fake: FakeGraph) -> Any:
    params = await fake.consent(await auth.astart_url(COACH_ID))
    outcome = await auth.oauth_callback("microsoft", params)
    assert outcome.ok, outcome.message
    (account,) = auth.storage.calendars.accounts_for_person(COACH_ID)
    return account


async def test_service_sync_and_busy_follow_cancellations_and_exceptions(
    auth: MicrosoftAuth, fake: FakeGraph, service: CalendarService
) -> None:
    account = await _connect(auth, fake)
    series = tuesday_series(fake)
    all_day_series(fake)

    first = await service.sync(account.id)  # the sync window: 7 March - 7 May
    assert first.ok, first.error
    assert first.changed == 9 + 3  # Tuesdays 10 March - 5 May, three all-day days

    with_changes(series, fake)
    second = await service.sync(account.id)
    assert second.ok and second.changed == 2  # one removed, one changed

    week = Interval(utc(3, 16, 0), utc(3, 30, 0))
    busy = await service.busy(COACH_ID, week)  # served from what the sync cached
    assert [(b.start, b.end, b.all_day) for b in busy] == [
        (utc(3, 26, 13), utc(3, 26, 14), False),
        *((s, e, True) for s, e in ALL_DAY_BERLIN),
    ]
    live = await service.busy(COACH_ID, week, live=True)
    assert [(b.start, b.end, b.all_day) for b in live] == [(b.start, b.end, b.all_day) for b in busy]
