"""preferences and training reminders

`preference`: a person's language, quiet hours for texts, and reminders. No row: the
defaults (the contact's language, the program's quiet hours, reminders on), so nothing
recorded before this revision changes.

`cohort_member` and `training_day`: who is in which cohort and each cohort's schedule,
indexed by the date its reminders fall due. Filled from the events consumed from this
revision on (the `cohort-scheduled` consumer starts at the stream's beginning; cohort
members accepted before it are filled in by 0006, from the notifications they made).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 12:24:33.621134
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import ips_shared.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "preference",
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("quiet_start", sa.Time(), nullable=True),
        sa.Column("quiet_end", sa.Time(), nullable=True),
        sa.Column("reminders", sa.Boolean(), nullable=False),
        sa.Column("changed_at", ips_shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.PrimaryKeyConstraint("person_id"),
    )
    op.create_table(
        "cohort_member",
        sa.Column("application_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("cohort_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("application_id"),
    )
    op.create_index("ix_cohort_member_cohort_id", "cohort_member", ["cohort_id"])
    op.create_table(
        "training_day",
        sa.Column("cohort_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("starts_at", ips_shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("place", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("remind_on", sa.Date(), nullable=False),
        sa.Column("scheduled_at", ips_shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("correlation_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.PrimaryKeyConstraint("cohort_id", "day"),
    )
    op.create_index("ix_training_day_remind_on", "training_day", ["remind_on"])


def downgrade() -> None:
    op.drop_table("training_day")  # its index goes with it
    op.drop_table("cohort_member")
    op.drop_table("preference")
