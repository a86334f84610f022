"""Pure parts of the CalDAV provider: event expansion to RemoteEvents, the booking event's iCalendar, ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest

from bot.providers.caldav import CalDAVProvider, _resource, booking_event_ics, booking_uid
from bot.providers.ics_events import BOOKING_PROPERTY, remote_events
from bot.providers.ics_events import canonical_url as _canon
from bot.scheduling.intervals import Interval
from bot.scheduling.ports import EventDraft, ProviderError

WINDOW = Interval(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC))
HREF = "https://dav.example.com/u/work/a%40b.ics"


def vcal(body: str) -> str:
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{body}END:VCALENDAR\r\n"


def test_booking_event_round_trips_with_marker_and_derived_uid() -> None:
    start = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    draft = EventDraft("bk-9", Interval(start, start + timedelta(minutes=45)), "Session with Ann",
                       description="notes", attendees=("ann@example.com",))
    data = booking_event_ics(draft, now=start)
    event = next(iter(icalendar.Calendar.from_ical(data).walk("VEVENT")))
    assert str(event["UID"]) == booking_uid("bk-9") == "bk-9@schedbot"
    assert str(event[BOOKING_PROPERTY]) == "bk-9"
    assert "ATTENDEE" not in event  # no invitations sent by the server
    [remote] = remote_events(data, href=HREF, etag='"e1"', window=WINDOW, default_tz="UTC")
    assert remote.booking_id == "bk-9" and remote.busy.kind == "booking" and remote.busy.source == "booking:bk-9"
    assert remote.busy.interval == draft.interval and remote.external_id == _canon(HREF) and remote.etag == '"e1"'


def test_declined_instances_and_whole_declined_series_are_not_busy() -> None:
    data = vcal(
        "BEGIN:VEVENT\r\nUID:s\r\nDTSTART:20260302T100000Z\r\nDTEND:20260302T110000Z\r\n"
        "RRULE:FREQ=DAILY;COUNT=3\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:Me@Example.com\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:s\r\nRECURRENCE-ID:20260303T100000Z\r\nDTSTART:20260303T100000Z\r\n"
        "DTEND:20260303T110000Z\r\nATTENDEE;PARTSTAT=DECLINED:mailto:me@example.com\r\nEND:VEVENT\r\n"
    )
    events = remote_events(data, href=HREF, etag=None, window=WINDOW, default_tz="UTC",
                           owner_addresses=["mailto:me@example.com"])
    assert [e.busy.start.day for e in events] == [2, 4]
    assert [e.external_id for e in events] == [f"{_canon(HREF)}@2026-03-02T10:00:00Z",
                                               f"{_canon(HREF)}@2026-03-04T10:00:00Z"]
    assert _resource(events[0].external_id) == _canon(HREF)
    # someone else declining does not free the owner's time; without owner addresses nothing is dropped
    assert len(remote_events(data, href=HREF, etag=None, window=WINDOW, default_tz="UTC",
                             owner_addresses=["mailto:other@example.com"])) == 3


def test_unreadable_and_oversized_calendars_are_errors() -> None:
    with pytest.raises(ProviderError):
        remote_events(b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:garbage\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
                      href=HREF, etag=None, window=WINDOW, default_tz="UTC")
    daily = vcal("BEGIN:VEVENT\r\nUID:d\r\nDTSTART:20260101T100000Z\r\nDTEND:20260101T101000Z\r\n"
                 "RRULE:FREQ=HOURLY\r\nEND:VEVENT\r\n")
    with pytest.raises(ProviderError, match="more than 50"):
        remote_events(daily, href=HREF, etag=None, window=WINDOW, default_tz="UTC", max_instances=50)


def test_provider_refuses_bad_addresses_and_hides_the_password() -> None:
    with pytest.raises(ValueError, match="https://"):
        CalDAVProvider("caldav.example.com", username="u", password="p")
    with pytest.raises(ValueError, match="own fields"):
        CalDAVProvider("https://u:p@caldav.example.com/", username="u", password="p")
    provider = CalDAVProvider("https://caldav.example.com", username="u", password="hunter2")
    assert "hunter2" not in repr(provider)
    assert _canon("https://DAV.example.com/a%20b/c.ics?x=1") == "https://dav.example.com/a%20b/c.ics"
