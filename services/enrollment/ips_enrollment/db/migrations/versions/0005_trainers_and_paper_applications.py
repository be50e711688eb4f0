"""trainers of cohorts and sessions, paper applications

`cohort_trainer` and `ps101_session_trainer`: the trainers (their tokens' names) an
operator assigned to a cohort or a session. `application.keyed_by` and `keyed_at`: who
keyed in a paper application, and when (empty for every application already there: the
people themselves sent them).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 15:34:14.223373
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
        "cohort_trainer",
        sa.Column("cohort_id", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("trainer", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["cohort_id"],
            ["cohort.id"],
        ),
        sa.PrimaryKeyConstraint("cohort_id", "trainer"),
    )
    with op.batch_alter_table("cohort_trainer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cohort_trainer_trainer"), ["trainer"], unique=False)

    op.create_table(
        "ps101_session_trainer",
        sa.Column("session_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("trainer", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["ps101_session.id"],
        ),
        sa.PrimaryKeyConstraint("session_id", "trainer"),
    )
    with op.batch_alter_table("ps101_session_trainer", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ps101_session_trainer_trainer"), ["trainer"], unique=False
        )

    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("keyed_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True)
        )
        batch_op.add_column(
            sa.Column("keyed_at", ips_shared.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.drop_column("keyed_at")
        batch_op.drop_column("keyed_by")

    with op.batch_alter_table("ps101_session_trainer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ps101_session_trainer_trainer"))

    op.drop_table("ps101_session_trainer")
    with op.batch_alter_table("cohort_trainer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cohort_trainer_trainer"))

    op.drop_table("cohort_trainer")
