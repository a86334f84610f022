"""The database tables (sqlmodel).  The migrations in ``storage/migrations/versions`` create exactly these.

Times are aware UTC (:class:`storage.db.UTCDateTime`); durations are whole seconds.  Nothing here holds a
secret in clear: ``credentials.ciphertext`` is a Fernet token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Table,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from storage.db import UTCDateTime

__all__ = [
    "ACTIVE_STATUSES",
    "BOOKING_STATUSES",
    "CALENDAR_PROVIDERS",
    "BookingEventRow",
    "BookingParticipantRow",
    "BookingRow",
    "CalendarAccountRow",
    "CalendarRow",
    "CoachSettingsRow",
    "ConversationStateRow",
    "CredentialRow",
    "IdentityRow",
    "PersonRow",
    "PollInviteeRow",
    "PollOptionRow",
    "PollRow",
    "ProcessedEventRow",
    "VoteRow",
    "metadata",
    "slack_bots",
    "slack_installations",
    "slack_oauth_states",
    "table",
]

metadata = SQLModel.metadata

BOOKING_STATUSES = ("held", "confirmed", "cancelled", "expired", "rescheduled")
ACTIVE_STATUSES = ("held", "confirmed")
CALENDAR_PROVIDERS = ("google", "microsoft", "caldav", "icloud", "ics", "local")
ACCOUNT_STATUSES = ("ok", "needs_reconnect")

_ACTIVE_SQL = "status IN ('held', 'confirmed')"


def _utc(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_type=UTCDateTime, nullable=nullable, index=index)


def _json() -> Any:
    return Field(sa_type=JSON, nullable=False)


def table(model: type[SQLModel]) -> Table:
    """The Core ``Table`` of a sqlmodel class."""
    result = model.__table__  # type: ignore[attr-defined]
    assert isinstance(result, Table)
    return result


class PersonRow(SQLModel, table=True):
    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("handle", name="uq_people_handle"),)

    id: str = Field(primary_key=True, max_length=64)
    display_name: str
    timezone: str = "UTC"
    email: str | None = None
    locale: str = "en"
    is_coach: bool = False
    handle: str | None = None
    created_at: datetime = _utc()


class IdentityRow(SQLModel, table=True):
    """A chat identity: Slack user + team, Teams user + tenant, web email (tenant '')."""

    __tablename__ = "identities"

    surface: str = Field(primary_key=True)
    tenant: str = Field(primary_key=True, default="")
    external_id: str = Field(primary_key=True)
    person_id: str = Field(sa_column=Column(ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True))


class CoachSettingsRow(SQLModel, table=True):
    __tablename__ = "coach_settings"

    person_id: str = Field(sa_column=Column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True))
    timezone: str
    hours: dict[str, Any] = _json()
    overrides: dict[str, Any] = _json()
    buffer_before_s: int = 0
    buffer_after_s: int = 0
    min_notice_s: int = 0
    horizon_s: int = 0
    session_lengths: list[int] = _json()
    max_per_day: int | None = None
    max_per_week: int | None = None
    all_day_blocks: bool = True
    tentative_blocks: bool = True
    updated_at: datetime = _utc()


class BookingRow(SQLModel, table=True):
    """A booking.  No double booking: PostgreSQL has an exclusion constraint (added by the migration, see
    ``0001_initial``); SQLite checks and inserts inside one ``BEGIN IMMEDIATE`` transaction and has the
    partial unique index on (coach_id, start_at) as a second line of defence."""

    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="ck_bookings_positive"),
        UniqueConstraint("idempotency_key", name="uq_bookings_idempotency_key"),
        CheckConstraint(
            "status IN ('held', 'confirmed', 'cancelled', 'expired', 'rescheduled')", name="ck_bookings_status"
        ),
        Index("ix_bookings_coach_time", "coach_id", "start_at", "end_at"),
        Index(
            "uq_bookings_active_coach_start",
            "coach_id",
            "start_at",
            unique=True,
            sqlite_where=text(_ACTIVE_SQL),
            postgresql_where=text(_ACTIVE_SQL),
        ),
    )

    id: str = Field(primary_key=True, max_length=64)
    coach_id: str = Field(max_length=64)
    start_at: datetime = _utc()
    end_at: datetime = _utc()
    status: str = Field(max_length=16)
    idempotency_key: str = Field(max_length=200)
    created_at: datetime = _utc()
    updated_at: datetime = _utc()
    expires_at: datetime | None = _utc(nullable=True)
    rescheduled_from: str | None = Field(default=None, max_length=64)
    buffer_before_s: int = 0
    buffer_after_s: int = 0


class BookingParticipantRow(SQLModel, table=True):
    __tablename__ = "booking_participants"

    booking_id: str = Field(sa_column=Column(ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True))
    position: int = Field(primary_key=True)
    person_id: str = Field(index=True, max_length=64)


class CalendarAccountRow(SQLModel, table=True):
    __tablename__ = "calendar_accounts"
    __table_args__ = (
        CheckConstraint(
            "provider IN ('google', 'microsoft', 'caldav', 'icloud', 'ics', 'local')",
            name="ck_calendar_accounts_provider",
        ),
        CheckConstraint("status IN ('ok', 'needs_reconnect')", name="ck_calendar_accounts_status"),
    )

    id: str = Field(primary_key=True, max_length=64)
    person_id: str = Field(sa_column=Column(ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True))
    provider: str = Field(max_length=16)
    display_name: str
    status: str = Field(default="ok", max_length=16)
    last_synced_at: datetime | None = _utc(nullable=True)
    last_error: str | None = None
    created_at: datetime = _utc()


class CalendarRow(SQLModel, table=True):
    """One calendar of an account.  ``person_id`` repeats the account's owner so that the partial unique
    index can enforce exactly one push calendar per person."""

    __tablename__ = "calendars"
    __table_args__ = (
        UniqueConstraint("account_id", "external_id", name="uq_calendars_account_external"),
        Index(
            "uq_calendars_one_push_per_person",
            "person_id",
            unique=True,
            sqlite_where=text("push"),
            postgresql_where=text("push"),
        ),
    )

    id: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(
        sa_column=Column(ForeignKey("calendar_accounts.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    person_id: str = Field(max_length=64, index=True)
    external_id: str
    name: str
    pull: bool = True
    push: bool = False
    sync_token: str | None = None
    etags: dict[str, Any] = _json()


class CredentialRow(SQLModel, table=True):
    """Encrypted credentials of a calendar account: a Fernet token of a JSON object, never plaintext."""

    __tablename__ = "credentials"

    account_id: str = Field(sa_column=Column(ForeignKey("calendar_accounts.id", ondelete="CASCADE"), primary_key=True))
    ciphertext: str
    updated_at: datetime = _utc()


class PollRow(SQLModel, table=True):
    __tablename__ = "polls"
    __table_args__ = (CheckConstraint("status IN ('open', 'closed')", name="ck_polls_status"),)

    id: str = Field(primary_key=True, max_length=64)
    organizer_id: str = Field(max_length=64, index=True)
    title: str
    duration_s: int
    status: str = Field(default="open", max_length=16)
    winner_option_id: str | None = None
    created_at: datetime | None = _utc(nullable=True)


class PollOptionRow(SQLModel, table=True):
    __tablename__ = "poll_options"

    poll_id: str = Field(sa_column=Column(ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True))
    id: str = Field(primary_key=True, max_length=64)
    position: int
    start_at: datetime = _utc()
    end_at: datetime = _utc()


class PollInviteeRow(SQLModel, table=True):
    __tablename__ = "poll_invitees"

    poll_id: str = Field(sa_column=Column(ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True))
    position: int = Field(primary_key=True)
    person_id: str = Field(max_length=64, index=True)


class VoteRow(SQLModel, table=True):
    __tablename__ = "poll_votes"
    __table_args__ = (
        ForeignKeyConstraint(["poll_id", "option_id"], ["poll_options.poll_id", "poll_options.id"], ondelete="CASCADE"),
        CheckConstraint("choice IN ('yes', 'if_need_be', 'no')", name="ck_poll_votes_choice"),
    )

    poll_id: str = Field(primary_key=True, max_length=64)
    option_id: str = Field(primary_key=True, max_length=64)
    voter_id: str = Field(primary_key=True, max_length=64)
    choice: str = Field(max_length=16)
    cast_at: datetime = _utc()


class ConversationStateRow(SQLModel, table=True):
    __tablename__ = "conversation_state"

    key: str = Field(primary_key=True, max_length=300)
    state: dict[str, Any] = _json()
    expires_at: datetime = _utc(index=True)
    updated_at: datetime = _utc()


class ProcessedEventRow(SQLModel, table=True):
    __tablename__ = "processed_events"

    event_id: str = Field(primary_key=True, max_length=300)
    processed_at: datetime = _utc(index=True)


# Slack OAuth (multi-workspace installs): exactly the tables of slack_sdk's SQLAlchemyInstallationStore and
# SQLAlchemyOAuthStateStore, so those classes run on our engine.  Their times are naive UTC, as slack_sdk writes them.
slack_installations = Table(
    "slack_installations",
    metadata,
    Column("id", sa.Integer, primary_key=True, autoincrement=True),
    Column("client_id", sa.String(32), nullable=False),
    Column("app_id", sa.String(32), nullable=False),
    Column("enterprise_id", sa.String(32)),
    Column("enterprise_name", sa.String(200)),
    Column("enterprise_url", sa.String(200)),
    Column("team_id", sa.String(32)),
    Column("team_name", sa.String(200)),
    Column("bot_token", sa.String(200)),
    Column("bot_id", sa.String(32)),
    Column("bot_user_id", sa.String(32)),
    Column("bot_scopes", sa.String(1000)),
    Column("bot_refresh_token", sa.String(200)),
    Column("bot_token_expires_at", sa.DateTime),
    Column("user_id", sa.String(32), nullable=False),
    Column("user_token", sa.String(200)),
    Column("user_scopes", sa.String(1000)),
    Column("user_refresh_token", sa.String(200)),
    Column("user_token_expires_at", sa.DateTime),
    Column("incoming_webhook_url", sa.String(200)),
    Column("incoming_webhook_channel", sa.String(200)),
    Column("incoming_webhook_channel_id", sa.String(200)),
    Column("incoming_webhook_configuration_url", sa.String(200)),
    Column("is_enterprise_install", sa.Boolean, nullable=False),
    Column("token_type", sa.String(32)),
    Column("installed_at", sa.DateTime, nullable=False),
    Index("slack_installations_idx", "client_id", "enterprise_id", "team_id", "user_id", "installed_at"),
)
slack_bots = Table(
    "slack_bots",
    metadata,
    Column("id", sa.Integer, primary_key=True, autoincrement=True),
    Column("client_id", sa.String(32), nullable=False),
    Column("app_id", sa.String(32), nullable=False),
    Column("enterprise_id", sa.String(32)),
    Column("enterprise_name", sa.String(200)),
    Column("team_id", sa.String(32)),
    Column("team_name", sa.String(200)),
    Column("bot_token", sa.String(200)),
    Column("bot_id", sa.String(32)),
    Column("bot_user_id", sa.String(32)),
    Column("bot_scopes", sa.String(1000)),
    Column("bot_refresh_token", sa.String(200)),
    Column("bot_token_expires_at", sa.DateTime),
    Column("is_enterprise_install", sa.Boolean, nullable=False),
    Column("installed_at", sa.DateTime, nullable=False),
    Index("slack_bots_idx", "client_id", "enterprise_id", "team_id", "installed_at"),
)
slack_oauth_states = Table(
    "slack_oauth_states",
    metadata,
    Column("id", sa.Integer, primary_key=True, autoincrement=True),
    Column("state", sa.String(200), nullable=False),
    Column("expire_at", sa.DateTime, nullable=False),
)


class BookingEventRow(SQLModel, table=True):
    """Where a booking was written: the event in a person's push calendar (its id and last known etag), so that
    a move updates it, a cancel deletes it, and a sync notices when the coach deleted it."""

    __tablename__ = "booking_events"

    booking_id: str = Field(sa_column=Column(ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True))
    calendar_id: str = Field(
        sa_column=Column(ForeignKey("calendars.id", ondelete="CASCADE"), primary_key=True, index=True)
    )
    external_id: str
    etag: str | None = None
    updated_at: datetime = _utc()
