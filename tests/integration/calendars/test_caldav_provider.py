"""CalDAVProvider against a real Radicale: discovery, busy, sync-collection, conditional writes, faults.

The faults Radicale cannot produce (429, 5xx, stalls, unreadable answers) are in test_caldav_faults.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest

from bot.providers.caldav import CalDAVProvider
from bot.providers.httpcall import HttpPolicy
from bot.scheduling.intervals import Interval
from bot.scheduling.ports import EventDraft, NeedsReconnect, ProviderError, SyncTokenInvalid, WriteConflict
from tests.integration.calendars.conftest import PASSWORD, USER, Dav, FaultyProxy, RadicaleServer, start_radicale

FAST = HttpPolicy(timeout=5, attempts=2, backoff=0.01)
MARCH = Interval(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 24, tzinfo=UTC))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def vtz(*zones: str) -> str:
    return "".join(icalendar.Timezone.from_tzid(z).to_ical().decode() for z in zones)


def cal(body: str, *zones: str) -> str:
    return f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n{vtz(*zones)}{body}END:VCALENDAR\n"


RECURRING = cal(
    "BEGIN:VEVENT\nUID:weekly-1\nDTSTAMP:20260101T000000Z\nSUMMARY:Secret weekly\n"
    "DTSTART;TZID=Europe/Berlin:20260302T090000\nDTEND;TZID=Europe/Berlin:20260302T100000\n"
    "RRULE:FREQ=WEEKLY;BYDAY=MO\nEXDATE;TZID=Europe/Berlin:20260309T090000\nEND:VEVENT\n"
    "BEGIN:VEVENT\nUID:weekly-1\nDTSTAMP:20260101T000000Z\nSUMMARY:Secret weekly (moved)\n"
    "RECURRENCE-ID;TZID=Europe/Berlin:20260316T090000\n"
    "DTSTART;TZID=America/New_York:20260316T100000\nDTEND;TZID=America/New_York:20260316T110000\nEND:VEVENT\n",
    "Europe/Berlin",
    "America/New_York",
)
ALL_DAY = cal("BEGIN:VEVENT\nUID:allday-1\nDTSTAMP:20260101T000000Z\nDTSTART;VALUE=DATE:20260305\n"
              "DTEND;VALUE=DATE:20260306\nSUMMARY:Holiday\nEND:VEVENT\n")
TRANSPARENT = cal("BEGIN:VEVENT\nUID:transp-1\nDTSTAMP:20260101T000000Z\nDTSTART:20260304T120000Z\n"
                  "DTEND:20260304T130000Z\nTRANSP:TRANSPARENT\nSUMMARY:Reminder\nEND:VEVENT\n")
TENTATIVE = cal("BEGIN:VEVENT\nUID:tent-1\nDTSTAMP:20260101T000000Z\nDTSTART:20260304T150000Z\n"
                "DTEND:20260304T160000Z\nSTATUS:TENTATIVE\nEND:VEVENT\n")
CANCELLED = cal("BEGIN:VEVENT\nUID:canc-1\nDTSTAMP:20260101T000000Z\nDTSTART:20260304T170000Z\n"
                "DTEND:20260304T180000Z\nSTATUS:CANCELLED\nEND:VEVENT\n")
DECLINED = cal(
    "BEGIN:VEVENT\nUID:decl-1\nDTSTAMP:20260101T000000Z\nDTSTART:20260306T100000Z\nDTEND:20260306T110000Z\n"
    "ORGANIZER:mailto:boss@example.com\n"
    f"ATTENDEE;PARTSTAT=DECLINED:mailto:{USER}\nATTENDEE;PARTSTAT=ACCEPTED:mailto:boss@example.com\nEND:VEVENT\n"
)
ACCEPTED = cal(
    "BEGIN:VEVENT\nUID:acc-1\nDTSTAMP:20260101T000000Z\nDTSTART:20260306T120000Z\nDTEND:20260306T130000Z\n"
    "ORGANIZER:mailto:boss@example.com\n"
    f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{USER}\nEND:VEVENT\n"
)


def provider(server: RadicaleServer, *, password: str = PASSWORD, tz: str = "Europe/Berlin") -> CalDAVProvider:
    return provider_at(server.url, password=password, tz=tz)


def provider_at(
    url: str, *, password: str = PASSWORD, tz: str = "Europe/Berlin", policy: HttpPolicy = FAST
) -> CalDAVProvider:
    return CalDAVProvider(url, username=USER, password=password, default_tz=tz, policy=policy)


def draft(booking_id: str, start: str, minutes: int = 30) -> EventDraft:
    begin = utc(start)
    return EventDraft(booking_id=booking_id, interval=Interval(begin, begin + timedelta(minutes=minutes)),
                      title="Coaching session", timezone="Europe/Berlin")


async def test_discovers_the_calendars(radicale: RadicaleServer, dav: Dav) -> None:
    work = await dav.make_calendar(display="Work")
    home = await dav.make_calendar(display="Home")
    async with provider(radicale) as p:
        calendars = await p.list_calendars()
    by_id = {c.external_id: c for c in calendars}
    assert by_id[work].name == "Work" and by_id[home].name == "Home"
    assert not by_id[work].read_only
    assert sum(c.primary for c in calendars) == 1


async def test_busy_expands_recurrences_overrides_all_day_and_flags(radicale: RadicaleServer, dav: Dav) -> None:
    url = await dav.make_calendar(display="Work")
    for name, ics in [("rec", RECURRING), ("allday", ALL_DAY), ("transp", TRANSPARENT), ("tent", TENTATIVE),
                      ("canc", CANCELLED), ("decl", DECLINED), ("acc", ACCEPTED)]:
        await dav.put(url, name, ics)
    async with provider(radicale) as p:
        busy = (await p.busy([url], MARCH))[url]
    got = [(b.start, b.end, b.transparency, b.status, b.all_day) for b in busy]
    assert got == [
        (utc("2026-03-02 08:00"), utc("2026-03-02 09:00"), "opaque", "confirmed", False),  # 09:00 Berlin (CET)
        (utc("2026-03-04 12:00"), utc("2026-03-04 13:00"), "transparent", "confirmed", False),
        (utc("2026-03-04 15:00"), utc("2026-03-04 16:00"), "opaque", "tentative", False),
        (utc("2026-03-04 23:00"), utc("2026-03-05 23:00"), "opaque", "confirmed", True),  # Berlin midnight
        (utc("2026-03-06 12:00"), utc("2026-03-06 13:00"), "opaque", "confirmed", False),  # accepted counts
        # 9 March excluded (EXDATE); 16 March moved to 10:00 New York (EDT) = 14:00 UTC
        (utc("2026-03-16 14:00"), utc("2026-03-16 15:00"), "opaque", "confirmed", False),
        (utc("2026-03-23 08:00"), utc("2026-03-23 09:00"), "opaque", "confirmed", False),
    ]
    assert all(b.source == url for b in busy)


async def test_create_twice_with_one_booking_id_makes_one_event(radicale: RadicaleServer, dav: Dav) -> None:
    url = await dav.make_calendar()
    async with provider(radicale) as p:
        first = await p.create_event(url, draft("bk1", "2026-03-10 09:00"))
        second = await p.create_event(url, draft("bk1", "2026-03-10 09:00"))
        assert first.external_id == second.external_id and first.booking_id == "bk1"
        listing = await p.changes(url, token=None, window=MARCH)
    assert [e.booking_id for e in listing.changed] == ["bk1"]
    assert listing.changed[0].busy.kind == "booking"
    status, text, _ = await dav.get(first.external_id)
    assert status == 200 and "X-SCHEDBOT-BOOKING:bk1" in text and "UID:bk1@schedbot" in text


async def test_update_with_a_stale_etag_conflicts_then_succeeds_with_the_fresh_one(
    radicale: RadicaleServer, dav: Dav
) -> None:
    url = await dav.make_calendar()
    async with provider(radicale) as p:
        created = await p.create_event(url, draft("bk2", "2026-03-10 09:00"))
        assert created.etag
        moved = await p.update_event(url, created.external_id, draft("bk2", "2026-03-10 11:00"), etag=created.etag)
        with pytest.raises(WriteConflict):
            await p.update_event(url, created.external_id, draft("bk2", "2026-03-10 12:00"), etag=created.etag)
        fresh = await p.get_event(url, created.external_id)
        assert fresh is not None and fresh.etag == moved.etag and fresh.busy.start == utc("2026-03-10 11:00")
        await p.update_event(url, created.external_id, draft("bk2", "2026-03-10 12:00"), etag=fresh.etag)
        again = await p.get_event(url, created.external_id)
    assert again is not None and again.busy.start == utc("2026-03-10 12:00")


async def test_delete_and_delete_again(radicale: RadicaleServer, dav: Dav) -> None:
    url = await dav.make_calendar()
    async with provider(radicale) as p:
        created = await p.create_event(url, draft("bk3", "2026-03-10 09:00"))
        await p.delete_event(url, created.external_id, etag=created.etag)
        await p.delete_event(url, created.external_id)  # already gone: fine
        assert await p.get_event(url, created.external_id) is None
    status, _, _ = await dav.get(created.external_id)
    assert status == 404


async def test_sync_collection_sees_adds_changes_and_deletes(radicale: RadicaleServer, dav: Dav) -> None:
    url = await dav.make_calendar()
    await dav.put(url, "a", TENTATIVE)
    await dav.put(url, "b", TRANSPARENT)
    async with provider(radicale) as p:
        first = await p.changes(url, token=None, window=MARCH)
        assert first.full and first.token and len(first.changed) == 2
        await dav.put(url, "c", ALL_DAY)
        await dav.put(url, "a", TENTATIVE.replace("STATUS:TENTATIVE\n", ""))
        await dav.delete(f"{url}b.ics")
        second = await p.changes(url, token=first.token, window=MARCH)
        assert not second.full and second.token != first.token
        assert sorted(e.external_id.rsplit("/", 1)[-1] for e in second.changed) == ["a.ics", "c.ics"]
        assert [d.rsplit("/", 1)[-1] for d in second.deleted] == ["b.ics"]
        assert {e.busy.status for e in second.changed} == {"confirmed"}
        third = await p.changes(url, token=second.token, window=MARCH)
        assert third.changed == () and third.deleted == ()
        with pytest.raises(SyncTokenInvalid):
            await p.changes(url, token="http://radicale.org/ns/sync/not-a-token", window=MARCH)


async def test_wrong_password_needs_reconnect(radicale: RadicaleServer) -> None:
    async with provider(radicale, password="wrong") as p:
        with pytest.raises(NeedsReconnect):
            await p.list_calendars()


async def test_a_stopped_server_is_an_error_never_no_events(tmp_path, dav: Dav) -> None:  # type: ignore[no-untyped-def]
    server = start_radicale(tmp_path / "short-lived")
    try:
        own = Dav(server.url, dav.session)
        url = await own.make_calendar()
        await own.put(url, "a", TENTATIVE)
        async with provider(server) as p:
            assert len((await p.busy([url], MARCH))[url]) == 1
            server.stop()
            with pytest.raises(ProviderError, match="tried 2 times"):
                await p.busy([url], MARCH)
    finally:
        server.stop()


async def test_a_second_create_is_refused_by_the_server_and_never_overwrites(
    radicale: RadicaleServer, dav: Dav, faulty: FaultyProxy
) -> None:
    url = await dav.make_calendar()
    via = url.replace(radicale.url, faulty.url)
    async with provider_at(faulty.url) as p:
        first = await p.create_event(via, draft("bk5", "2026-03-10 09:00"))
        # a retry of the same booking, even one that says something else, finds the first event and leaves it be
        again = await p.create_event(via, draft("bk5", "2026-03-12 15:00"))
        assert again.external_id == first.external_id and again.etag == first.etag
        puts = faulty.requests("PUT")
        assert [s.headers.get("If-None-Match") for s in puts] == ["*", "*"]
        assert [s.headers.get("If-Match") for s in puts] == [None, None]
        assert [s.method for s in faulty.seen[-2:]] == ["PUT", "GET"]  # the refused PUT, then reading what is there
    status, text, etag = await dav.get(first.external_id.replace(faulty.url, radicale.url))
    assert status == 200 and "DTSTART:20260310T090000Z" in text and etag == first.etag
    # someone else's event where the booking's event belongs: refused, and left alone
    name = "schedbot-bk6"
    other = await dav.put(url, name, TENTATIVE)
    async with provider(radicale) as p:
        with pytest.raises(ProviderError, match="already has another event"):
            await p.create_event(url, draft("bk6", "2026-03-10 09:00"))
    assert (await dav.get(f"{url}{name}.ics"))[2] == other


async def test_an_update_with_a_stale_etag_is_refused_and_changes_nothing(
    radicale: RadicaleServer, dav: Dav, faulty: FaultyProxy
) -> None:
    url = await dav.make_calendar()
    via = url.replace(radicale.url, faulty.url)
    async with provider_at(faulty.url) as p:
        created = await p.create_event(via, draft("bk7", "2026-03-10 09:00"))
        resource = created.external_id.replace(faulty.url, radicale.url)
        _, text, _ = await dav.get(resource)
        edited = await dav.put(url, "schedbot-bk7", text.replace("Coaching session", "Coaching (coach's own notes)"))
        with pytest.raises(WriteConflict):
            await p.update_event(via, created.external_id, draft("bk7", "2026-03-10 12:00"), etag=created.etag)
        assert faulty.requests("PUT")[-1].headers.get("If-Match") == created.etag
        status, text, etag = await dav.get(resource)
        assert status == 200 and etag == edited and "coach's own notes" in text and "T120000Z" not in text
        # the refetch the calendar service does after a conflict: the current etag, and then the update goes in
        current = await p.get_event(via, created.external_id)
        assert current is not None and current.etag == edited and current.booking_id == "bk7"
        moved = await p.update_event(via, created.external_id, draft("bk7", "2026-03-10 12:00"), etag=current.etag)
        assert faulty.requests("PUT")[-1].headers.get("If-Match") == edited
        # deleting with a stale etag is refused too
        with pytest.raises(WriteConflict):
            await p.delete_event(via, created.external_id, etag=edited)
        await p.delete_event(via, created.external_id, etag=moved.etag)
    assert (await dav.get(resource))[0] == 404
