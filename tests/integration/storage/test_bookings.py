"""Bookings: no double booking (enforced by the database), holds, idempotency, compare-and-swap, reschedule."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.scheduling.intervals import Interval
from bot.scheduling.model import Booking, BookingStatus
from bot.scheduling.ports import BookingConflict, NotFound, StaleStatus
from storage.repositories import SqlBookingRepository
from storage.tables import BookingRow, table

NOW = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
T10 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


def at(hour: int, minute: int = 0) -> datetime:
    return T10.replace(hour=hour, minute=minute)


def make(
    start: datetime,
    end: datetime,
    *,
    coach: str = "coach-1",
    status: BookingStatus = BookingStatus.CONFIRMED,
    key: str | None = None,
    expires_at: datetime | None = None,
    participants: tuple[str, ...] = ("p-1",),
) -> Booking:
    if status == BookingStatus.HELD and expires_at is None:
        expires_at = NOW + timedelta(minutes=10)
    return Booking(
        id=str(uuid.uuid4()),
        coach_id=coach,
        participant_ids=participants,
        interval=Interval(start, end),
        status=status,
        idempotency_key=key or str(uuid.uuid4()),
        created_at=NOW,
        expires_at=expires_at,
    )


def count(engine: Engine, **where: Any) -> int:
    b = table(BookingRow)
    stmt = select(func.count()).select_from(b)
    for name, value in where.items():
        stmt = stmt.where(b.c[name] == value)
    with engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def run_together(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """Run fn(0..n-1) in n threads released together by a barrier; results or the exceptions raised."""
    barrier = threading.Barrier(n)

    def task(i: int) -> Any:
        barrier.wait()
        try:
            return fn(i)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(task, range(n)))


@pytest.fixture
def repo(engine: Engine) -> SqlBookingRepository:
    return SqlBookingRepository(engine)


def test_round_trip_keeps_every_field_and_returns_aware_utc(repo: SqlBookingRepository) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    booking = Booking(
        id="b-1",
        coach_id="coach-1",
        participant_ids=("p-2", "p-1", "p-3"),
        interval=Interval(datetime(2026, 3, 10, 11, 0, tzinfo=berlin), datetime(2026, 3, 10, 11, 45, tzinfo=berlin)),
        status=BookingStatus.HELD,
        idempotency_key="key-1",
        created_at=NOW,
        expires_at=NOW + timedelta(minutes=15),
        buffer_before=timedelta(minutes=5),
        buffer_after=timedelta(minutes=10),
    )
    repo.insert_if_free(booking, now=NOW)
    got = repo.get("b-1")
    assert got == booking
    assert got is not None
    assert got.start == at(10) and got.start.tzinfo is UTC and got.end == at(10, 45)
    assert got.expires_at is not None and got.expires_at.utcoffset() == timedelta(0)
    assert repo.get("missing") is None


def test_partial_overlaps_are_rejected(repo: SqlBookingRepository, engine: Engine) -> None:
    repo.insert_if_free(make(at(10), at(11)), now=NOW)
    for start, end in [(at(9, 30), at(10, 30)), (at(10, 30), at(11, 30)), (at(10, 15), at(10, 45)), (at(9), at(12))]:
        with pytest.raises(BookingConflict):
            repo.insert_if_free(make(start, end), now=NOW)
    with pytest.raises(BookingConflict):  # the same slot exactly
        repo.insert_if_free(make(at(10), at(11)), now=NOW)
    assert count(engine) == 1


def test_back_to_back_sessions_are_allowed(repo: SqlBookingRepository, engine: Engine) -> None:
    repo.insert_if_free(make(at(10), at(10, 30)), now=NOW)
    repo.insert_if_free(make(at(10, 30), at(11)), now=NOW)
    repo.insert_if_free(make(at(9, 30), at(10)), now=NOW)
    assert count(engine) == 3


def test_other_coaches_and_inactive_bookings_do_not_block(repo: SqlBookingRepository, engine: Engine) -> None:
    first = repo.insert_if_free(make(at(10), at(11), coach="a"), now=NOW)
    repo.insert_if_free(make(at(10), at(11), coach="b"), now=NOW)
    repo.set_status(first.id, expected=BookingStatus.CONFIRMED, new=BookingStatus.CANCELLED, now=NOW)
    repo.insert_if_free(make(at(10), at(11), coach="a"), now=NOW)
    assert count(engine) == 3


def test_a_live_hold_blocks_an_expired_hold_does_not_and_is_marked_expired(repo: SqlBookingRepository) -> None:
    live = repo.insert_if_free(
        make(at(10), at(11), status=BookingStatus.HELD, expires_at=NOW + timedelta(minutes=5)), now=NOW
    )
    with pytest.raises(BookingConflict):
        repo.insert_if_free(make(at(10), at(11)), now=NOW + timedelta(minutes=4))
    later = NOW + timedelta(minutes=5)  # expires_at <= now: the hold is over
    assert repo.active_for_coach("coach-1", Interval(at(0), at(23)), now=later) == []
    winner = repo.insert_if_free(make(at(10, 30), at(11, 30)), now=later)
    old = repo.get(live.id)
    assert old is not None and old.status == BookingStatus.EXPIRED
    assert [b.id for b in repo.active_for_coach("coach-1", Interval(at(0), at(23)), now=later)] == [winner.id]


def test_confirming_a_hold_is_compare_and_swap(repo: SqlBookingRepository) -> None:
    hold = repo.insert_if_free(make(at(10), at(11), status=BookingStatus.HELD), now=NOW)
    late = NOW + timedelta(hours=1)  # past expires_at, but nobody took the time: still held
    confirmed = repo.set_status(hold.id, expected=BookingStatus.HELD, new=BookingStatus.CONFIRMED, now=late)
    assert confirmed.status == BookingStatus.CONFIRMED
    with pytest.raises(StaleStatus) as info:
        repo.set_status(hold.id, expected=BookingStatus.HELD, new=BookingStatus.CONFIRMED, now=late)
    assert info.value.actual == BookingStatus.CONFIRMED and info.value.expected == BookingStatus.HELD
    with pytest.raises(NotFound):
        repo.set_status("nope", expected=BookingStatus.HELD, new=BookingStatus.CONFIRMED, now=late)


def test_an_expired_hold_cannot_be_confirmed_once_the_time_was_taken(repo: SqlBookingRepository) -> None:
    hold = repo.insert_if_free(make(at(10), at(11), status=BookingStatus.HELD), now=NOW)
    repo.insert_if_free(make(at(10), at(11)), now=NOW + timedelta(hours=1))
    with pytest.raises(StaleStatus):
        repo.set_status(hold.id, expected=BookingStatus.HELD, new=BookingStatus.CONFIRMED, now=NOW + timedelta(hours=1))
    with pytest.raises(ValueError):
        repo.set_status(hold.id, expected=BookingStatus.EXPIRED, new=BookingStatus.CONFIRMED, now=NOW)


def test_the_same_idempotency_key_returns_the_first_booking(repo: SqlBookingRepository, engine: Engine) -> None:
    first = repo.insert_if_free(make(at(10), at(11), key="k"), now=NOW)
    again = repo.insert_if_free(make(at(10), at(11), key="k"), now=NOW)
    elsewhere = repo.insert_if_free(make(at(14), at(15), key="k"), now=NOW)
    assert again == first and elsewhere == first
    assert count(engine) == 1


@pytest.mark.parametrize("stagger", [False, True], ids=["same-slot", "staggered-overlaps"])
def test_fifty_concurrent_inserts_of_one_slot_make_exactly_one_booking(db: Any, stagger: bool) -> None:
    engine = db.new_engine(pool_size=5, max_overflow=60)
    try:
        repo = SqlBookingRepository(engine)

        def attempt(i: int) -> Booking:
            # staggered: every start differs by a minute, so only the overlap check (not the unique
            # (coach, start) index) can stop them
            start = at(10) + timedelta(minutes=i if stagger else 0)
            return repo.insert_if_free(make(start, start + timedelta(hours=1)), now=NOW)

        results = run_together(50, attempt)
    finally:
        engine.dispose()
    booked = [r for r in results if isinstance(r, Booking)]
    conflicts = [r for r in results if isinstance(r, BookingConflict)]
    others = [r for r in results if not isinstance(r, Booking | BookingConflict)]
    assert others == []
    assert (len(booked), len(conflicts)) == (1, 49)
    assert count(db.engine) == 1


def test_racing_inserts_with_one_idempotency_key_make_one_booking(db: Any) -> None:
    engine = db.new_engine(pool_size=5, max_overflow=30)
    try:
        repo = SqlBookingRepository(engine)
        results = run_together(20, lambda i: repo.insert_if_free(make(at(10), at(11), key="same"), now=NOW))
    finally:
        engine.dispose()
    assert all(isinstance(r, Booking) for r in results), results
    assert len({r.id for r in results}) == 1
    assert count(db.engine) == 1


def test_two_concurrent_cancels_one_wins(db: Any, repo: SqlBookingRepository) -> None:
    booking = repo.insert_if_free(make(at(10), at(11)), now=NOW)
    engine = db.new_engine(pool_size=5, max_overflow=20)
    try:
        other = SqlBookingRepository(engine)
        results = run_together(
            10,
            lambda i: other.set_status(
                booking.id, expected=BookingStatus.CONFIRMED, new=BookingStatus.CANCELLED, now=NOW
            ),
        )
    finally:
        engine.dispose()
    wins = [r for r in results if isinstance(r, Booking)]
    stale = [r for r in results if isinstance(r, StaleStatus)]
    assert (len(wins), len(stale)) == (1, 9)
    assert all(s.actual == BookingStatus.CANCELLED for s in stale)


def test_reschedule_moves_the_booking_atomically(repo: SqlBookingRepository) -> None:
    old = repo.insert_if_free(make(at(10), at(11)), now=NOW)
    # the new time may overlap the old one: the old booking no longer counts
    new = repo.replace(old.id, make(at(10, 30), at(11, 30)), now=NOW)
    assert new.rescheduled_from == old.id
    assert repo.get(old.id).status == BookingStatus.RESCHEDULED  # type: ignore[union-attr]
    assert repo.get(new.id) == new
    assert [b.id for b in repo.active_for_coach("coach-1", Interval(at(0), at(23)), now=NOW)] == [new.id]
    # a retry with the same key returns the same booking
    assert repo.replace(old.id, make(at(10, 30), at(11, 30), key=new.idempotency_key), now=NOW) == new


def test_a_reschedule_onto_taken_time_changes_nothing(repo: SqlBookingRepository, engine: Engine) -> None:
    old = repo.insert_if_free(make(at(10), at(11)), now=NOW)
    repo.insert_if_free(make(at(14), at(15)), now=NOW)
    with pytest.raises(BookingConflict):
        repo.replace(old.id, make(at(14, 30), at(15, 30)), now=NOW)
    assert repo.get(old.id) == old
    assert count(engine) == 2


def test_a_reschedule_of_a_cancelled_booking_is_stale(repo: SqlBookingRepository, engine: Engine) -> None:
    old = repo.insert_if_free(make(at(10), at(11)), now=NOW)
    repo.set_status(old.id, expected=BookingStatus.CONFIRMED, new=BookingStatus.CANCELLED, now=NOW)
    with pytest.raises(StaleStatus):
        repo.replace(old.id, make(at(12), at(13)), now=NOW)
    with pytest.raises(NotFound):
        repo.replace("missing", make(at(12), at(13)), now=NOW)
    assert count(engine) == 1


def test_queries_for_coach_and_person(repo: SqlBookingRepository) -> None:
    a = repo.insert_if_free(make(at(10), at(11), coach="c", participants=("p", "q")), now=NOW)
    b = repo.insert_if_free(make(at(12), at(13), coach="c", participants=("q",)), now=NOW)
    c = repo.insert_if_free(make(at(9), at(10), coach="p", participants=("r",)), now=NOW)
    gone = repo.insert_if_free(make(at(15), at(16), coach="c", participants=("p",)), now=NOW)
    repo.set_status(gone.id, expected=BookingStatus.CONFIRMED, new=BookingStatus.CANCELLED, now=NOW)
    assert [x.id for x in repo.active_for_coach("c", Interval(at(11), at(17)), now=NOW)] == [b.id]
    assert [x.id for x in repo.active_for_coach("c", Interval(at(0), at(23)), now=NOW)] == [a.id, b.id]
    assert [x.id for x in repo.upcoming_for_person("p", now=NOW)] == [c.id, a.id]
    assert [x.id for x in repo.upcoming_for_person("q", now=at(10, 30))] == [a.id, b.id]
    assert [x.id for x in repo.upcoming_for_person("q", now=at(11))] == [b.id]
    assert [x.id for x in repo.upcoming_for_person("q", now=NOW, limit=1)] == [a.id]
    assert repo.upcoming_for_person("q", now=NOW)[0].participant_ids == ("p", "q")


def test_bad_bookings_are_refused(repo: SqlBookingRepository) -> None:
    with pytest.raises(ValueError):
        repo.insert_if_free(make(at(10), at(10)), now=NOW)
    with pytest.raises(ValueError):
        repo.insert_if_free(make(at(10), at(11), status=BookingStatus.CANCELLED), now=NOW)


def test_the_database_itself_refuses_overlaps(db: Any) -> None:
    """Bypass the repository: the constraint (PostgreSQL) / unique index (SQLite) still holds."""
    b = table(BookingRow)

    def row(start: datetime, end: datetime, status: str = "confirmed") -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()),
            "coach_id": "c",
            "start_at": start,
            "end_at": end,
            "status": status,
            "idempotency_key": str(uuid.uuid4()),
            "created_at": NOW,
            "updated_at": NOW,
            "buffer_before_s": 0,
            "buffer_after_s": 0,
        }

    with db.engine.begin() as conn:
        conn.execute(insert(b).values(**row(at(10), at(11))))
        conn.execute(insert(b).values(**row(at(11), at(12))))  # back-to-back
        conn.execute(insert(b).values(**row(at(10), at(11), "cancelled")))
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(insert(b).values(**row(at(10), at(11))))
    if db.backend == "postgresql":
        with pytest.raises(IntegrityError) as info, db.engine.begin() as conn:
            conn.execute(insert(b).values(**row(at(10, 30), at(10, 45), "held")))
        assert getattr(info.value.orig, "sqlstate", None) == "23P01"
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(insert(b).values(**row(at(13), at(12))))
    assert count(db.engine) == 3
