"""Initial schema: people, identities, coach settings, bookings, calendars, credentials, polls, state.

Revision ID: 0001
Revises:
Create Date: 2026-01-01

No double booking: on PostgreSQL the exclusion constraint ``bookings_no_overlap`` (btree_gist) rejects two
active bookings of one coach whose half-open ranges ``[start_at, end_at)`` overlap; back-to-back is allowed.
On SQLite the repository checks and inserts inside one ``BEGIN IMMEDIATE`` transaction; the partial unique
index ``uq_bookings_active_coach_start`` is a second line of defence on both.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = sa.text("status IN ('held', 'confirmed')")


def _ts(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")

    op.create_table(
        "people",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("display_name", sa.String(), nullable=False),
        sa.Column("timezone", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("locale", sa.String(), nullable=False),
        sa.Column("is_coach", sa.Boolean(), nullable=False),
        sa.Column("handle", sa.String(), nullable=True),
        _ts("created_at"),
        sa.UniqueConstraint("handle", name="uq_people_handle"),
    )
    op.create_table(
        "identities",
        sa.Column("surface", sa.String(), primary_key=True),
        sa.Column("tenant", sa.String(), primary_key=True),
        sa.Column("external_id", sa.String(), primary_key=True),
        sa.Column(
            "person_id", sa.String(64), sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False
        ),
    )
    op.create_index("ix_identities_person_id", "identities", ["person_id"])
    op.create_table(
        "coach_settings",
        sa.Column(
            "person_id", sa.String(64), sa.ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("timezone", sa.String(), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("overrides", sa.JSON(), nullable=False),
        sa.Column("buffer_before_s", sa.Integer(), nullable=False),
        sa.Column("buffer_after_s", sa.Integer(), nullable=False),
        sa.Column("min_notice_s", sa.Integer(), nullable=False),
        sa.Column("horizon_s", sa.Integer(), nullable=False),
        sa.Column("session_lengths", sa.JSON(), nullable=False),
        sa.Column("max_per_day", sa.Integer(), nullable=True),
        sa.Column("max_per_week", sa.Integer(), nullable=True),
        sa.Column("all_day_blocks", sa.Boolean(), nullable=False),
        sa.Column("tentative_blocks", sa.Boolean(), nullable=False),
        _ts("updated_at"),
    )

    op.create_table(
        "bookings",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("coach_id", sa.String(64), nullable=False),
        _ts("start_at"),
        _ts("end_at"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        _ts("expires_at", nullable=True),
        sa.Column("rescheduled_from", sa.String(64), nullable=True),
        sa.Column("buffer_before_s", sa.Integer(), nullable=False),
        sa.Column("buffer_after_s", sa.Integer(), nullable=False),
        sa.CheckConstraint("end_at > start_at", name="ck_bookings_positive"),
        sa.CheckConstraint(
            "status IN ('held', 'confirmed', 'cancelled', 'expired', 'rescheduled')", name="ck_bookings_status"
        ),
        sa.UniqueConstraint("idempotency_key", name="uq_bookings_idempotency_key"),
    )
    op.create_index("ix_bookings_coach_time", "bookings", ["coach_id", "start_at", "end_at"])
    op.create_index(
        "uq_bookings_active_coach_start",
        "bookings",
        ["coach_id", "start_at"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    if dialect == "postgresql":
        op.execute(
            "ALTER TABLE bookings ADD CONSTRAINT bookings_no_overlap EXCLUDE USING gist "
            "(coach_id WITH =, tstzrange(start_at, end_at, '[)') WITH &&) "
            "WHERE (status IN ('held', 'confirmed'))"
        )
    op.create_table(
        "booking_participants",
        sa.Column(
            "booking_id", sa.String(64), sa.ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.String(64), nullable=False),
    )
    op.create_index("ix_booking_participants_person_id", "booking_participants", ["person_id"])

    op.create_table(
        "calendar_accounts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "person_id", sa.String(64), sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("display_name", sa.String(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _ts("last_synced_at", nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        _ts("created_at"),
        sa.CheckConstraint(
            "provider IN ('google', 'microsoft', 'caldav', 'icloud', 'ics', 'local')",
            name="ck_calendar_accounts_provider",
        ),
        sa.CheckConstraint("status IN ('ok', 'needs_reconnect')", name="ck_calendar_accounts_status"),
    )
    op.create_index("ix_calendar_accounts_person_id", "calendar_accounts", ["person_id"])
    op.create_table(
        "calendars",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "account_id",
            sa.String(64),
            sa.ForeignKey("calendar_accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("pull", sa.Boolean(), nullable=False),
        sa.Column("push", sa.Boolean(), nullable=False),
        sa.Column("sync_token", sa.String(), nullable=True),
        sa.Column("etags", sa.JSON(), nullable=False),
        sa.UniqueConstraint("account_id", "external_id", name="uq_calendars_account_external"),
    )
    op.create_index("ix_calendars_account_id", "calendars", ["account_id"])
    op.create_index("ix_calendars_person_id", "calendars", ["person_id"])
    op.create_index(
        "uq_calendars_one_push_per_person",
        "calendars",
        ["person_id"],
        unique=True,
        sqlite_where=sa.text("push"),
        postgresql_where=sa.text("push"),
    )
    op.create_table(
        "credentials",
        sa.Column(
            "account_id",
            sa.String(64),
            sa.ForeignKey("calendar_accounts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("ciphertext", sa.String(), nullable=False),
        _ts("updated_at"),
    )

    op.create_table(
        "polls",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("organizer_id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("duration_s", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("winner_option_id", sa.String(), nullable=True),
        _ts("created_at", nullable=True),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_polls_status"),
    )
    op.create_index("ix_polls_organizer_id", "polls", ["organizer_id"])
    op.create_table(
        "poll_options",
        sa.Column("poll_id", sa.String(64), sa.ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
        _ts("start_at"),
        _ts("end_at"),
    )
    op.create_table(
        "poll_invitees",
        sa.Column("poll_id", sa.String(64), sa.ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.String(64), nullable=False),
    )
    op.create_index("ix_poll_invitees_person_id", "poll_invitees", ["person_id"])
    op.create_table(
        "poll_votes",
        sa.Column("poll_id", sa.String(64), primary_key=True),
        sa.Column("option_id", sa.String(64), primary_key=True),
        sa.Column("voter_id", sa.String(64), primary_key=True),
        sa.Column("choice", sa.String(16), nullable=False),
        _ts("cast_at"),
        sa.ForeignKeyConstraint(
            ["poll_id", "option_id"], ["poll_options.poll_id", "poll_options.id"], ondelete="CASCADE"
        ),
        sa.CheckConstraint("choice IN ('yes', 'if_need_be', 'no')", name="ck_poll_votes_choice"),
    )

    op.create_table(
        "conversation_state",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("state", sa.JSON(), nullable=False),
        _ts("expires_at"),
        _ts("updated_at"),
    )
    op.create_index("ix_conversation_state_expires_at", "conversation_state", ["expires_at"])
    op.create_table(
        "processed_events",
        sa.Column("event_id", sa.String(300), primary_key=True),
        _ts("processed_at"),
    )
    op.create_index("ix_processed_events_processed_at", "processed_events", ["processed_at"])


def downgrade() -> None:
    for name in (
        "processed_events",
        "conversation_state",
        "poll_votes",
        "poll_invitees",
        "poll_options",
        "polls",
        "credentials",
        "calendars",
        "calendar_accounts",
        "booking_participants",
        "bookings",
        "coach_settings",
        "identities",
        "people",
    ):
        op.drop_table(name)
