"""CalDAVProvider when the server misbehaves: a loopback proxy in front of the real Radicale answers some
requests itself (429, 5xx, a stall, 403, an oversized or unreadable answer) and passes the rest through."""

from __future__ import annotations

import time

import pytest

from bot.providers.httpcall import HttpPolicy
from bot.scheduling.ports import NeedsReconnect, ProviderError, SyncTokenInvalid
from tests.integration.calendars.conftest import (
    Dav,
    Fault,
    FaultyProxy,
    RadicaleServer,
    without_calendar_data,
)
from tests.integration.calendars.test_caldav_provider import ALL_DAY, MARCH, TENTATIVE, draft, provider_at

QUERY = b"calendar-query"
MULTIGET = b"calendar-multiget"


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
