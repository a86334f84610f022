"""CalDAVProvider when the server misbehaves: a loopback proxy in front of the real Radicale answers some
requests itself (429, 5xx, a stall, 403, an oversized or unreadable answer), truncates sync-collection answers
(RFC 6578 section 3.6), cuts answers off mid-transfer, and passes the rest through."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Literal

import aiohttp
import pytest

from bot.providers.httpcall import HttpPolicy
from bot.scheduling.ports import NeedsReconnect, ProviderError, SyncTokenInvalid
from tests.integration.calendars.conftest import (
    PASSWORD,
    USER,
    Dav,
    Fault,
    FaultyProxy,
    RadicaleServer,
    SyncPages,
    without_calendar_data,
)
from tests.integration.calendars.test_caldav_provider import (
    ALL_DAY,
    MARCH,
    TENTATIVE,
    cal,
    draft,
    provider_at,
    utc,
)
from tests.integration.calendars.test_calendar_service import World

QUERY = b"calendar-query"
MULTIGET = b"calendar-multiget"
SYNC = b"sync-collection"
Cut = Literal["length", "chunked"]
CUTS: list[Cut] = ["length", "chunked"]


async def calendar_with_events(dav: Dav, radicale: RadicaleServer, faulty: FaultyProxy) -> tuple[str, str]:
    """A calendar with two events; its URL on Radicale and through the proxy."""
    url = await dav.make_calendar(display="Work")
    await dav.put(url, "t", TENTATIVE)
    await dav.put(url, "d", ALL_DAY)
    return url, url.replace(radicale.url, faulty.url)


def policy(**changes: float) -> HttpPolicy:
    values: dict[str, float] = {"timeout": 5, "attempts": 2, "backoff": 0.01, "max_retry_after": 30}
    values.update(changes)
    return HttpPolicy(timeout=values["timeout"], attempts=int(values["attempts"]), backoff=values["backoff"],
                      max_retry_after=values["max_retry_after"])


async def test_429_waits_as_long_as_retry_after_says(radicale: RadicaleServer, dav: Dav, faulty: FaultyProxy) -> None:
    _, via = await calendar_with_events(dav, radicale, faulty)
    async with provider_at(faulty.url, policy=policy(backoff=0.01)) as p:
        await p.list_calendars()
        faulty.add(Fault("REPORT", QUERY, status=429, headers={"Retry-After": "1"}))
        busy = (await p.busy([via], MARCH))[via]
    assert len(busy) == 2
    first, second = faulty.requests("REPORT", QUERY)
    assert first.faulted and not second.faulted
    assert second.at - first.at >= 0.95  # the server's 1 second, not our 0.01


async def test_retry_after_is_capped(radicale: RadicaleServer, dav: Dav, faulty: FaultyProxy) -> None:
    _, via = await calendar_with_events(dav, radicale, faulty)
    async with provider_at(faulty.url, policy=policy(max_retry_after=0.2)) as p:
        faulty.add(Fault("REPORT", QUERY, status=503, headers={"Retry-After": "3"}))
        started = time.monotonic()
        assert len((await p.busy([via], MARCH))[via]) == 2
    assert time.monotonic() - started < 2.5


async def test_5xx_is_retried_with_growing_waits_then_fails_closed(
    radicale: RadicaleServer, dav: Dav, faulty: FaultyProxy
) -> None:
    _, via = await calendar_with_events(dav, radicale, faulty)
    async with provider_at(faulty.url, policy=policy(attempts=3, backoff=0.2)) as p:
        await p.list_calendars()
        faulty.add(Fault("REPORT", QUERY, times=2, status=502))
        assert len((await p.busy([via], MARCH))[via]) == 2  # the third attempt gets through
        a, b, c = faulty.requests("REPORT", QUERY)
        assert [a.faulted, b.faulted, c.faulted] == [True, True, False]
        assert b.at - a.at >= 0.2 and c.at - b.at >= 0.4  # backoff, doubling
        faulty.add(Fault("REPORT", QUERY, times=3, status=500))
        with pytest.raises(ProviderError, match=r"HTTP 500 \(tried 3 times\)") as caught:
            await p.busy([via], MARCH)
    assert not isinstance(caught.value, NeedsReconnect)
    assert len(faulty.requests("REPORT", QUERY)) == 6


async def test_a_stalled_answer_times_out(radicale: RadicaleServer, dav: Dav, faulty: FaultyProxy) -> None:
    _, via = await calendar_with_events(dav, radicale, faulty)
    async with provider_at(faulty.url, policy=policy(timeout=0.3)) as p:
        await p.list_calendars()
        faulty.add(Fault("REPORT", QUERY, times=2, delay=3))
        started = time.monotonic()
        with pytest.raises(ProviderError, match=r"no answer within 0.3 seconds \(tried 2 times\)"):
            await p.busy([via], MARCH)
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_an_oversized_answer_is_refused(
    radicale: RadicaleServer, dav: Dav, faulty: FaultyProxy, chunked: bool
) -> None:
    url, via = await calendar_with_events(dav, radicale, faulty)
    padding = "".join(f"X-PAD-{n}:{'x' * 60}\n" for n in range(200))  # ~14 KB
    await dav.put(url, "big", TENTATIVE.replace("tent-1", "big-1").replace("END:VEVENT", padding + "END:VEVENT"))
    async with provider_at(faulty.url, policy=policy()) as p:
        assert len((await p.busy([via], MARCH))[via]) == 3
    small = HttpPolicy(timeout=5, attempts=2, backoff=0.01, max_bytes=8 * 1024)
    async with provider_at(faulty.url, policy=small) as p:
        await p.list_calendars()
        faulty.add(Fault("REPORT", QUERY, rewrite=lambda body: body, chunked=chunked))
        with pytest.raises(ProviderError, match="sent more than 8 KB"):
            await p.busy([via], MARCH)


async def test_an_answer_that_is_not_xml_is_an_error(radicale: RadicaleServer, dav: Dav, faulty: FaultyProxy) -> None:
    _, via = await calendar_with_events(dav, radicale, faulty)
    async with provider_at(faulty.url, policy=policy()) as p:
        await p.list_calendars()
        faulty.add(Fault("REPORT", QUERY, status=207, headers={"Content-Type": "application/xml"},
                         body=b"<html><body>Sign in"))
        with pytest.raises(ProviderError, match="not valid XML"):
            await p.busy([via], MARCH)


async def test_403_on_a_write_is_an_error_but_on_discovery_asks_to_reconnect(
    radicale: RadicaleServer, dav: Dav, faulty: FaultyProxy
) -> None:
    _, via = await calendar_with_events(dav, radicale, faulty)
    async with provider_at(faulty.url, policy=policy()) as p:
        faulty.add(Fault("PUT", status=403))
        with pytest.raises(ProviderError, match="HTTP 403") as caught:
            await p.create_event(via, draft("bk-403", "2026-03-10 09:00"))
        assert not isinstance(caught.value, NeedsReconnect)
    async with provider_at(faulty.url, policy=policy()) as p:
        faulty.add(Fault("PROPFIND", b"current-user-privilege-set", status=403))
        with pytest.raises(NeedsReconnect, match="HTTP 403"):
            await p.list_calendars()


async def test_a_sync_token_refused_with_412_means_resync(
    radicale: RadicaleServer, dav: Dav, faulty: FaultyProxy
) -> None:
    _, via = await calendar_with_events(dav, radicale, faulty)
    refused = b'<?xml version="1.0"?><D:error xmlns:D="DAV:"><D:valid-sync-token/></D:error>'
    async with provider_at(faulty.url, policy=policy()) as p:
        first = await p.changes(via, token=None, window=MARCH)
        faulty.add(Fault("REPORT", b"sync-collection", status=412, headers={"Content-Type": "application/xml"},
                         body=refused))
        with pytest.raises(SyncTokenInvalid):
            await p.changes(via, token=first.token, window=MARCH)
        faulty.add(Fault("REPORT", b"sync-collection", status=500, times=2))
        with pytest.raises(ProviderError, match="HTTP 500") as caught:
            await p.changes(via, token=first.token, window=MARCH)
        assert not isinstance(caught.value, SyncTokenInvalid)  # a broken server is no reason to start over


async def test_data_the_library_fetches_itself_and_its_failures(
    radicale: RadicaleServer, dav: Dav, faulty: FaultyProxy
) -> None:
    """A server answering the search with ETags only: the library fetches the data (calendar-multiget, then GET
    per event when that fails) and drops what it could not fetch.  Those failures still fail the query."""
    _, via = await calendar_with_events(dav, radicale, faulty)
    async with provider_at(faulty.url, policy=policy()) as p:
        await p.list_calendars()
        faulty.add(Fault("REPORT", QUERY, rewrite=without_calendar_data))
        assert len((await p.busy([via], MARCH))[via]) == 2
        assert len(faulty.requests("REPORT", MULTIGET)) == 1
        faulty.add(Fault("REPORT", QUERY, rewrite=without_calendar_data))
        faulty.add(Fault("REPORT", MULTIGET, times=2, status=503))
        faulty.add(Fault("GET", times=10, status=503))
        with pytest.raises(ProviderError, match=r"HTTP 503 \(tried 2 times\)"):
            await p.busy([via], MARCH)
    assert len(faulty.requests("GET")) >= 2  # the library did try its per-event fallback, and it failed too


async def test_an_address_without_a_principal_falls_back_to_the_well_known_one(
    radicale: RadicaleServer, dav: Dav, faulty: FaultyProxy
) -> None:
    _, via = await calendar_with_events(dav, radicale, faulty)
    silent = (b'<?xml version="1.0"?><multistatus xmlns="DAV:"><response><href>/</href><propstat><prop>'
              b"<current-user-principal/></prop><status>HTTP/1.1 404 Not Found</status></propstat></response>"
              b"</multistatus>")
    faulty.add(Fault("PROPFIND", b"current-user-principal", status=207, body=silent,
                     headers={"Content-Type": "application/xml"}))
    async with provider_at(faulty.url, policy=policy()) as p:
        calendars = await p.list_calendars()
    assert via in {c.external_id for c in calendars}
    assert [s.path for s in faulty.requests("PROPFIND", b"current-user-principal")][:2] == ["/", "/.well-known/caldav"]


# --- truncated sync ---------------------------------------------------------------------------------------------


def event(uid: str, start: str, minutes: int = 60) -> str:
    begin = utc(start)
    end = begin + timedelta(minutes=minutes)
    stamp = "%Y%m%dT%H%M%SZ"
    return cal(f"BEGIN:VEVENT\nUID:{uid}\nDTSTAMP:20260101T000000Z\nDTSTART:{begin.strftime(stamp)}\n"
               f"DTEND:{end.strftime(stamp)}\nSUMMARY:{uid}\nEND:VEVENT\n")


def stored_token(world: World, calendar_id: str) -> str | None:
    calendar = world.storage.calendars.get_calendar(calendar_id)
    assert calendar is not None
    return calendar.sync_token




async def test_a_truncated_sync_is_followed_from_each_checkpoint_to_the_end(
    radicale: RadicaleServer, dav: Dav, faulty: FaultyProxy
) -> None:
    """RFC 6578 section 3.6: a page of changes, a 507 for the collection and a checkpoint token.  The client
    asks again from each checkpoint until an answer is not truncated, and gets every change exactly once."""
    url = await dav.make_calendar(display="Work")
    via = url.replace(radicale.url, faulty.url)
    for name, start in [("a", "2026-03-02 09:00"), ("b", "2026-03-03 09:00"), ("c", "2026-03-04 09:00")]:
        await dav.put(url, name, event(name, start))
    async with provider_at(faulty.url, policy=policy()) as p:
        first = await p.changes(via, token=None, window=MARCH)
        ids = {e.external_id.rsplit("/", 1)[-1]: e.external_id for e in first.changed}
        assert sorted(ids) == ["a.ics", "b.ics", "c.ics"] and first.token
        base = ids["a.ics"].removesuffix("a.ics")
        await dav.delete(f"{url}a.ics")
        await dav.delete(f"{url}b.ics")
        await dav.put(url, "c", event("c", "2026-03-12 09:00"))  # moved
        for name, start in [("d", "2026-03-05 09:00"), ("e", "2026-03-06 09:00"), ("f", "2026-03-07 09:00")]:
            await dav.put(url, name, event(name, start))
        pages = SyncPages(2)
        faulty.add(pages.fault())
        got = await p.changes(via, token=first.token, window=MARCH)
        # the server really truncated: three pages of two changes, each asked for from the previous checkpoint
        assert [(len(page.changes), page.truncated) for page in pages.pages] == [(2, True), (2, True), (2, False)]
        assert [page.asked for page in pages.pages] == [first.token, pages.pages[0].token, pages.pages[1].token]
        assert len({href for page in pages.pages for href in page.changes}) == 6
        # every change, exactly: two deletions, one move, three additions
        assert sorted(got.deleted) == [base + "a.ics", base + "b.ics"]
        assert sorted((e.external_id, e.busy.start) for e in got.changed) == [
            (base + "c.ics", utc("2026-03-12 09:00")),
            (base + "d.ics", utc("2026-03-05 09:00")),
            (base + "e.ics", utc("2026-03-06 09:00")),
            (base + "f.ics", utc("2026-03-07 09:00")),
        ]
        assert not got.full
        # the token kept is Radicale's own, from the last page, not a checkpoint: nothing is left behind it
        assert got.token == pages.pages[-1].token and not got.token.startswith(SyncPages.CHECKPOINT)
        after = await p.changes(via, token=got.token, window=MARCH)
        assert (after.changed, after.deleted) == ((), ())
    assert len(faulty.requests("REPORT", SYNC)) == 4


@pytest.mark.parametrize(("page_size", "progress"), [(1, False), (0, True)], ids=["no-new-token", "endless"])
async def test_a_truncated_sync_that_cannot_be_completed_means_resync(
    radicale: RadicaleServer, dav: Dav, faulty: FaultyProxy, page_size: int, progress: bool
) -> None:
    """A 507 whose token is the one the client sent (it cannot go on from there), or checkpoints that never end
    (the library gives up after its page limit): the client must start over (SyncTokenInvalid) rather than take
    what it got for all the changes."""
    url, via = await calendar_with_events(dav, radicale, faulty)
    async with provider_at(faulty.url, policy=policy()) as p:
        first = await p.changes(via, token=None, window=MARCH)
        for name, start in [("x", "2026-03-05 09:00"), ("y", "2026-03-06 09:00"), ("z", "2026-03-07 09:00")]:
            await dav.put(url, name, event(name, start))
        pages = SyncPages(page_size, progress=progress)
        faulty.add(pages.fault())
        with pytest.raises(SyncTokenInvalid):
            await p.changes(via, token=first.token, window=MARCH)
    assert pages.pages and all(page.truncated for page in pages.pages)
    if progress:  # followed checkpoint after checkpoint, then gave up
        assert len(pages.pages) > 10 and pages.pages[-1].asked == pages.pages[-2].token
    else:
        assert [(len(page.changes), page.token) for page in pages.pages] == [(1, first.token)]


@pytest.mark.parametrize("progress", [True, False], ids=["checkpoints", "no-new-token"])
async def test_calendar_service_sync_of_a_truncated_answer_misses_nothing(
    world: World, radicale: RadicaleServer, dav: Dav, faulty: FaultyProxy, progress: bool
) -> None:
    """Through CalendarService.sync and storage: booking events deleted in the calendar are all noticed, once,
    and the stored token is one that lists nothing more (not a checkpoint, not the token we had)."""
    url = await dav.make_calendar(display="Work")
    via = url.replace(radicale.url, faulty.url)
    account, calendar = world.connect(faulty.url, via)
    for n in range(1, 4):
        assert await world.service.write_booking(world.booking(f"b{n}", f"2026-03-1{n} 09:00")) == []
    assert (await world.service.sync(account.id)).ok
    token = stored_token(world, calendar.id)
    assert token
    for booking_id in ("b1", "b2"):
        await dav.delete(world.storage.calendars.booking_events(booking_id)[0].external_id.replace(faulty.url,
                                                                                                  radicale.url))
    await dav.put(url, "x", event("x", "2026-03-05 09:00"))
    await dav.put(url, "y", event("y", "2026-03-06 09:00"))
    pages = SyncPages(1, progress=progress)
    faulty.add(pages.fault())
    report = await world.service.sync(account.id)
    assert report.ok, report.error
    assert sorted(report.deleted_bookings) == ["b1", "b2"] and sorted(world.deleted) == ["b1", "b2"]
    if progress:
        assert [(len(page.changes), page.truncated) for page in pages.pages] == [(1, True)] * 3 + [(1, False)]
    else:  # the truncated page was dropped; the full listing found the deletions by absence
        assert [(len(page.changes), page.truncated) for page in pages.pages] == [(1, True)]
    stored = stored_token(world, calendar.id)
    assert stored and stored != token and not stored.startswith(SyncPages.CHECKPOINT)
    assert world.storage.calendars.booking_events("b3") and not world.storage.calendars.booking_events("b1")
    again = await world.service.sync(account.id)
    assert again.ok and again.changed == 0 and again.deleted_bookings == ()
    assert sorted(world.deleted) == ["b1", "b2"]


# --- answers cut off mid-transfer -------------------------------------------------------------------------------


@pytest.mark.parametrize("cut", CUTS)
async def test_the_proxy_really_cuts_the_answer_short(
    radicale: RadicaleServer, dav: Dav, faulty: FaultyProxy, cut: Cut
) -> None:
    """The fault itself, seen by a plain HTTP client: a complete first <response>, then the connection closes."""
    _, via = await calendar_with_events(dav, radicale, faulty)
    body = ('<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            '<D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"/></C:filter>'
            "</C:calendar-query>")
    faulty.add(Fault("REPORT", QUERY, cut=cut))
    auth = {"Authorization": aiohttp.encode_basic_auth(USER, PASSWORD), "Depth": "1"}
    async with dav.session.request("REPORT", via, data=body, headers=auth) as r:
        assert r.status == 207
        assert ("Content-Length" in r.headers) == (cut == "length")
        received = b""
        with pytest.raises(aiohttp.ClientPayloadError):
            async for chunk in r.content.iter_any():
                received += chunk
    assert received.count(b"</response>") == 1 and received.endswith(b"</response>")


@pytest.mark.parametrize("cut", CUTS)
async def test_a_busy_answer_cut_short_fails_closed(
    radicale: RadicaleServer, dav: Dav, faulty: FaultyProxy, cut: Cut
) -> None:
    """The time-range REPORT's answer stops after its first event: an error (once retried), never one event."""
    _, via = await calendar_with_events(dav, radicale, faulty)
    async with provider_at(faulty.url, policy=policy()) as p:
        await p.list_calendars()
        faulty.add(Fault("REPORT", QUERY, times=2, cut=cut))
        with pytest.raises(ProviderError, match=r"tried 2 times") as caught:
            await p.busy([via], MARCH)
        assert not isinstance(caught.value, NeedsReconnect)
        assert [s.faulted for s in faulty.requests("REPORT", QUERY)] == [True, True]
        faulty.add(Fault("REPORT", QUERY, cut=cut))  # once: the retry reads the whole answer
        assert len((await p.busy([via], MARCH))[via]) == 2


@pytest.mark.parametrize("cut", CUTS)
@pytest.mark.parametrize("target", [SYNC, MULTIGET], ids=["sync-collection", "multiget"])
async def test_a_sync_answer_cut_short_fails_and_keeps_the_token(
    world: World, radicale: RadicaleServer, dav: Dav, faulty: FaultyProxy, cut: Cut, target: bytes
) -> None:
    """The sync-collection REPORT (or the multiget of what changed) stops mid-answer: the sync fails, the stored
    token stays where it was, and the next good sync still sees the deleted booking event."""
    url = await dav.make_calendar(display="Work")
    via = url.replace(radicale.url, faulty.url)
    account, calendar = world.connect(faulty.url, via)
    for n in (1, 2):
        assert await world.service.write_booking(world.booking(f"b{n}", f"2026-03-1{n} 09:00")) == []
    assert (await world.service.sync(account.id)).ok
    token = stored_token(world, calendar.id)
    assert token
    await dav.delete(world.storage.calendars.booking_events("b1")[0].external_id.replace(faulty.url, radicale.url))
    await dav.put(url, "x", event("x", "2026-03-05 09:00"))  # something for the multiget to fetch
    await dav.put(url, "y", event("y", "2026-03-06 09:00"))
    faulty.add(Fault("REPORT", target, times=2, cut=cut))
    failed = await world.service.sync(account.id)
    assert not failed.ok and "tried 2 times" in (failed.error or "")
    assert [s.faulted for s in faulty.requests("REPORT", target)][-2:] == [True, True]
    assert stored_token(world, calendar.id) == token
    assert world.deleted == [] and world.storage.calendars.booking_events("b1")
    report = await world.service.sync(account.id)
    assert report.ok, report.error
    assert report.deleted_bookings == ("b1",) and world.deleted == ["b1"]
    assert report.changed == 3  # one deletion, two additions: an incremental sync from the kept token
    assert stored_token(world, calendar.id) not in (None, token)
