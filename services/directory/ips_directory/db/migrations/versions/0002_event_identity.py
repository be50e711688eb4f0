"""an event's identity is its source and id: the inbox

The inbox records an applied event by (`source`, `id`) and a message answered instead
of applied by its stream position (source empty). This service
consumes nothing yet: its inbox has no rows to give a source.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 08:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import ips_shared.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SOURCE = sqlmodel.sql.sqltypes.AutoString(length=256)


def inbox(*key: str) -> sa.Table:
    return sa.Table(
        "inbox",
        sa.MetaData(),
        sa.Column("consumer", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("source", SOURCE, nullable="source" not in key),
        sa.Column("applied_at", ips_shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(*key),
    )


def rekey(table: sa.Table) -> None:
    """Give the table the key `table` declares: in place on PostgreSQL; SQLite cannot alter
    a key, so the table is copied into that shape."""
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(table.name, recreate="always", copy_from=table):
            pass
        return
    op.drop_constraint(f"{table.name}_pkey", table.name, type_="primary")
    op.create_primary_key(f"{table.name}_pkey", table.name, [c.name for c in table.primary_key])


def upgrade() -> None:
    op.add_column("inbox", sa.Column("source", SOURCE, nullable=True))
    rekey(inbox("consumer", "event_id", "source"))  # a row left without a source fails here


def downgrade() -> None:
    rekey(inbox("consumer", "event_id"))
    with op.batch_alter_table("inbox") as batch_op:
        batch_op.drop_column("source")
