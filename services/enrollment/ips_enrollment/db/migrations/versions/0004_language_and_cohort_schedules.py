"""a person's language, and cohorts' schedules (place and training days)

`person.language` is `en` for everyone already there (and for rows a previous version of
the service still writes during a rolling update: the column keeps its server default).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 11:24:25.725219
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import ips_shared.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LANGUAGE = sa.Enum("ENGLISH", "SPANISH", name="language")


def upgrade() -> None:
    op.create_table(
        "cohort_schedule",
        sa.Column("cohort_id", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("place", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("scheduled_at", ips_shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["cohort_id"], ["cohort.id"]),
        sa.PrimaryKeyConstraint("cohort_id"),
    )
    op.create_table(
        "cohort_training_day",
        sa.Column("cohort_id", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("starts_at", ips_shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", ips_shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["cohort_id"], ["cohort_schedule.cohort_id"]),
        sa.PrimaryKeyConstraint("cohort_id", "day"),
    )
    # PostgreSQL needs the enum's type before a column can use it (SQLite has none).
    LANGUAGE.create(op.get_bind(), checkfirst=True)
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("language", LANGUAGE, nullable=False, server_default="ENGLISH")
        )


def downgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_column("language")
    LANGUAGE.drop(op.get_bind(), checkfirst=True)
    op.drop_table("cohort_training_day")
    op.drop_table("cohort_schedule")
