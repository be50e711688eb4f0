"""participant region: the region or county a person's training completion names

`TrainingCompleted` carries the person's region since it was added to the contract (an
optional field); people known before have none until a later completion names it, and
the operators' lists filtered by region leave them out.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 15:56:05.343212
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("region", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_column("region")
