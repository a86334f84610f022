"""People, coach settings, polls, conversation state, processed events, calendars."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.scheduling.intervals import Interval
from bot.scheduling.model import (
    ClockRange,
    CoachSettings,
    Identity,
    Person,
    Poll,
    PollOption,
    Vote,
    VoteChoice,
    WeeklyHours,
)
from bot.scheduling.ports import NotFound
from storage.repositories import (
    SqlCalendarRepository,
    SqlCoachSettingsRepository,
    SqlConversationStateRepository,
    SqlPeopleRepository,
    SqlPollRepository,
    SqlProcessedEventRepository,
)
from storage.tables import CalendarRow, table

NOW = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)


def dana() -> Person:
    return Person(
        id="dana",
        display_name="Dana Smith",
        timezone="America/New_York",
        email="dana@example.com",
        is_coach=True,
        handle="dana",
    )


# ------------------------------------------------------------------------------------------------ people


def test_people_and_identities(engine: Engine) -> None:
    people = SqlPeopleRepository(engine)
    slack = Identity("slack", "U024BE7LH", "T0001")
    teams = Identity("teams", "29:abc", "tenant-1")
    assert people.add(dana(), [slack]) == dana()
    assert people.get("dana") == dana()
    assert people.get("nobody") is None
    assert people.by_identity(slack) == dana()
    assert people.by_identity(Identity("slack", "U024BE7LH", "T9999")) is None  # another workspace
    assert people.by_handle("@Dana") == dana()
    people.link_identity("dana", teams)
    people.link_identity("dana", teams)  # again: no-op
    assert people.by_identity(teams) == dana()
    assert people.identities("dana") == [slack, teams]

    people.add(Person(id="sam", display_name="Sam"))
    with pytest.raises(ValueError):
        people.link_identity("sam", slack)  # belongs to dana
    with pytest.raises(NotFound):
        people.link_identity("nobody", Identity("web", "x@example.com"))
    with pytest.raises(ValueError):
        people.add(Person(id="sam", display_name="Sam again"))
    with pytest.raises(ValueError):
        people.add(Person(id="other", display_name="Other", handle="dana"))

    moved = Person(id="dana", display_name="Dana S.", timezone="Europe/Berlin", handle="dsmith", is_coach=True)
    assert people.update(moved) == moved and people.get("dana") == moved
    with pytest.raises(NotFound):
        people.update(Person(id="nobody", display_name="X"))
    with pytest.raises(ValueError):
        people.update(Person(id="sam", display_name="Sam", handle="dsmith"))


def test_coach_settings_round_trip(engine: Engine) -> None:
    SqlPeopleRepository(engine).add(dana())
    repo = SqlCoachSettingsRepository(engine)
    assert repo.get_settings("dana") is None
    hours = WeeklyHours.from_mapping(
        {"mon": [["09:00", "12:00"], ["13:00", "17:00"]], "sat": [["10:00", "24:00"]]},
        {"2026-03-10": [["13:00", "15:00"]], "2026-03-11": []},
    )
    settings = CoachSettings(
        timezone="Asia/Kolkata",
        hours=hours,
        buffer_before=timedelta(minutes=15),
        buffer_after=timedelta(minutes=10),
        min_notice=timedelta(hours=12),
        horizon=timedelta(days=30),
        session_lengths=(25, 50),
        max_per_day=4,
        max_per_week=None,
        all_day_blocks=False,
        tentative_blocks=True,
    )
    repo.save_settings("dana", settings)
    got = repo.get_settings("dana")
    assert got == settings
    assert got is not None and got.hours.ranges_on(date(2026, 3, 11)) == ()
    assert got.hours.days[5] == (ClockRange(600, 1440),)
    repo.save_settings("dana", CoachSettings())
    assert repo.get_settings("dana") == CoachSettings()
    with pytest.raises(NotFound):
        repo.save_settings("nobody", CoachSettings())


# ------------------------------------------------------------------------------------------------- polls


def make_poll() -> Poll:
    start = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
    return Poll(
        id="poll-1",
        organizer_id="dana",
        title="Team sync",
        duration=timedelta(minutes=45),
        options=tuple(
            PollOption(f"o{i}", Interval(start + timedelta(days=i), start + timedelta(days=i, minutes=45)))
            for i in range(3)
        ),
        invitee_ids=("sam", "alex"),
        created_at=NOW,
    )


def test_polls_votes_and_closing(engine: Engine) -> None:
    repo = SqlPollRepository(engine)
    poll = make_poll()
    repo.add_poll(poll)
    assert repo.get_poll("poll-1") == poll
    assert repo.get_poll("nope") is None
    repo.cast_vote("poll-1", Vote("o1", "sam", VoteChoice.YES))
    repo.cast_vote("poll-1", Vote("o0", "sam", VoteChoice.NO))
    repo.cast_vote("poll-1", Vote("o1", "alex", VoteChoice.IF_NEED_BE))
    repo.cast_vote("poll-1", Vote("o1", "sam", VoteChoice.IF_NEED_BE))  # replaces the earlier vote
    assert repo.votes("poll-1") == [
        Vote("o0", "sam", VoteChoice.NO),
        Vote("o1", "alex", VoteChoice.IF_NEED_BE),
        Vote("o1", "sam", VoteChoice.IF_NEED_BE),
    ]
    with pytest.raises(ValueError):
        repo.cast_vote("poll-1", Vote("o9", "sam", VoteChoice.YES))
    with pytest.raises(NotFound):
        repo.cast_vote("nope", Vote("o1", "sam", VoteChoice.YES))
    with pytest.raises(ValueError):
        repo.close_poll("poll-1", winner_option_id="o9")
    closed = repo.close_poll("poll-1", winner_option_id="o1")
    assert closed.status == "closed" and closed.winner_option_id == "o1"
    assert repo.get_poll("poll-1") == closed
    with pytest.raises(ValueError):
        repo.close_poll("poll-1", winner_option_id=None)  # compare-and-swap: already closed
    with pytest.raises(ValueError):
        repo.cast_vote("poll-1", Vote("o2", "sam", VoteChoice.YES))
    with pytest.raises(NotFound):
        repo.close_poll("nope", winner_option_id=None)
    with pytest.raises(ValueError):
        repo.add_poll(poll)


# ---------------------------------------------------------------------------------- state and events


def test_conversation_state_expires(engine: Engine) -> None:
    repo = SqlConversationStateRepository(engine)
    state: dict[str, object] = {"step": "pick_slot", "slots": [{"start": "2026-03-10T14:00:00Z"}], "n": 3}
    repo.save_state("slack:T1:U1", state, expires_at=NOW + timedelta(minutes=10))
    assert repo.load_state("slack:T1:U1", now=NOW) == state
    assert repo.load_state("slack:T1:U1", now=NOW + timedelta(minutes=10)) is None
    repo.save_state("slack:T1:U1", {"step": "confirm"}, expires_at=NOW + timedelta(minutes=20))
    assert repo.load_state("slack:T1:U1", now=NOW + timedelta(minutes=15)) == {"step": "confirm"}
    assert repo.purge_expired(now=NOW + timedelta(minutes=30)) == 1
    repo.save_state("k", {"a": 1}, expires_at=NOW + timedelta(minutes=1))
    repo.delete_state("k")
    assert repo.load_state("k", now=NOW) is None


def test_processed_events_first_time_is_atomic(db: Any) -> None:
    repo = SqlProcessedEventRepository(db.engine)
    assert repo.first_time("Ev1", now=NOW) is True
    assert repo.first_time("Ev1", now=NOW) is False
    engine = db.new_engine(pool_size=5, max_overflow=30)
    try:
        racing = SqlProcessedEventRepository(engine)
        barrier = threading.Barrier(20)

        def attempt(_: int) -> bool:
            barrier.wait()
            return racing.first_time("Ev2", now=NOW)

        with ThreadPoolExecutor(max_workers=20) as pool:
            results = list(pool.map(attempt, range(20)))
    finally:
        engine.dispose()
    assert results.count(True) == 1 and results.count(False) == 19
    assert repo.purge_before(NOW + timedelta(seconds=1)) == 2
    assert repo.first_time("Ev1", now=NOW) is True


# --------------------------------------------------------------------------------------------- calendars


def test_calendar_accounts_and_one_push_calendar_per_person(engine: Engine) -> None:
    SqlPeopleRepository(engine).add(dana())
    repo = SqlCalendarRepository(engine)
    google = repo.add_account("dana", "google", "dana@gmail.com", now=NOW)
    icloud = repo.add_account("dana", "icloud", "iCloud", now=NOW + timedelta(seconds=1))
    assert [a.id for a in repo.accounts_for_person("dana")] == [google.id, icloud.id]
    with pytest.raises(ValueError):
        repo.add_account("dana", "yahoo", "Y", now=NOW)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        repo.add_account("nobody", "google", "x", now=NOW)

    work = repo.upsert_calendar(google.id, "primary", "Work")
    home = repo.upsert_calendar(icloud.id, "/cal/home/", "Home", pull=False)
    assert (work.pull, work.push, home.pull) == (True, False, False)
    assert repo.upsert_calendar(google.id, "primary", "Work (renamed)").id == work.id
    assert repo.push_calendar("dana") is None

    repo.set_push_calendar("dana", work.id)
    repo.set_push_calendar("dana", home.id)
    pushed = repo.push_calendar("dana")
    assert pushed is not None and pushed.id == home.id
    assert [c.id for c in repo.calendars_for_person("dana") if c.push] == [home.id]
    assert [c.id for c in repo.calendars_for_person("dana", pull_only=True)] == [work.id]
    repo.set_push_calendar("dana", None)
    assert repo.push_calendar("dana") is None

    repo.save_sync_state(work.id, sync_token="tok-1", etags={"/e/1.ics": '"abc"'})
    got = repo.get_calendar(work.id)
    assert got is not None and got.sync_token == "tok-1" and dict(got.etags) == {"/e/1.ics": '"abc"'}
    repo.set_pull(work.id, False)
    assert repo.calendars_for_person("dana", pull_only=True) == []

    repo.mark_needs_reconnect(google.id, error="invalid_grant")
    acc = repo.get_account(google.id)
    assert acc is not None and acc.status == "needs_reconnect" and acc.last_error == "invalid_grant"
    repo.mark_synced(google.id, now=NOW)
    acc = repo.get_account(google.id)
    assert acc is not None and (acc.status, acc.last_error, acc.last_synced_at) == ("ok", None, NOW)
    with pytest.raises(NotFound):
        repo.mark_synced("nope", now=NOW)

    repo.delete_account(google.id)
    assert repo.get_calendar(work.id) is None and repo.get_account(google.id) is None


def test_the_database_refuses_a_second_push_calendar(engine: Engine) -> None:
    SqlPeopleRepository(engine).add(dana())
    repo = SqlCalendarRepository(engine)
    account = repo.add_account("dana", "caldav", "Fastmail", now=NOW)
    a = repo.upsert_calendar(account.id, "a", "A")
    b = repo.upsert_calendar(account.id, "b", "B")
    repo.set_push_calendar("dana", a.id)
    cal = table(CalendarRow)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(update(cal).where(cal.c.id == b.id).values(push=True))
    with pytest.raises(ValueError):
        SqlPeopleRepository(engine).add(Person(id="sam", display_name="Sam"))
        repo.set_push_calendar("sam", a.id)
