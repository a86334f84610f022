"""Booking by chat: proposals, show more, confirm, DMs to both sides, clarifying questions, taken, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.handlers.replies import Action
from bot.handlers.state import EXPIRED_TEXT
from bot.scheduling.intervals import Interval
from bot.scheduling.model import BookingStatus
from tests.integration.handlers.chatworld import World, choice, only

BERLIN = ZoneInfo("Europe/Berlin")
NY = ZoneInfo("America/New_York")


def slot_choices(reply):
    return [c for c in reply.choices if c.action == "book.pick"]


async def test_book_pick_confirm_tells_both_sides(world: World) -> None:
    offer = only(await world.say(world.sam, "book 30 min with @dana"))
    slots = slot_choices(offer)
    assert 3 <= len(slots) <= 5
    assert any(c.label == "Show more times" for c in offer.choices)
    # Thursday 5 March: the first slot after two hours' notice is 15:00 in Berlin, 09:00 in New York
    assert slots[0].label == "Thu 5 Mar 09:00-09:30 (America/New_York) / 15:00-15:30 Europe/Berlin"
    assert all(":" in c.value and len(c.value) < 20 for c in slots)  # an id, never the state

    summary = only(await world.click(world.sam, slots[0]))
    assert summary.replace
    assert "Book 30 min with Dana Smith on Thu 5 Mar 09:00-09:30" in summary.text
    assert [c.label for c in summary.choices] == ["Confirm", "Back"]

    replies = await world.click(world.sam, choice(summary, "Confirm"))
    mine = only(replies)
    assert mine.replace and mine.text.startswith("Booked: 30 min with Dana Smith")
    to_dana = only(replies, to="dana")
    assert to_dana.text == "New session booked: 30 min with Sam Lee, Thu 5 Mar 15:00-15:30 (Europe/Berlin)."
    to_sam = only(replies, to="sam")
    assert to_sam.text == "Your session with Dana Smith is confirmed: Thu 5 Mar 09:00-09:30 (America/New_York)."

    stored = world.storage.bookings.upcoming_for_person("sam", now=world.clock.now)
    assert len(stored) == 1
    assert stored[0].status == BookingStatus.CONFIRMED
    assert stored[0].coach_id == "dana" and stored[0].participant_ids == ("sam",)
    assert stored[0].start == datetime(2026, 3, 5, 14, 0, tzinfo=UTC)

    # a second click on Confirm does not book twice
    again = await world.click(world.sam, choice(summary, "Confirm"))
    assert "Already booked" in only(again).text
    assert len(world.storage.bookings.upcoming_for_person("sam", now=world.clock.now)) == 1


async def test_labels_follow_the_us_dst_change(world: World) -> None:
    # The US moves its clocks on Sunday 8 March 2026, Europe on 29 March: Berlin 09:00 is 03:00 in New York
    # before the change and 04:00 after it.
    offer = only(await world.say(world.sam, "book 30 min with dana"))
    labels = [c.label for c in slot_choices(offer)]
    assert "Fri 6 Mar 03:00-03:30 (America/New_York) / 09:00-09:30 Europe/Berlin" in labels
    assert "Mon 9 Mar 04:00-04:30 (America/New_York) / 09:00-09:30 Europe/Berlin" in labels
    # after the EU change too (Mon 30 March): six hours apart again
    late = only(await world.say(world.sam, "book 30 min with dana on March 30"))
    assert slot_choices(late)[0].label == "Mon 30 Mar 03:00-03:30 (America/New_York) / 09:00-09:30 Europe/Berlin"


async def test_show_more_offers_new_times(world: World) -> None:
    offer = only(await world.say(world.sam, "book 30 min with dana"))
    first = {c.label for c in slot_choices(offer)}
    more = only(await world.click(world.sam, choice(offer, "Show more times")))
    assert more.replace
    second = {c.label for c in slot_choices(more)}
    assert second and not (first & second)
    picked = only(await world.click(world.sam, slot_choices(more)[0]))
    assert "Book 30 min" in picked.text


async def test_back_returns_to_the_times(world: World) -> None:
    offer = only(await world.say(world.sam, "book 30 min with dana"))
    summary = only(await world.click(world.sam, slot_choices(offer)[1]))
    back = only(await world.click(world.sam, choice(summary, "Back")))
    assert [c.label for c in slot_choices(back)] == [c.label for c in slot_choices(offer)]


async def test_requested_window_restricts_the_search(world: World) -> None:
    # Tuesday 10 March, 09:00-12:00 New York = 14:00-17:00 Berlin: Dana's afternoon hours
    offer = only(await world.say(world.sam, "book 30 min with dana next tuesday morning"))
    for c in slot_choices(offer):
        assert c.label.startswith("Tue 10 Mar"), c.label


async def test_nothing_in_the_window_offers_the_nearest_times(world: World) -> None:
    # New York evening is night in Berlin: nothing fits
    offer = only(await world.say(world.sam, "book 30 min with dana next tuesday evening"))
    assert "has nothing free on Tue 10 Mar" in offer.text
    assert "nearest other times" in offer.text
    assert len(slot_choices(offer)) >= 3


async def test_clarifying_questions_with_whom_and_how_long(world: World) -> None:
    ask = only(await world.say(world.sam, "book a session"))
    assert "With whom" in ask.text
    assert [c.label for c in ask.choices] == ["Dana Smith"]
    how_long = only(await world.click(world.sam, ask.choices[0]))
    assert "How long" in how_long.text
    assert [c.label for c in how_long.choices] == ["30 min", "1 hour"]
    offer = only(await world.click(world.sam, choice(how_long, "1 hour")))
    slots = slot_choices(offer)
    assert slots and "with Dana Smith" in offer.text and "1 hour" in offer.text
    assert slots[0].label.startswith("Thu 5 Mar 09:00-10:00")


async def test_clarifying_questions_answered_by_typing(world: World) -> None:
    ask = only(await world.say(world.sam, "I'd like to book a session"))
    assert "With whom" in ask.text
    how_long = only(await world.say(world.sam, "dana"))
    assert "How long" in how_long.text
    offer = only(await world.say(world.sam, "45"))
    assert "45 min with Dana Smith" in offer.text
    assert slot_choices(offer)[0].label.startswith("Thu 5 Mar 09:00-09:45")


async def test_mentions_resolve_in_the_askers_workspace(world: World) -> None:
    offer = only(await world.say(world.sam, "book 30 min with <@UDANA>"))
    assert "with Dana Smith" in offer.text
    unknown = only(await world.say(world.sam, "book 30 min with <@UNOBODY>"))
    assert "I don't know" in unknown.text and not unknown.choices
    bob = only(await world.say(world.sam, "book 30 min with Bob"))
    assert bob.text == "I don't know anyone called Bob."
    full = only(await world.say(world.sam, "book 30 min with Dana Smith"))
    assert "with Dana Smith" in full.text


async def test_not_a_coach_and_not_yourself(world: World) -> None:
    reply = only(await world.say(world.sam, "book 30 min with ann"))
    assert "Ann Berg doesn't offer sessions yet" in reply.text
    self_booking = only(await world.say(world.dana, "book 30 min with dana"))
    assert "yourself" in self_booking.text


async def test_taken_answers_with_fresh_alternatives(world: World) -> None:
    offer = only(await world.say(world.sam, "book 30 min with dana"))
    summary = only(await world.click(world.sam, slot_choices(offer)[0]))
    # Ann books the very same time first
    ann_offer = only(await world.say(world.ann, "book 30 min with dana"))
    ann_summary = only(await world.click(world.ann, slot_choices(ann_offer)[0]))
    ann_done = await world.click(world.ann, choice(ann_summary, "Confirm"))
    assert only(ann_done).text.startswith("Booked")

    replies = await world.click(world.sam, choice(summary, "Confirm"))
    taken = only(replies)
    assert "just taken" in taken.text and taken.replace
    assert not [r for r in replies if r.to]  # nobody told about a booking that did not happen
    alternatives = slot_choices(taken)
    assert alternatives
    assert slot_choices(offer)[0].label not in [c.label for c in alternatives]
    summary2 = only(await world.click(world.sam, alternatives[0]))
    done = await world.click(world.sam, choice(summary2, "Confirm"))
    assert only(done).text.startswith("Booked")
    assert only(done, to="dana")


async def test_unreadable_calendar_is_named_and_treated_as_busy(world: World) -> None:
    world.busy.failing["sam"] = "Sam's work calendar"
    reply = only(await world.say(world.sam, "book 30 min with dana"))
    assert not slot_choices(reply)
    assert "I couldn't check Sam's work calendar, so it was treated as busy." in reply.details


async def test_busy_time_is_not_offered_and_titles_never_shown(world: World) -> None:
    # Dana is busy Thursday 15:00-16:00 Berlin; with a 5-minute buffer the first slot moves to 16:15
    world.busy.add("dana", datetime(2026, 3, 5, 15, 0, tzinfo=BERLIN), datetime(2026, 3, 5, 16, 0, tzinfo=BERLIN))
    offer = only(await world.say(world.sam, "book 30 min with dana today"))
    labels = [c.label for c in slot_choices(offer)]
    assert labels and all("15:00-15:30 Europe" not in label for label in labels)
    assert labels[0].endswith("16:15-16:45 Europe/Berlin")


async def test_expired_and_unknown_choices(world: World) -> None:
    offer = only(await world.say(world.sam, "book 30 min with dana"))
    world.clock.now += timedelta(hours=1)
    expired = only(await world.click(world.sam, slot_choices(offer)[0]))
    assert expired.text == EXPIRED_TEXT
    for action, value in [("book.pick", "nope:1"), ("book.confirm", ""), ("cancel.pick", "x" * 500),
                          ("no.such", "1"), ("book.pick", "abc:notanumber")]:
        reply = only(await world.conv.handle(world.sam, Action(action, value)))
        assert reply.text == EXPIRED_TEXT


async def test_someone_elses_buttons(world: World) -> None:
    offer = only(await world.say(world.sam, "book 30 min with dana"))
    reply = only(await world.click(world.ann, slot_choices(offer)[0]))
    assert reply.text == "Only Sam Lee can pick from these." and reply.private


async def test_availability_shows_bookable_times(world: World) -> None:
    reply = only(await world.say(world.sam, "when is dana free this week"))
    assert reply.text.startswith("Dana Smith is free for 30 min")
    slots = slot_choices(reply)
    assert slots
    week_end = datetime(2026, 3, 9, tzinfo=NY)
    assert all(not c.label.startswith(("Mon 9", "Tue 10")) for c in slots), week_end
    summary = only(await world.click(world.sam, slots[0]))
    assert "Confirm" in [c.label for c in summary.choices]


async def test_a_hold_is_not_double_booked_by_the_database(world: World) -> None:
    # the slot the database already holds for someone else is never offered
    start = datetime(2026, 3, 5, 14, 0, tzinfo=UTC)
    held = await world.conv.bookings.hold(coach_id="dana", participant_ids=("ann",),
                                          slot=Interval(start, start + timedelta(minutes=30)), idempotency_key="k1")
    assert held
    offer = only(await world.say(world.sam, "book 30 min with dana today"))
    assert all("15:00-15:30 Europe" not in c.label for c in slot_choices(offer))


async def test_a_hanging_calendar_is_reported_not_waited_for(world: World) -> None:
    world.conv.bookings.busy_timeout = 0.2
    world.conv.bookings.calendar_label = lambda person_id: f"{person_id}'s calendar"
    world.busy.hanging.add("sam")
    reply = only(await world.say(world.sam, "book 30 min with dana"))
    assert not slot_choices(reply)
    assert "I couldn't check sam's calendar, so it was treated as busy." in reply.details


async def test_slash_book_and_poll_commands(world: World) -> None:
    offer = only(await world.say(world.sam, "30 min with dana", command="/book"))
    assert "with Dana Smith" in offer.text and slot_choices(offer)
    poll = only(await world.say(world.sam, "30 min with @ann next week", command="/poll"))
    assert poll.text.startswith("Poll for 30 min with Ann Berg")
