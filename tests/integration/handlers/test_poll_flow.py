"""Organizer slot polls by chat, on real SQLite storage: candidates from connected calendars, votes, live tally,
close and book for everyone, a taken winner and the runner-up."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.handlers.replies import Action, Asker, Choice, Reply
from bot.handlers.state import EXPIRED_TEXT
from bot.scheduling.intervals import Interval
from bot.scheduling.model import BookingStatus, Identity, Person, VoteChoice
from bot.scheduling.polls import tally
from tests.integration.handlers.chatworld import NOW, World, choice, only

BERLIN = ZoneInfo("Europe/Berlin")
NY = ZoneInfo("America/New_York")
INVITEES = ("amy", "bo", "cy", "dee", "eve", "finn")
WITH_CALENDAR = ("amy", "dee", "eve", "finn")
ASK = "poll 30 min with @amy @bo @cy @dee @eve @finn next week"
NEXT_WEEK = Interval(datetime(2026, 3, 9, tzinfo=BERLIN), datetime(2026, 3, 16, tzinfo=BERLIN))


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=BERLIN)


@pytest.fixture
def polls(world: World) -> World:
    """Olga (Berlin) organizes; six invitees, Finn in New York; four have a connected calendar."""
    storage = world.storage
    storage.people.add(Person(id="olga", display_name="Olga", timezone="Europe/Berlin", handle="olga"),  # type: ignore[attr-defined]
                       [Identity("slack", "UOLGA", "T1")])
    for pid in INVITEES:
        zone = "America/New_York" if pid == "finn" else "Europe/Berlin"
        identities = [Identity("slack", f"U{pid.upper()}X1", "T1")]
        storage.people.add(Person(id=pid, display_name=pid.title(), timezone=zone, handle=pid),  # type: ignore[attr-defined]
                           identities)
    for pid in WITH_CALENDAR:
        storage.calendars.add_account(pid, "ics", f"{pid} work", now=NOW)  # type: ignore[attr-defined]
    # Monday: Amy is busy 14:00-15:30 in Berlin (the first time everyone could otherwise meet)
    world.busy.add("amy", berlin(9, 14), berlin(9, 15, 30))
    return world


OLGA = Asker("olga", "Olga", "Europe/Berlin", surface="slack", tenant="T1")


def asker(pid: str) -> Asker:
    return Asker(pid, pid.title(), "America/New_York" if pid == "finn" else "Europe/Berlin", surface="slack",
                 tenant="T1")


def option_lines(reply: Reply) -> list[str]:
    return [line for line in reply.text.splitlines() if re.match(r"^\d\. ", line)]


def vote_choice(reply: Reply, index: int, label: str) -> Choice:
    votes = [c for c in reply.choices if c.action == "poll.vote"]
    per_option = [votes[i : i + 3] for i in range(0, len(votes), 3)]
    found = [c for c in per_option[index] if c.label.endswith(f": {label}")]
    assert len(found) == 1, [c.label for c in per_option[index]]
    return found[0]


async def create_poll(world: World) -> tuple[Reply, list[Reply]]:
    offer = only(await world.say(OLGA, ASK))
    replies = await world.click(OLGA, choice(offer, "Create poll"))
    return offer, replies


def poll_id_of(reply: Reply) -> str:
    return next(c for c in reply.choices if c.action == "poll.vote").value.split(":")[0]


# ------------------------------------------------------------------------------------------------ proposing


async def test_proposal_counts_calendars_and_avoids_busy_time(polls: World) -> None:
    offer = only(await polls.say(OLGA, ASK))
    assert "4 of 6 invitees have a connected calendar; Bo and Cy have none, so their answers matter most." \
        in offer.text
    assert [c.label for c in offer.choices] == ["Create poll", "Change"]
    assert all(len(c.value) < 20 for c in offer.choices)  # a state id, never the state
    lines = option_lines(offer)
    assert 3 <= len(lines) <= 5
    assert all("(everyone free)" in line for line in lines)
    # Finn works 9-17 in New York: with everyone in Berlin the common time is 14:00-17:00 Berlin, Mon-Fri
    assert lines[0] == "1. Mon 9 Mar 15:30-16:00 (Europe/Berlin) (everyone free)"
    assert all("Sat" not in line and "Sun" not in line for line in lines)
    days = [line.split()[1] for line in lines]
    assert len(set(days)) == len(days)  # spread over days


async def test_slack_poll_command_with_mentions(polls: World) -> None:
    offer = only(await polls.say(OLGA, "<@UAMYX1> @bo 45 min next week", command="/poll"))
    assert offer.text.startswith("Poll for 45 min with Amy and Bo between Mon 9 Mar and Sun 15 Mar.")
    assert "1 of 2 invitees has a connected calendar; Bo has none, so their answer matters most." in offer.text
    created = await polls.click(OLGA, choice(offer, "Create poll"))
    assert {r.to for r in created} == {None, "amy", "bo"}
    again = only(await polls.click(OLGA, choice(offer, "Create poll")))
    assert again.private and again.text == "This poll was already created and sent."
    assert not_ann_can_create(await polls.click(polls.ann, choice(offer, "Change")))


def not_ann_can_create(replies: list[Reply]) -> bool:
    return only(replies).text == "Only Olga can change this poll."


async def test_unknown_invitee_is_named_and_nothing_is_created(polls: World) -> None:
    reply = only(await polls.say(OLGA, "poll 30 min with @amy @zed next week"))
    assert reply.private
    assert "I don't know anyone called zed." in reply.text
    assert "Nothing was created" in reply.text


async def test_missing_duration_is_asked_then_typed(polls: World) -> None:
    question = only(await polls.say(OLGA, "poll with @amy @bo next week"))
    assert "How long should the meeting with Amy and Bo be?" in question.text
    assert [c.label for c in question.choices] == ["15 min", "30 min", "45 min", "1 hour"]
    assert choice(question, "30 min").style == "primary"
    offer = only(await polls.say(OLGA, "45"))
    assert offer.text.startswith("Poll for 45 min with Amy and Bo")
    # something else typed while the question is open is not taken as the answer
    question = only(await polls.say(OLGA, "poll with @amy next week"))
    other = only(await polls.say(OLGA, "book 30 min with dana"))
    assert "Poll for" not in other.text and any(c.action == "book.pick" for c in other.choices)
    # the button works too, on a fresh question
    question = only(await polls.say(OLGA, "poll with @cy next week"))
    offer = only(await polls.click(OLGA, choice(question, "1 hour")))
    assert offer.replace and offer.text.startswith("Poll for 1 hour with Cy")


async def test_fallback_to_most_people_when_everyone_is_never_free(polls: World) -> None:
    # Amy is busy all of next week: no time suits everyone, so the times suit everyone but Amy
    polls.busy.add("amy", NEXT_WEEK.start, NEXT_WEEK.end)
    offer = only(await polls.say(OLGA, ASK))
    lines = option_lines(offer)
    assert 3 <= len(lines) <= 5
    assert all(line.endswith("(busy: Amy)") for line in lines)


async def test_change_form_updates_the_draft(polls: World) -> None:
    offer = only(await polls.say(OLGA, ASK))
    form_reply = only(await polls.click(OLGA, choice(offer, "Change")))
    assert form_reply.form is not None
    form_id = form_reply.form.id
    assert form_id.startswith("poll:")
    fields = {f.name: f.value for f in form_reply.form.fields}
    assert fields["invitees"] == "@amy, @bo, @cy, @dee, @eve, @finn"
    assert fields["duration"] == "30"
    bad = only(await polls.submit(OLGA, form_id, {"invitees": "amy, zed", "duration": "0", "when": "blorp"}))
    errors = {f.name: f.error for f in bad.form.fields}  # type: ignore[union-attr]
    assert "zed" in errors["invitees"] and errors["duration"] and errors["when"]
    good = only(await polls.submit(OLGA, form_id, {"invitees": "amy, bo", "duration": "60", "when": "next Tuesday"}))
    assert good.text.startswith("Poll for 1 hour with Amy and Bo on Tue 10 Mar.")
    assert all("Tue 10 Mar" in line for line in option_lines(good))


# ------------------------------------------------------------------------------------------------ the whole flow


async def test_create_vote_close_and_book(polls: World) -> None:
    offer, replies = await create_poll(polls)
    posted = only(replies)
    assert posted.replace and posted.text.startswith("Your poll: 30 min with Amy, Bo, Cy, Dee, Eve and Finn.")
    assert "Not voted yet: Amy, Bo, Cy, Dee, Eve and Finn" in posted.text
    assert posted.choices[-1].label == "Close and book"
    lines = option_lines(posted)
    assert len(lines) == len(option_lines(offer))
    assert all(line.endswith(": 0 yes, 0 if need be, 0 no") for line in lines)
    pid = poll_id_of(posted)
    assert all(re.fullmatch(rf"{pid}:o\d:[ymn](:p)?", c.value) for c in posted.choices if c.action == "poll.vote")

    dms = {r.to: r for r in replies if r.to}
    assert set(dms) == set(INVITEES)
    assert option_lines(dms["dee"])[0].startswith("1. Mon 9 Mar 15:30-16:00 (Europe/Berlin)")
    assert option_lines(dms["finn"])[0].startswith("1. Mon 9 Mar 10:30-11:00 (America/New_York)")
    assert "Olga asks: which times work for 30 min with" in dms["amy"].text
    assert all(c.action == "poll.vote" for c in dms["amy"].choices)  # invitees cannot close
    assert vote_choice(dms["finn"], 0, "Yes").label == "Mon 9 Mar 10:30: Yes"

    stored = polls.storage.polls.get_poll(pid)  # type: ignore[attr-defined]
    assert stored.status == "open" and stored.invitee_ids == INVITEES and stored.organizer_id == "olga"

    # Amy: no on 1, then changes her mind (a re-vote replaces it), yes on 2
    await polls.click(asker("amy"), vote_choice(dms["amy"], 0, "No"))
    after = await polls.click(asker("amy"), vote_choice(dms["amy"], 0, "Yes"))
    mine = only(after)
    assert mine.replace and option_lines(mine)[0].endswith(": 1 yes, 0 if need be, 0 no (you: yes)")
    note = only(after, to="olga")
    assert note.text.startswith("Amy voted yes for Mon 9 Mar 15:30-16:00 (Europe/Berlin) in your poll")
    assert "1 of 6 have voted." in note.text
    assert note.choices[0].label == "Close and book"
    await polls.click(asker("amy"), vote_choice(dms["amy"], 1, "Yes"))
    await polls.click(asker("bo"), vote_choice(dms["bo"], 1, "Yes"))
    cy = await polls.click(asker("cy"), vote_choice(dms["cy"], 1, "If need be"))
    assert option_lines(only(cy))[1].endswith(": 2 yes, 1 if need be, 0 no (you: if need be)")
    await polls.click(asker("dee"), vote_choice(dms["dee"], 0, "Yes"))
    await polls.click(asker("dee"), vote_choice(dms["dee"], 1, "No"))
    await polls.click(asker("eve"), vote_choice(dms["eve"], 2, "Yes"))
    last = only(await polls.click(asker("eve"), vote_choice(dms["eve"], 1, "If need be")))
    assert "Not voted yet: Finn" in last.text

    votes = polls.storage.polls.votes(pid)  # type: ignore[attr-defined]
    assert len(votes) == 8  # Amy's first "no" was replaced
    result = tally(stored, votes)
    # option 2: 2 yes + 2 if need be = 6; option 1: 2 yes = 4; option 3: 1 yes = 2
    assert [o.option_id for o in result.ranking][:3] == ["o2", "o1", "o3"]
    assert result.options[0].choice_of("amy") == VoteChoice.YES
    assert result.not_voted == ("finn",)

    # someone who was not invited cannot vote
    refused = only(await polls.click(polls.ann, vote_choice(dms["amy"], 0, "Yes")))
    assert refused.private
    assert refused.text == "Only the people Olga invited can vote in this poll; ask Olga to add you."
    # nor can anyone but Olga close it
    not_yours = only(await polls.click(asker("bo"), Choice("Close and book", "poll.close", pid)))
    assert not_yours.private and not_yours.text == "Only Olga, who started this poll, can close it."
    assert len(polls.storage.polls.votes(pid)) == 8  # type: ignore[attr-defined]

    closing = await polls.click(OLGA, posted.choices[-1])
    summary = only(closing)
    winner = stored.options[1].interval
    when = f"{winner.start.astimezone(BERLIN):%a} {winner.start.astimezone(BERLIN).day} Mar"
    assert summary.replace and summary.text.startswith(f"Closed the poll and booked {when}")
    assert "with Amy, Bo, Cy, Eve and Finn." in summary.text  # Finn did not vote but is free; Dee said no
    assert "Not booked (said no, or busy and no vote for it): Dee." in summary.text
    told = {r.to: r.text for r in closing if r.to}
    assert set(told) == set(INVITEES)
    assert "You're in." in told["amy"] and "You're in." in told["finn"]
    assert "(America/New_York)" in told["finn"]
    assert "You said you can't make it" in told["dee"]

    bookings = polls.storage.bookings.upcoming_for_person("olga", now=polls.clock.now)  # type: ignore[attr-defined]
    assert len(bookings) == 1
    booking = bookings[0]
    assert booking.status == BookingStatus.CONFIRMED and booking.coach_id == "olga"
    assert booking.participant_ids == ("amy", "bo", "cy", "eve", "finn")
    assert booking.interval == winner
    closed = polls.storage.polls.get_poll(pid)  # type: ignore[attr-defined]
    assert closed.status == "closed" and closed.winner_option_id == "o2"

    # a closed poll politely refuses votes, and closing again books nothing more
    late = only(await polls.click(asker("finn"), vote_choice(dms["finn"], 0, "Yes")))
    assert late.private and late.text.startswith("This poll is closed, so it takes no more votes: Olga booked")
    assert "(America/New_York)" in late.text
    again = only(await polls.click(OLGA, posted.choices[-1]))
    assert again.text.startswith("This poll is already closed")
    assert len(polls.storage.bookings.upcoming_for_person("olga", now=polls.clock.now)) == 1  # type: ignore[attr-defined]


async def test_taken_winner_offers_the_runner_up(polls: World) -> None:
    _, replies = await create_poll(polls)
    posted = only(replies)
    dms = {r.to: r for r in replies if r.to}
    pid = poll_id_of(posted)
    await polls.click(asker("amy"), vote_choice(dms["amy"], 0, "Yes"))
    await polls.click(asker("bo"), vote_choice(dms["bo"], 0, "Yes"))
    await polls.click(asker("bo"), vote_choice(dms["bo"], 2, "Yes"))
    await polls.click(asker("cy"), vote_choice(dms["cy"], 2, "If need be"))
    stored = polls.storage.polls.get_poll(pid)  # type: ignore[attr-defined]
    first, third = stored.options[0].interval, stored.options[2].interval
    # meanwhile Amy's calendar got a meeting over the winning time
    polls.busy.add("amy", first.start - timedelta(minutes=10), first.end)

    offer = only(await polls.click(OLGA, posted.choices[-1]))
    assert "is no longer free" in offer.text and "The runner-up is" in offer.text
    assert "(1 yes, 1 if need be, 0 no). Book it instead?" in offer.text
    runner = offer.choices[0]
    assert runner.action == "poll.close" and runner.value == f"{pid}:o3"
    assert polls.storage.polls.get_poll(pid).status == "open"  # type: ignore[attr-defined]
    assert polls.storage.bookings.upcoming_for_person("olga", now=polls.clock.now) == []  # type: ignore[attr-defined]

    # Eve said nothing about the runner-up and her calendar is busy then: she is told, not booked
    polls.busy.add("eve", third.start, third.end)
    booked = await polls.click(OLGA, runner)
    assert only(booked).text.startswith("Closed the poll and booked")
    told = {r.to: r.text for r in booked if r.to}
    assert set(told) == set(INVITEES)
    assert "Your calendar shows you busy then, so you're not booked" in told["eve"]
    bookings = polls.storage.bookings.upcoming_for_person("olga", now=polls.clock.now)  # type: ignore[attr-defined]
    assert [b.interval for b in bookings] == [third]
    assert bookings[0].participant_ids == ("amy", "bo", "cy", "dee", "finn")  # Amy, Dee, Finn: no vote, free
    assert polls.storage.polls.get_poll(pid).winner_option_id == "o3"  # type: ignore[attr-defined]


async def test_close_without_any_yes_books_nothing(polls: World) -> None:
    _, replies = await create_poll(polls)
    posted = only(replies)
    dms = {r.to: r for r in replies if r.to}
    await polls.click(asker("bo"), vote_choice(dms["bo"], 0, "No"))
    reply = only(await polls.click(OLGA, posted.choices[-1]))
    assert reply.private and reply.text.startswith("Nobody has said yes or if need be to any time yet")
    assert "Amy, Cy, Dee, Eve and Finn haven't voted yet" in reply.text
    assert polls.storage.polls.get_poll(poll_id_of(posted)).status == "open"  # type: ignore[attr-defined]


async def test_organizer_does_not_vote_and_stale_buttons_expire(polls: World) -> None:
    _, replies = await create_poll(polls)
    posted = only(replies)
    # an invitee voting on the organizer's (shared) copy keeps its Close button
    shared = only(await polls.click(asker("bo"), vote_choice(posted, 0, "Yes")))
    assert shared.replace and shared.choices[-1].label == "Close and book"
    assert option_lines(shared)[0].endswith(": 1 yes, 0 if need be, 0 no (you: yes)")
    mine = only(await polls.click(OLGA, vote_choice(posted, 0, "Yes")))
    assert mine.private and mine.text.startswith("You started this poll")
    bogus = only(await polls.conv.handle(asker("amy"), Action("poll.vote", "nope:o1:q")))
    assert bogus.text == EXPIRED_TEXT
    gone = only(await polls.conv.handle(asker("amy"), Action("poll.vote", "000000000000:o1:y")))
    assert gone.text == "That poll no longer exists."
