"""Calendar sync: where each booking was written (booking_events).

Revision ID: 0003
Revises: 0002
Create Date: 2026-01-03

One row per booking and push calendar: the provider's event id and last known etag, so a reschedule updates
the event (If-Match), a cancellation deletes it, and a sync that no longer finds it cancels the booking.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "booking_events",
        sa.Column("booking_id", sa.String(64), sa.ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("calendar_id", sa.String(64), sa.ForeignKey("calendars.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("etag", sa.String(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_booking_events_calendar_id", "booking_events", ["calendar_id"])


def downgrade() -> None:
    op.drop_index("ix_booking_events_calendar_id", table_name="booking_events")
    op.drop_table("booking_events")
