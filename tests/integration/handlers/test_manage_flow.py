"""Listing, cancelling and rescheduling by chat: both sides are told; help; connect; people."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.handlers.people import UnknownPerson, person_for, resolve_person
from bot.handlers.replies import Asker, Reply
from bot.scheduling.model import BookingStatus, Identity
from tests.integration.handlers.chatworld import World, choice, only


async def book(world: World, who: Asker, text: str = "book 30 min with dana", index: int = 0) -> None:
    offer = only(await world.say(who, text))
    slots = [c for c in offer.choices if c.action == "book.pick"]
    summary = only(await world.click(who, slots[index]))
    done = await world.click(who, choice(summary, "Confirm"))
    assert only(done).text.startswith("Booked"), done


async def test_list_upcoming(world: World) -> None:
    empty = only(await world.say(world.sam, "show my bookings"))
    assert "no upcoming sessions" in empty.text
    await book(world, world.sam)
    listed = only(await world.say(world.sam, "my sessions"))
    assert "Thu 5 Mar 09:00-09:30 (America/New_York) with Dana Smith" in listed.text
    coach_view = only(await world.say(world.dana, "show my bookings"))
    assert "Thu 5 Mar 15:00-15:30 (Europe/Berlin) with Sam Lee" in coach_view.text


async def test_cancel_tells_both_sides(world: World) -> None:
    await book(world, world.sam)
    ask = only(await world.say(world.sam, "cancel my session with dana"))
    assert len(ask.choices) == 1
    button = ask.choices[0]
    assert button.style == "danger" and button.confirm and "Dana Smith" in button.confirm
    replies = await world.click(world.sam, button)
    mine = only(replies)
    assert mine.replace and mine.text.startswith("Cancelled your session with Dana Smith on Thu 5 Mar 09:00-09:30")
    to_dana = only(replies, to="dana")
    assert to_dana.text == "Sam Lee cancelled your session on Thu 5 Mar 15:00-15:30 (Europe/Berlin)."
    assert world.storage.bookings.upcoming_for_person("sam", now=world.clock.now) == []
    # the same button again: the state is gone
    assert "expired" in only(await world.click(world.sam, button)).text
    assert "no upcoming sessions to cancel" in only(await world.say(world.sam, "cancel my session")).text


async def test_coach_cancels_and_the_participant_is_told(world: World) -> None:
    await book(world, world.sam)
    ask = only(await world.say(world.dana, "cancel my session"))
    replies = await world.click(world.dana, ask.choices[0])
    told = only(replies, to="sam").text
    assert told == "Dana Smith cancelled your session on Thu 5 Mar 09:00-09:30 (America/New_York)."


async def test_reschedule_tells_both_sides(world: World) -> None:
    await book(world, world.sam)
    old = world.storage.bookings.upcoming_for_person("sam", now=world.clock.now)[0]
    offer = only(await world.say(world.sam, "reschedule my session with dana to next monday"))
    assert "New times for your session with Dana Smith (now Thu 5 Mar 09:00-09:30" in offer.text
    slots = [c for c in offer.choices if c.action == "resched.pick"]
    assert slots and all(c.label.startswith("Mon 9 Mar") for c in slots)
    summary = only(await world.click(world.sam, slots[0]))
    assert summary.text.startswith("Move your session with Dana Smith to Mon 9 Mar 04:00-04:30")
    replies = await world.click(world.sam, choice(summary, "Confirm"))
    mine = only(replies)
    assert mine.text.startswith("Moved: your session with Dana Smith is now Mon 9 Mar 04:00-04:30")
    assert "(was Thu 5 Mar 09:00-09:30 (America/New_York))" in mine.text
    assert only(replies, to="dana").text == (
        "Sam Lee moved your session from Thu 5 Mar 15:00-15:30 (Europe/Berlin) "
        "to Mon 9 Mar 09:00-09:30 (Europe/Berlin)."
    )
    upcoming = world.storage.bookings.upcoming_for_person("sam", now=world.clock.now)
    assert [b.start for b in upcoming] == [datetime(2026, 3, 9, 8, 0, tzinfo=UTC)]
    assert world.storage.bookings.get(old.id).status == BookingStatus.RESCHEDULED


async def test_reschedule_picks_which_booking_when_there_are_several(world: World) -> None:
    await book(world, world.sam)
    await book(world, world.sam, index=2)
    ask = only(await world.say(world.sam, "reschedule my session"))
    assert [c.action for c in ask.choices] == ["resched.which", "resched.which"]
    offer = only(await world.click(world.sam, ask.choices[1]))
    assert offer.replace and any(c.action == "resched.pick" for c in offer.choices)


async def test_help_and_unknown(world: World) -> None:
    help_reply = only(await world.say(world.sam, "help"))
    assert "book 30 min with dana" in help_reply.text and "my hours are" in help_reply.text
    assert only(await world.say(world.sam, "hi")).text == help_reply.text
    unknown = only(await world.say(world.sam, "the weather is nice"))
    assert "didn't get that" in unknown.text


async def test_connect_without_and_with_a_connector(world: World) -> None:
    reply = only(await world.say(world.sam, "connect my google calendar"))
    assert "aren't configured here" in reply.text and "Google Calendar" in reply.text and "CalDAV" in reply.text

    calls: list[tuple[str, ...]] = []

    class Connector:
        async def start(self, person_id: str, provider: str) -> list[Reply]:
            calls.append(("start", person_id, provider))
            return [Reply(f"Open this link to connect {provider}")]

        async def submit(self, person_id: str, form_id: str, values: dict[str, str]) -> list[Reply]:
            calls.append(("submit", person_id, form_id, values["url"]))
            return [Reply("Connected")]

    world.conv.connector = Connector()
    assert only(await world.say(world.sam, "connect my google calendar")).text == "Open this link to connect google"
    pick = only(await world.say(world.sam, "connect my calendar"))
    assert [c.value for c in pick.choices] == ["google", "microsoft", "icloud", "caldav", "ics"]
    await world.click(world.sam, pick.choices[3])
    assert only(await world.submit(world.sam, "connect:caldav", {"url": "https://dav.example"})).text == "Connected"
    assert calls == [("start", "sam", "google"), ("start", "sam", "caldav"),
                     ("submit", "sam", "connect:caldav", "https://dav.example")]


async def test_person_for_creates_once_and_keeps_the_zone(world: World) -> None:
    identity = Identity("slack", "UNEW", "T1")
    first = await person_for(world.storage, identity, display_name="Nora Quinn", timezone="Asia/Kolkata")
    again = await person_for(world.storage, identity, display_name="Nora Quinn", timezone="Australia/Adelaide")
    assert first.id == again.id and again.timezone == "Australia/Adelaide"
    assert world.storage.people.get(first.id).timezone == "Australia/Adelaide"
    assert first.handle == "nora"
    bad_zone = await person_for(world.storage, Identity("web", "x@example.com"), display_name="X", timezone="Mars/Base")
    assert bad_zone.timezone == "UTC"
    asker = Asker(first.id, "Nora Quinn", "Asia/Kolkata", surface="slack", tenant="T1")
    assert (await resolve_person(world.storage, "<@UNEW>", asker=asker)).id == first.id
    assert (await resolve_person(world.storage, "nora", asker=asker)).id == first.id
    assert (await resolve_person(world.storage, "Nora Quinn", asker=asker)).id == first.id
    try:
        await resolve_person(world.storage, "<@UNEW>", asker=Asker(first.id, "N", surface="slack", tenant="T2"))
    except UnknownPerson as exc:
        assert "I don't know" in str(exc)
    else:
        raise AssertionError("a mention from another workspace must not resolve")
