"""Repositories: rows <-> the core's dataclasses, on SQLite and PostgreSQL.

All repositories are synchronous and take an :class:`~sqlalchemy.engine.Engine` made by
:func:`storage.db.make_engine`; every method is one transaction (``BEGIN IMMEDIATE`` for writes on SQLite).
The async booking service calls them through ``asyncio.to_thread``.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import and_, delete, func, insert, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.expression import ColumnElement

from bot.scheduling.intervals import Interval
from bot.scheduling.model import (
    Booking,
    BookingStatus,
    CoachSettings,
    Identity,
    Person,
    Poll,
    PollOption,
    Vote,
    VoteChoice,
    WeeklyHours,
)
from bot.scheduling.ports import BookingConflict, NotFound, RemoteCalendar, StaleStatus
from storage.db import read_tx, write_tx
from storage.secrets import SecretBox, SecretError
from storage.tables import (
    ACTIVE_STATUSES,
    CALENDAR_PROVIDERS,
    BookingEventRow,
    BookingParticipantRow,
    BookingRow,
    CalendarAccountRow,
    CalendarRow,
    CoachSettingsRow,
    ConversationStateRow,
    CredentialRow,
    IdentityRow,
    PersonRow,
    PollInviteeRow,
    PollOptionRow,
    PollRow,
    ProcessedEventRow,
    VoteRow,
    table,
)

__all__ = [
    "AccountStatus",
    "BookingEvent",
    "Calendar",
    "CalendarAccount",
    "Provider",
    "SqlBookingRepository",
    "SqlCalendarRepository",
    "SqlCoachSettingsRepository",
    "SqlConversationStateRepository",
    "SqlCredentialStore",
    "SqlPeopleRepository",
    "SqlPollRepository",
    "SqlProcessedEventRepository",
]

B = table(BookingRow)
BP = table(BookingParticipantRow)
P = table(PersonRow)
ID = table(IdentityRow)
CS = table(CoachSettingsRow)
ACC = table(CalendarAccountRow)
CAL = table(CalendarRow)
CRED = table(CredentialRow)
POLL = table(PollRow)
OPT = table(PollOptionRow)
INV = table(PollInviteeRow)
VOTE = table(VoteRow)
STATE = table(ConversationStateRow)
EVT = table(ProcessedEventRow)
BEV = table(BookingEventRow)

_ACTIVE = list(ACTIVE_STATUSES)


def _seconds(value: timedelta) -> int:
    return round(value.total_seconds())


def _new_id() -> str:
    return str(uuid.uuid4())


def _upsert(conn: Connection, tbl: Any, values: Mapping[str, Any], keys: Sequence[str]) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE, on SQLite and PostgreSQL."""
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = dialect_insert(tbl).values(**values)
    changes = {k: stmt.excluded[k] for k in values if k not in keys}
    conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=changes))


def _insert_ignore(conn: Connection, tbl: Any, values: Mapping[str, Any], keys: Sequence[str]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING; the number of rows inserted (0 or 1)."""
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = dialect_insert(tbl).values(**values).on_conflict_do_nothing(index_elements=list(keys))
    return conn.execute(stmt, execution_options={"preserve_rowcount": True}).rowcount


def _lock_row(conn: Connection, tbl: Any, key: ColumnElement[bool]) -> Row[Any] | None:
    """SELECT ... FOR UPDATE on PostgreSQL (SQLite's BEGIN IMMEDIATE already serializes writers)."""
    stmt = select(tbl).where(key)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


# --------------------------------------------------------------------------------------------- bookings


def _overlaps(start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(B.c.start_at < end, B.c.end_at > start)


def _live(now: datetime) -> ColumnElement[bool]:
    """Active, and not a hold whose time ran out (such holds never block, even before they are marked)."""
    return and_(
        B.c.status.in_(_ACTIVE),
        or_(B.c.status != BookingStatus.HELD.value, B.c.expires_at.is_(None), B.c.expires_at > now),
    )


def _is_overlap_violation(exc: IntegrityError) -> bool:
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == "23P01":  # exclusion_violation: bookings_no_overlap
        return True
    message = str(orig)
    return "uq_bookings_active_coach_start" in message or "bookings.coach_id, bookings.start_at" in message


class _Retry(Exception):
    def __init__(self, existing: Booking) -> None:
        super().__init__(existing.id)
        self.existing = existing


class SqlBookingRepository:
    """``BookingRepository``: no double booking, enforced by the database (see ``0001_initial``)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # -- reads

    def get(self, booking_id: str) -> Booking | None:
        with read_tx(self._engine) as conn:
            return self._get(conn, booking_id)

    def by_idempotency_key(self, key: str) -> Booking | None:
        with read_tx(self._engine) as conn:
            return self._by_key(conn, key)

    def active_for_coach(self, coach_id: str, window: Interval, *, now: datetime) -> list[Booking]:
        stmt = (
            select(B)
            .where(B.c.coach_id == coach_id, _live(now), _overlaps(window.start, window.end))
            .order_by(B.c.start_at, B.c.id)
        )
        with read_tx(self._engine) as conn:
            return self._load(conn, conn.execute(stmt).all())

    def upcoming_for_person(self, person_id: str, *, now: datetime, limit: int = 20) -> list[Booking]:
        as_participant = select(BP.c.booking_id).where(BP.c.person_id == person_id)
        stmt = (
            select(B)
            .where(
                _live(now),
                B.c.end_at > now,
                or_(B.c.coach_id == person_id, B.c.id.in_(as_participant)),
            )
            .order_by(B.c.start_at, B.c.id)
            .limit(limit)
        )
        with read_tx(self._engine) as conn:
            return self._load(conn, conn.execute(stmt).all())

    # -- writes

    def insert_if_free(self, booking: Booking, *, now: datetime) -> Booking:
        _check_new(booking)
        try:
            with write_tx(self._engine) as conn:
                existing = self._by_key(conn, booking.idempotency_key)
                if existing is not None:
                    return existing
                return self._insert_checked(conn, booking, now) or booking
        except IntegrityError as exc:
            return self._after_integrity_error(exc, booking, rescheduled_from=None)

    def set_status(self, booking_id: str, *, expected: BookingStatus, new: BookingStatus, now: datetime) -> Booking:
        expected, new = BookingStatus(expected), BookingStatus(new)
        if new.active and not expected.active:
            raise ValueError(f"a {expected} booking cannot become {new}: book the time again instead")
        try:
            with write_tx(self._engine) as conn:
                result = conn.execute(
                    update(B)
                    .where(B.c.id == booking_id, B.c.status == expected.value)
                    .values(status=new.value, updated_at=now)
                )
                if result.rowcount != 1:
                    self._raise_stale(conn, booking_id, expected)
                booking = self._get(conn, booking_id)
                assert booking is not None
                return booking
        except IntegrityError as exc:
            if _is_overlap_violation(exc):
                raise BookingConflict(f"booking {booking_id} overlaps another active booking") from None
            raise

    def replace(self, old_id: str, new: Booking, *, now: datetime) -> Booking:
        _check_new(new)
        if new.rescheduled_from is None:
            new = dataclasses.replace(new, rescheduled_from=old_id)
        elif new.rescheduled_from != old_id:
            raise ValueError(f"the new booking says it replaces {new.rescheduled_from}, not {old_id}")
        try:
            with write_tx(self._engine) as conn:
                existing = self._by_key(conn, new.idempotency_key)
                if existing is not None:
                    return self._same_reschedule(existing, old_id)
                # Free the old time first, so the new booking may overlap it (and the constraint holds).
                result = conn.execute(
                    update(B)
                    .where(B.c.id == old_id, B.c.status.in_(_ACTIVE))
                    .values(status=BookingStatus.RESCHEDULED.value, updated_at=now)
                )
                if result.rowcount != 1:
                    self._raise_stale(conn, old_id, BookingStatus.CONFIRMED)
                existing = self._insert_checked(conn, new, now)
                if existing is not None:
                    raise _Retry(existing)
                return new
        except _Retry as retry:  # rolled back the CAS: the booking with this key exists already
            return self._same_reschedule(retry.existing, old_id)
        except IntegrityError as exc:
            return self._after_integrity_error(exc, new, rescheduled_from=old_id)

    def expire_holds(self, *, now: datetime) -> int:
        """Mark every hold whose time ran out as expired (housekeeping; holds never block after expiry)."""
        with write_tx(self._engine) as conn:
            result = conn.execute(
                update(B)
                .where(
                    B.c.status == BookingStatus.HELD.value,
                    B.c.expires_at.is_not(None),
                    B.c.expires_at <= now,
                )
                .values(status=BookingStatus.EXPIRED.value, updated_at=now)
            )
            return result.rowcount

    # -- internals

    def _insert_checked(self, conn: Connection, booking: Booking, now: datetime) -> Booking | None:
        """Expire stale overlapping holds, check for overlaps, insert.  Returns None when inserted, or the
        booking that already has this idempotency key."""
        start, end = booking.interval.start, booking.interval.end
        conn.execute(
            update(B)
            .where(
                B.c.coach_id == booking.coach_id,
                B.c.status == BookingStatus.HELD.value,
                B.c.expires_at.is_not(None),
                B.c.expires_at <= now,
                _overlaps(start, end),
            )
            .values(status=BookingStatus.EXPIRED.value, updated_at=now)
        )
        taken = conn.execute(
            select(B.c.id, B.c.idempotency_key)
            .where(B.c.coach_id == booking.coach_id, B.c.status.in_(_ACTIVE), _overlaps(start, end))
            .limit(2)
        ).all()
        if any(row.idempotency_key == booking.idempotency_key for row in taken):
            # PostgreSQL (read committed): a racing insert with our key committed after our key lookup.
            return self._by_key(conn, booking.idempotency_key)
        if taken:
            raise BookingConflict(
                f"coach {booking.coach_id} already has a booking overlapping {start.isoformat()}–{end.isoformat()}"
            )
        conn.execute(
            insert(B).values(
                id=booking.id,
                coach_id=booking.coach_id,
                start_at=start,
                end_at=end,
                status=BookingStatus(booking.status).value,
                idempotency_key=booking.idempotency_key,
                created_at=booking.created_at,
                updated_at=now,
                expires_at=booking.expires_at,
                rescheduled_from=booking.rescheduled_from,
                buffer_before_s=_seconds(booking.buffer_before),
                buffer_after_s=_seconds(booking.buffer_after),
            )
        )
        if booking.participant_ids:
            conn.execute(
                insert(BP),
                [
                    {"booking_id": booking.id, "position": i, "person_id": pid}
                    for i, pid in enumerate(booking.participant_ids)
                ],
            )
        return None

    def _after_integrity_error(self, exc: IntegrityError, booking: Booking, *, rescheduled_from: str | None) -> Booking:
        # Someone else committed first.  The same idempotency key: that booking is the answer.
        existing = self.by_idempotency_key(booking.idempotency_key)
        if existing is not None:
            if rescheduled_from is not None:
                return self._same_reschedule(existing, rescheduled_from)
            return existing
        if _is_overlap_violation(exc):
            raise BookingConflict(
                f"coach {booking.coach_id} already has a booking overlapping "
                f"{booking.start.isoformat()}–{booking.end.isoformat()}"
            ) from None
        raise exc

    @staticmethod
    def _same_reschedule(existing: Booking, old_id: str) -> Booking:
        if existing.rescheduled_from != old_id:
            raise ValueError(f"idempotency key {existing.idempotency_key!r} already belongs to booking {existing.id}")
        return existing

    def _raise_stale(self, conn: Connection, booking_id: str, expected: BookingStatus) -> None:
        actual = conn.execute(select(B.c.status).where(B.c.id == booking_id)).scalar()
        if actual is None:
            raise NotFound(f"no booking {booking_id}")
        raise StaleStatus(booking_id, expected, BookingStatus(actual))

    def _get(self, conn: Connection, booking_id: str) -> Booking | None:
        rows = self._load(conn, conn.execute(select(B).where(B.c.id == booking_id)).all())
        return rows[0] if rows else None

    def _by_key(self, conn: Connection, key: str) -> Booking | None:
        rows = self._load(conn, conn.execute(select(B).where(B.c.idempotency_key == key)).all())
        return rows[0] if rows else None

    @staticmethod
    def _load(conn: Connection, rows: Sequence[Row[Any]]) -> list[Booking]:
        if not rows:
            return []
        ids = [r.id for r in rows]
        participants: dict[str, list[str]] = {i: [] for i in ids}
        for p in conn.execute(
            select(BP.c.booking_id, BP.c.person_id)
            .where(BP.c.booking_id.in_(ids))
            .order_by(BP.c.booking_id, BP.c.position)
        ):
            participants[p.booking_id].append(p.person_id)
        return [
            Booking(
                id=r.id,
                coach_id=r.coach_id,
                participant_ids=tuple(participants[r.id]),
                interval=Interval(r.start_at, r.end_at),
                status=BookingStatus(r.status),
                idempotency_key=r.idempotency_key,
                created_at=r.created_at,
                expires_at=r.expires_at,
                rescheduled_from=r.rescheduled_from,
                buffer_before=timedelta(seconds=r.buffer_before_s),
                buffer_after=timedelta(seconds=r.buffer_after_s),
            )
            for r in rows
        ]


def _check_new(booking: Booking) -> None:
    if not BookingStatus(booking.status).active:
        raise ValueError(f"only held or confirmed bookings can be inserted, not {booking.status}")
    if booking.interval.empty:
        raise ValueError("a booking must end after it starts")
    if booking.status == BookingStatus.HELD and booking.expires_at is None:
        raise ValueError("a held booking needs expires_at")
    if not booking.idempotency_key:
        raise ValueError("a booking needs an idempotency key")


# ----------------------------------------------------------------------------------------------- people


def _person(row: Row[Any]) -> Person:
    return Person(
        id=row.id,
        display_name=row.display_name,
        timezone=row.timezone,
        email=row.email,
        locale=row.locale,
        is_coach=bool(row.is_coach),
        handle=row.handle,
    )


def _person_values(person: Person) -> dict[str, Any]:
    return {
        "display_name": person.display_name,
        "timezone": person.timezone,
        "email": person.email,
        "locale": person.locale,
        "is_coach": person.is_coach,
        "handle": person.handle,
    }


class SqlPeopleRepository:
    """``PeopleRepository``: people and their chat identities (Slack user + team, Teams user + tenant, web)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, person: Person, identities: Sequence[Identity] = (), *, now: datetime | None = None) -> Person:
        created = now or datetime.now(UTC)
        try:
            with write_tx(self._engine) as conn:
                conn.execute(insert(P).values(id=person.id, created_at=created, **_person_values(person)))
                for identity in identities:
                    conn.execute(insert(ID).values(person_id=person.id, **_identity_values(identity)))
        except IntegrityError:
            raise ValueError(
                f"person {person.id} cannot be added: the id, handle or a chat identity is already in use"
            ) from None
        return person

    def get(self, person_id: str) -> Person | None:
        with read_tx(self._engine) as conn:
            row = conn.execute(select(P).where(P.c.id == person_id)).first()
        return _person(row) if row else None

    def by_identity(self, identity: Identity) -> Person | None:
        v = _identity_values(identity)
        stmt = (
            select(P)
            .join(ID, ID.c.person_id == P.c.id)
            .where(ID.c.surface == v["surface"], ID.c.tenant == v["tenant"], ID.c.external_id == v["external_id"])
        )
        with read_tx(self._engine) as conn:
            row = conn.execute(stmt).first()
        return _person(row) if row else None

    def by_handle(self, handle: str) -> Person | None:
        handle = handle.strip().lstrip("@")
        with read_tx(self._engine) as conn:
            row = conn.execute(select(P).where(P.c.handle == handle)).first()
            if row is None:
                row = conn.execute(
                    select(P).where(func.lower(P.c.handle) == handle.lower()).order_by(P.c.id).limit(1)
                ).first()
        return _person(row) if row else None

    def by_name(self, name: str, *, limit: int = 10) -> list[Person]:
        """People whose display name is ``name`` or starts with it as a word (case-insensitive), best first."""
        name = " ".join(name.split()).lower()
        if not name:
            return []
        full = func.lower(P.c.display_name)
        stmt = (
            select(P)
            .where(or_(full == name, full.like(name.replace("%", "").replace("_", "") + " %")))
            .order_by((full == name).desc(), P.c.id)
            .limit(limit)
        )
        with read_tx(self._engine) as conn:
            rows = conn.execute(stmt).all()
        return [_person(r) for r in rows]

    def coaches(self, *, limit: int = 50) -> list[Person]:
        """People who coach, by display name."""
        with read_tx(self._engine) as conn:
            rows = conn.execute(
                select(P).where(P.c.is_coach == true()).order_by(P.c.display_name, P.c.id).limit(limit)
            ).all()
        return [_person(r) for r in rows]

    def identities(self, person_id: str) -> list[Identity]:
        with read_tx(self._engine) as conn:
            rows = conn.execute(
                select(ID).where(ID.c.person_id == person_id).order_by(ID.c.surface, ID.c.tenant, ID.c.external_id)
            ).all()
        return [Identity(surface=cast(Any, r.surface), external_id=r.external_id, tenant=r.tenant) for r in rows]

    def link_identity(self, person_id: str, identity: Identity) -> None:
        """Point ``identity`` at the person; a no-op when it already does.  An identity belongs to one person:
        linking one that belongs to someone else raises ``ValueError``."""
        v = _identity_values(identity)
        with write_tx(self._engine) as conn:
            if conn.execute(select(P.c.id).where(P.c.id == person_id)).first() is None:
                raise NotFound(f"no person {person_id}")
            owner = conn.execute(
                select(ID.c.person_id).where(
                    ID.c.surface == v["surface"], ID.c.tenant == v["tenant"], ID.c.external_id == v["external_id"]
                )
            ).scalar()
            if owner == person_id:
                return
            if owner is not None:
                raise ValueError(f"that {identity.surface} identity already belongs to another person")
            inserted = _insert_ignore(conn, ID, {"person_id": person_id, **v}, ("surface", "tenant", "external_id"))
            if not inserted:
                raise ValueError(f"that {identity.surface} identity already belongs to another person")

    def update(self, person: Person) -> Person:
        try:
            with write_tx(self._engine) as conn:
                result = conn.execute(update(P).where(P.c.id == person.id).values(**_person_values(person)))
                if result.rowcount != 1:
                    raise NotFound(f"no person {person.id}")
        except IntegrityError:
            raise ValueError(f"the handle {person.handle!r} is already taken") from None
        return person


def _identity_values(identity: Identity) -> dict[str, str]:
    return {"surface": identity.surface, "tenant": identity.tenant or "", "external_id": identity.external_id}


# ----------------------------------------------------------------------------------------- coach settings


class SqlCoachSettingsRepository:
    """``CoachSettingsRepository``: zone, weekly hours and overrides, buffers, notice, horizon, limits."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get_settings(self, person_id: str) -> CoachSettings | None:
        with read_tx(self._engine) as conn:
            row = conn.execute(select(CS).where(CS.c.person_id == person_id)).first()
        if row is None:
            return None
        return CoachSettings(
            timezone=row.timezone,
            hours=WeeklyHours.from_mapping(row.hours, row.overrides),
            buffer_before=timedelta(seconds=row.buffer_before_s),
            buffer_after=timedelta(seconds=row.buffer_after_s),
            min_notice=timedelta(seconds=row.min_notice_s),
            horizon=timedelta(seconds=row.horizon_s),
            session_lengths=tuple(int(m) for m in row.session_lengths),
            max_per_day=row.max_per_day,
            max_per_week=row.max_per_week,
            all_day_blocks=bool(row.all_day_blocks),
            tentative_blocks=bool(row.tentative_blocks),
        )

    def save_settings(self, person_id: str, settings: CoachSettings, *, now: datetime | None = None) -> None:
        values = {
            "person_id": person_id,
            "timezone": settings.timezone,
            "hours": settings.hours.to_mapping(),
            "overrides": settings.hours.overrides_mapping(),
            "buffer_before_s": _seconds(settings.buffer_before),
            "buffer_after_s": _seconds(settings.buffer_after),
            "min_notice_s": _seconds(settings.min_notice),
            "horizon_s": _seconds(settings.horizon),
            "session_lengths": list(settings.session_lengths),
            "max_per_day": settings.max_per_day,
            "max_per_week": settings.max_per_week,
            "all_day_blocks": settings.all_day_blocks,
            "tentative_blocks": settings.tentative_blocks,
            "updated_at": now or datetime.now(UTC),
        }
        try:
            with write_tx(self._engine) as conn:
                _upsert(conn, CS, values, ("person_id",))
        except IntegrityError:
            raise NotFound(f"no person {person_id}") from None


# -------------------------------------------------------------------------------------------------- polls


class SqlPollRepository:
    """``PollRepository``: polls, their options and invitees, votes (one per voter and option)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add_poll(self, poll: Poll) -> Poll:
        try:
            with write_tx(self._engine) as conn:
                conn.execute(
                    insert(POLL).values(
                        id=poll.id,
                        organizer_id=poll.organizer_id,
                        title=poll.title,
                        duration_s=_seconds(poll.duration),
                        status=poll.status,
                        winner_option_id=poll.winner_option_id,
                        created_at=poll.created_at,
                    )
                )
                if poll.options:
                    conn.execute(
                        insert(OPT),
                        [
                            {
                                "poll_id": poll.id,
                                "id": o.id,
                                "position": i,
                                "start_at": o.interval.start,
                                "end_at": o.interval.end,
                            }
                            for i, o in enumerate(poll.options)
                        ],
                    )
                if poll.invitee_ids:
                    conn.execute(
                        insert(INV),
                        [{"poll_id": poll.id, "position": i, "person_id": p} for i, p in enumerate(poll.invitee_ids)],
                    )
        except IntegrityError:
            raise ValueError(f"poll {poll.id} cannot be added: the id or an option id is already in use") from None
        return poll

    def get_poll(self, poll_id: str) -> Poll | None:
        with read_tx(self._engine) as conn:
            return self._get(conn, poll_id)

    def cast_vote(self, poll_id: str, vote: Vote, *, now: datetime | None = None) -> None:
        choice = VoteChoice(vote.choice).value
        with write_tx(self._engine) as conn:
            poll = _lock_row(conn, POLL, POLL.c.id == poll_id)
            if poll is None:
                raise NotFound(f"no poll {poll_id}")
            if poll.status != "open":
                raise ValueError("this poll is closed")
            option = conn.execute(select(OPT.c.id).where(OPT.c.poll_id == poll_id, OPT.c.id == vote.option_id)).first()
            if option is None:
                raise ValueError(f"poll {poll_id} has no option {vote.option_id}")
            _upsert(
                conn,
                VOTE,
                {
                    "poll_id": poll_id,
                    "option_id": vote.option_id,
                    "voter_id": vote.voter_id,
                    "choice": choice,
                    "cast_at": now or datetime.now(UTC),
                },
                ("poll_id", "option_id", "voter_id"),
            )

    def votes(self, poll_id: str) -> list[Vote]:
        stmt = (
            select(VOTE.c.option_id, VOTE.c.voter_id, VOTE.c.choice)
            .join(OPT, and_(OPT.c.poll_id == VOTE.c.poll_id, OPT.c.id == VOTE.c.option_id))
            .where(VOTE.c.poll_id == poll_id)
            .order_by(OPT.c.position, VOTE.c.voter_id)
        )
        with read_tx(self._engine) as conn:
            rows = conn.execute(stmt).all()
        return [Vote(option_id=r.option_id, voter_id=r.voter_id, choice=VoteChoice(r.choice)) for r in rows]

    def close_poll(self, poll_id: str, *, winner_option_id: str | None) -> Poll:
        with write_tx(self._engine) as conn:
            if winner_option_id is not None:
                known = conn.execute(
                    select(OPT.c.id).where(OPT.c.poll_id == poll_id, OPT.c.id == winner_option_id)
                ).first()
                if known is None:
                    raise ValueError(f"poll {poll_id} has no option {winner_option_id}")
            result = conn.execute(
                update(POLL)
                .where(POLL.c.id == poll_id, POLL.c.status == "open")
                .values(status="closed", winner_option_id=winner_option_id)
            )
            if result.rowcount != 1:
                if conn.execute(select(POLL.c.id).where(POLL.c.id == poll_id)).first() is None:
                    raise NotFound(f"no poll {poll_id}")
                raise ValueError(f"poll {poll_id} is already closed")
            poll = self._get(conn, poll_id)
            assert poll is not None
            return poll

    @staticmethod
    def _get(conn: Connection, poll_id: str) -> Poll | None:
        row = conn.execute(select(POLL).where(POLL.c.id == poll_id)).first()
        if row is None:
            return None
        options = conn.execute(select(OPT).where(OPT.c.poll_id == poll_id).order_by(OPT.c.position)).all()
        invitees = conn.execute(
            select(INV.c.person_id).where(INV.c.poll_id == poll_id).order_by(INV.c.position)
        ).scalars()
        return Poll(
            id=row.id,
            organizer_id=row.organizer_id,
            title=row.title,
            duration=timedelta(seconds=row.duration_s),
            options=tuple(PollOption(id=o.id, interval=Interval(o.start_at, o.end_at)) for o in options),
            invitee_ids=tuple(invitees),
            status=cast(Literal["open", "closed"], row.status),
            winner_option_id=row.winner_option_id,
            created_at=row.created_at,
        )


# ------------------------------------------------------------------------------- conversation state, events


class SqlConversationStateRepository:
    """``ConversationStateRepository``: JSON state per conversation key, with an expiry."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def load_state(self, key: str, *, now: datetime) -> dict[str, object] | None:
        with read_tx(self._engine) as conn:
            row = conn.execute(select(STATE.c.state).where(STATE.c.key == key, STATE.c.expires_at > now)).first()
        return dict(row.state) if row is not None else None

    def save_state(
        self, key: str, state: dict[str, object], *, expires_at: datetime, now: datetime | None = None
    ) -> None:
        values = {
            "key": key,
            "state": state,
            "expires_at": expires_at,
            "updated_at": now or datetime.now(UTC),
        }
        with write_tx(self._engine) as conn:
            _upsert(conn, STATE, values, ("key",))

    def delete_state(self, key: str) -> None:
        with write_tx(self._engine) as conn:
            conn.execute(delete(STATE).where(STATE.c.key == key))

    def purge_expired(self, *, now: datetime) -> int:
        with write_tx(self._engine) as conn:
            return conn.execute(delete(STATE).where(STATE.c.expires_at <= now)).rowcount


class SqlProcessedEventRepository:
    """``ProcessedEventRepository``: at-most-once handling of retried deliveries."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def first_time(self, event_id: str, *, now: datetime) -> bool:
        with write_tx(self._engine) as conn:
            return _insert_ignore(conn, EVT, {"event_id": event_id, "processed_at": now}, ("event_id",)) == 1

    def purge_before(self, cutoff: datetime) -> int:
        with write_tx(self._engine) as conn:
            return conn.execute(delete(EVT).where(EVT.c.processed_at < cutoff)).rowcount


# ------------------------------------------------------------------------------------------------ calendars

Provider = Literal["google", "microsoft", "caldav", "icloud", "ics", "local"]
AccountStatus = Literal["ok", "needs_reconnect"]


@dataclass(frozen=True, slots=True)
class CalendarAccount:
    """A connection to a calendar provider.  Its credentials live in ``SqlCredentialStore``, not here."""

    id: str
    person_id: str
    provider: Provider
    display_name: str
    status: AccountStatus = "ok"
    last_synced_at: datetime | None = None
    last_error: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Calendar:
    """One calendar of an account: ``pull`` counts its busy time; ``push`` receives new bookings."""

    id: str
    account_id: str
    person_id: str
    external_id: str
    name: str
    pull: bool = True
    push: bool = False
    sync_token: str | None = None
    etags: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BookingEvent:
    """A booking written into a push calendar: the provider's event id and its last known etag."""

    booking_id: str
    calendar_id: str
    external_id: str
    etag: str | None = None


def _account(row: Row[Any]) -> CalendarAccount:
    return CalendarAccount(
        id=row.id,
        person_id=row.person_id,
        provider=cast(Provider, row.provider),
        display_name=row.display_name,
        status=cast(AccountStatus, row.status),
        last_synced_at=row.last_synced_at,
        last_error=row.last_error,
        created_at=row.created_at,
    )


def _calendar(row: Row[Any]) -> Calendar:
    return Calendar(
        id=row.id,
        account_id=row.account_id,
        person_id=row.person_id,
        external_id=row.external_id,
        name=row.name,
        pull=bool(row.pull),
        push=bool(row.push),
        sync_token=row.sync_token,
        etags=dict(row.etags or {}),
    )


class SqlCalendarRepository:
    """Calendar accounts and their calendars; exactly one push calendar per person (a partial unique index)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # -- accounts

    def add_account(
        self,
        person_id: str,
        provider: Provider,
        display_name: str,
        *,
        now: datetime,
        account_id: str | None = None,
    ) -> CalendarAccount:
        if provider not in CALENDAR_PROVIDERS:
            raise ValueError(f"unknown calendar provider {provider!r}: use one of {', '.join(CALENDAR_PROVIDERS)}")
        account = CalendarAccount(
            id=account_id or _new_id(),
            person_id=person_id,
            provider=provider,
            display_name=display_name,
            created_at=now,
        )
        try:
            with write_tx(self._engine) as conn:
                conn.execute(
                    insert(ACC).values(
                        id=account.id,
                        person_id=person_id,
                        provider=provider,
                        display_name=display_name,
                        status="ok",
                        created_at=now,
                    )
                )
        except IntegrityError:
            raise NotFound(f"no person {person_id} (or account {account.id} exists already)") from None
        return account

    def get_account(self, account_id: str) -> CalendarAccount | None:
        with read_tx(self._engine) as conn:
            row = conn.execute(select(ACC).where(ACC.c.id == account_id)).first()
        return _account(row) if row else None

    def accounts_for_person(self, person_id: str) -> list[CalendarAccount]:
        with read_tx(self._engine) as conn:
            rows = conn.execute(
                select(ACC).where(ACC.c.person_id == person_id).order_by(ACC.c.created_at, ACC.c.id)
            ).all()
        return [_account(r) for r in rows]

    def mark_synced(self, account_id: str, *, now: datetime) -> None:
        self._update_account(account_id, status="ok", last_synced_at=now, last_error=None)

    def mark_needs_reconnect(self, account_id: str, *, error: str) -> None:
        self._update_account(account_id, status="needs_reconnect", last_error=error[:2000])

    def record_error(self, account_id: str, *, error: str) -> None:
        """A failed sync that the account can recover from by itself (status unchanged)."""
        self._update_account(account_id, last_error=error[:2000])

    def delete_account(self, account_id: str) -> None:
        """The account, its calendars and its credentials."""
        with write_tx(self._engine) as conn:
            conn.execute(delete(ACC).where(ACC.c.id == account_id))

    def _update_account(self, account_id: str, **values: Any) -> None:
        with write_tx(self._engine) as conn:
            if conn.execute(update(ACC).where(ACC.c.id == account_id).values(**values)).rowcount != 1:
                raise NotFound(f"no calendar account {account_id}")

    # -- calendars

    def upsert_calendar(self, account_id: str, external_id: str, name: str, *, pull: bool | None = None) -> Calendar:
        """Add a calendar the provider listed, or rename it; a new calendar is pulled, not pushed."""
        with write_tx(self._engine) as conn:
            owner = conn.execute(select(ACC.c.person_id).where(ACC.c.id == account_id)).scalar()
            if owner is None:
                raise NotFound(f"no calendar account {account_id}")
            row = conn.execute(
                select(CAL).where(CAL.c.account_id == account_id, CAL.c.external_id == external_id)
            ).first()
            if row is None:
                calendar_id = _new_id()
                conn.execute(
                    insert(CAL).values(
                        id=calendar_id,
                        account_id=account_id,
                        person_id=owner,
                        external_id=external_id,
                        name=name,
                        pull=True if pull is None else pull,
                        push=False,
                        sync_token=None,
                        etags={},
                    )
                )
            else:
                calendar_id = row.id
                changes: dict[str, Any] = {"name": name}
                if pull is not None:
                    changes["pull"] = pull
                conn.execute(update(CAL).where(CAL.c.id == calendar_id).values(**changes))
            result = conn.execute(select(CAL).where(CAL.c.id == calendar_id)).one()
            return _calendar(result)

    def store_listed(self, account_id: str, listed: Iterable[RemoteCalendar]) -> list[Calendar]:
        """What the provider listed: new calendars are added (pulled when ``busy_by_default``), known ones renamed
        and keep the person's choice.  Returns the account's calendars."""
        known = {c.external_id for c in self.calendars_for_account(account_id)}
        for remote in listed:
            pull = None if remote.external_id in known else remote.busy_by_default
            self.upsert_calendar(account_id, remote.external_id, remote.name, pull=pull)
        return self.calendars_for_account(account_id)

    def get_calendar(self, calendar_id: str) -> Calendar | None:
        with read_tx(self._engine) as conn:
            row = conn.execute(select(CAL).where(CAL.c.id == calendar_id)).first()
        return _calendar(row) if row else None

    def calendars_for_account(self, account_id: str) -> list[Calendar]:
        with read_tx(self._engine) as conn:
            rows = conn.execute(select(CAL).where(CAL.c.account_id == account_id).order_by(CAL.c.name, CAL.c.id))
            return [_calendar(r) for r in rows]

    def calendars_for_person(self, person_id: str, *, pull_only: bool = False) -> list[Calendar]:
        stmt = select(CAL).where(CAL.c.person_id == person_id)
        if pull_only:
            stmt = stmt.where(CAL.c.pull == true())
        with read_tx(self._engine) as conn:
            return [_calendar(r) for r in conn.execute(stmt.order_by(CAL.c.account_id, CAL.c.name, CAL.c.id))]

    def set_pull(self, calendar_id: str, pull: bool) -> None:
        with write_tx(self._engine) as conn:
            if conn.execute(update(CAL).where(CAL.c.id == calendar_id).values(pull=pull)).rowcount != 1:
                raise NotFound(f"no calendar {calendar_id}")

    def push_calendar(self, person_id: str) -> Calendar | None:
        with read_tx(self._engine) as conn:
            row = conn.execute(select(CAL).where(CAL.c.person_id == person_id, CAL.c.push == true())).first()
        return _calendar(row) if row else None

    def set_push_calendar(self, person_id: str, calendar_id: str | None) -> None:
        """Make ``calendar_id`` the person's only push calendar (None: no push calendar), in one transaction."""
        with write_tx(self._engine) as conn:
            # Serialize concurrent changes for one person on PostgreSQL (SQLite: BEGIN IMMEDIATE does).
            _lock_row(conn, P, P.c.id == person_id)
            if calendar_id is not None:
                owner = conn.execute(select(CAL.c.person_id).where(CAL.c.id == calendar_id)).scalar()
                if owner is None:
                    raise NotFound(f"no calendar {calendar_id}")
                if owner != person_id:
                    raise ValueError(f"calendar {calendar_id} does not belong to {person_id}")
            others = CAL.c.person_id == person_id
            if calendar_id is not None:
                others = and_(others, CAL.c.id != calendar_id)
            conn.execute(update(CAL).where(others, CAL.c.push == true()).values(push=False))
            if calendar_id is not None:
                conn.execute(update(CAL).where(CAL.c.id == calendar_id).values(push=True))

    def save_sync_state(
        self, calendar_id: str, *, sync_token: str | None, etags: Mapping[str, Any] | None = None
    ) -> None:
        """The provider's sync token / delta link (and, for CalDAV, the etag of each event href)."""
        values: dict[str, Any] = {"sync_token": sync_token}
        if etags is not None:
            values["etags"] = dict(etags)
        with write_tx(self._engine) as conn:
            if conn.execute(update(CAL).where(CAL.c.id == calendar_id).values(**values)).rowcount != 1:
                raise NotFound(f"no calendar {calendar_id}")

    def remove_calendar(self, calendar_id: str) -> None:
        with write_tx(self._engine) as conn:
            conn.execute(delete(CAL).where(CAL.c.id == calendar_id))

    def all_accounts(self) -> list[CalendarAccount]:
        """Every calendar account (the background sync walks them)."""
        with read_tx(self._engine) as conn:
            rows = conn.execute(select(ACC).order_by(ACC.c.created_at, ACC.c.id)).all()
        return [_account(r) for r in rows]

    # -- booking events (where each booking was written)

    def save_booking_event(
        self, booking_id: str, calendar_id: str, *, external_id: str, etag: str | None, now: datetime
    ) -> None:
        values = {
            "booking_id": booking_id,
            "calendar_id": calendar_id,
            "external_id": external_id,
            "etag": etag,
            "updated_at": now,
        }
        try:
            with write_tx(self._engine) as conn:
                _upsert(conn, BEV, values, ("booking_id", "calendar_id"))
        except IntegrityError:
            raise NotFound(f"no booking {booking_id} or calendar {calendar_id}") from None

    def booking_events(self, booking_id: str) -> list[BookingEvent]:
        with read_tx(self._engine) as conn:
            rows = conn.execute(select(BEV).where(BEV.c.booking_id == booking_id).order_by(BEV.c.calendar_id)).all()
        return [BookingEvent(r.booking_id, r.calendar_id, r.external_id, r.etag) for r in rows]

    def booking_events_in_calendar(self, calendar_id: str) -> list[BookingEvent]:
        with read_tx(self._engine) as conn:
            rows = conn.execute(select(BEV).where(BEV.c.calendar_id == calendar_id).order_by(BEV.c.booking_id)).all()
        return [BookingEvent(r.booking_id, r.calendar_id, r.external_id, r.etag) for r in rows]

    def delete_booking_event(self, booking_id: str, calendar_id: str) -> bool:
        """Forget where a booking was written; True when there was such a record (atomic: one caller wins)."""
        with write_tx(self._engine) as conn:
            result = conn.execute(
                delete(BEV).where(BEV.c.booking_id == booking_id, BEV.c.calendar_id == calendar_id),
                execution_options={"preserve_rowcount": True},
            )
            return bool(result.rowcount)


# ---------------------------------------------------------------------------------------------- credentials

NO_KEYS = (
    "no SECRET_KEYS configured: refusing to store or read calendar credentials; "
    "set SECRET_KEYS to one or more comma-separated keys"
)


class SqlCredentialStore:
    """Credentials of calendar accounts (a dict per account), stored only as Fernet ciphertext."""

    __slots__ = ("_box", "_engine")

    def __init__(self, engine: Engine, box: SecretBox | None) -> None:
        self._engine = engine
        self._box = box

    def __repr__(self) -> str:
        return f"SqlCredentialStore({'encrypting' if self._box else 'no keys'})"

    def _require_box(self) -> SecretBox:
        if self._box is None:
            raise SecretError(NO_KEYS)
        return self._box

    def put(self, account_id: str, data: Mapping[str, Any], *, now: datetime | None = None) -> None:
        token = self._require_box().encrypt_json(data)
        values = {"account_id": account_id, "ciphertext": token, "updated_at": now or datetime.now(UTC)}
        try:
            with write_tx(self._engine) as conn:
                _upsert(conn, CRED, values, ("account_id",))
        except IntegrityError:
            raise NotFound(f"no calendar account {account_id}") from None

    def get(self, account_id: str) -> dict[str, Any] | None:
        box = self._require_box()
        with read_tx(self._engine) as conn:
            token = conn.execute(select(CRED.c.ciphertext).where(CRED.c.account_id == account_id)).scalar()
        return box.decrypt_json(token) if token is not None else None

    def delete(self, account_id: str) -> None:
        with write_tx(self._engine) as conn:
            conn.execute(delete(CRED).where(CRED.c.account_id == account_id))

    def rotate_all(self) -> int:
        """Re-encrypt every credential under the first key, all or nothing; the number re-encrypted."""
        box = self._require_box()
        with write_tx(self._engine) as conn:
            stmt = select(CRED.c.account_id, CRED.c.ciphertext).order_by(CRED.c.account_id)
            if conn.dialect.name == "postgresql":
                stmt = stmt.with_for_update()
            rows = conn.execute(stmt).all()
            for row in rows:
                conn.execute(
                    update(CRED)
                    .where(CRED.c.account_id == row.account_id)
                    .values(ciphertext=box.rotate(row.ciphertext))
                )
            return len(rows)
