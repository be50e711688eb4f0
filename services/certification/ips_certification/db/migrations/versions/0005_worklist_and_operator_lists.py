"""worklist and operator lists: the dates a standing keeps for the worklist, what a
refused report said (person, category, hours, date), indexes for the lists and reports

Standings evaluated before this have no worklist dates yet: each is set due for a check
on its last evaluation day, so the scheduler's next pass fills them in (stepping again
over a day already covered changes nothing and announces nothing).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 15:34:25.964534
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("hours_rejection", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.add_column(sa.Column("hours", sa.Numeric(precision=6, scale=2), nullable=True))
        batch_op.add_column(sa.Column("activity_date", sa.Date(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_hours_rejection_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_hours_rejection_received_at"), ["received_at"], unique=False
        )

    with op.batch_alter_table("standing", schema=None) as batch_op:
        batch_op.add_column(sa.Column("period_ends_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("lead_from", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("review_due_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("review_notice_from", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("act_by", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("unmet", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index(batch_op.f("ix_standing_status"), ["status"], unique=False)

    with op.batch_alter_table("status_change", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_status_change_effective_on"), ["effective_on"], unique=False
        )

    standing = sa.table(
        "standing", sa.column("evaluated_on", sa.Date()), sa.column("next_check_on", sa.Date())
    )
    op.execute(
        standing.update()
        .where(standing.c.evaluated_on.is_not(None))
        .values(next_check_on=standing.c.evaluated_on)
    )


def downgrade() -> None:
    with op.batch_alter_table("status_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_change_effective_on"))

    with op.batch_alter_table("standing", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_standing_status"))
        batch_op.drop_column("unmet")
        batch_op.drop_column("act_by")
        batch_op.drop_column("review_notice_from")
        batch_op.drop_column("review_due_on")
        batch_op.drop_column("lead_from")
        batch_op.drop_column("period_ends_on")

    with op.batch_alter_table("hours_rejection", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hours_rejection_received_at"))
        batch_op.drop_index(batch_op.f("ix_hours_rejection_person_id"))
        batch_op.drop_column("activity_date")
        batch_op.drop_column("hours")
        batch_op.drop_column("category")
        batch_op.drop_column("person_id")
