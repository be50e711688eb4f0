"""an event's identity is its source and id: the inbox, the hours ledger and its voids

The inbox records an applied event by (`source`, `id`) and a message answered instead
of applied by its stream position (source empty). Rows from before: a report in the
ledger takes its entry's source; a `refused:<sequence>` row becomes that position; a
report that was refused (no entry) is forgotten, so that sending it again is evaluated
afresh; a training completion comes from enrollment, the only source on its subject.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 08:14:03.098513
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import ips_shared.db
from ips_shared.migration_steps import INBOX_SOURCE, inbox_v1, rekey

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = SOURCE = sqlmodel.sql.sqltypes.AutoString(length=128)
AT = ips_shared.db.UTCDateTime(timezone=True)
REFUSED_PREFIX = "refused:"  # how positions were written before this revision


def hours_entry(*key: str) -> sa.Table:
    return sa.Table(
        "hours_entry",
        sa.MetaData(),
        sa.Column("event_id", ID, nullable=False),
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("source", SOURCE, nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "CONTINUING_EDUCATION",
                "SKILL_BUILDING",
                "CO_REFLECTION",
                "VOLUNTEER_SERVICE",
                name="hourscategory",
            ),
            nullable=False,
        ),
        sa.Column("hours", sa.Numeric(precision=6, scale=2), nullable=False),
        sa.Column("activity_date", sa.Date(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("recorded_at", AT, nullable=False),
        sa.Column("status_seen", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.PrimaryKeyConstraint(*key),
        sa.Index("ix_hours_entry_person_day", "person_id", "activity_date", "source"),
    )


def hours_void(*key: str) -> sa.Table:
    """Without its reference to the ledger: that is dropped while the ledger is rekeyed."""
    return sa.Table(
        "hours_void",
        sa.MetaData(),
        sa.Column("entry_event_id", ID, nullable=False),
        sa.Column("entry_source", SOURCE, nullable="entry_source" not in key),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("voided_at", AT, nullable=False),
        sa.PrimaryKeyConstraint(*key),
    )


def drop_ledger_reference(name: str) -> None:
    with op.batch_alter_table("hours_void") as batch_op:
        batch_op.drop_constraint(name, type_="foreignkey")


def upgrade() -> None:
    op.add_column("inbox", sa.Column("source", INBOX_SOURCE, nullable=True))
    op.execute(
        "UPDATE inbox SET source = (SELECT source FROM hours_entry"
        " WHERE hours_entry.event_id = inbox.event_id) WHERE consumer = 'hours-logged'"
    )
    op.execute(
        f"UPDATE inbox SET source = '' WHERE source IS NULL AND event_id LIKE '{REFUSED_PREFIX}%'"
    )
    op.execute("DELETE FROM inbox WHERE consumer = 'hours-logged' AND source IS NULL")
    op.execute(
        "UPDATE inbox SET source = 'service/enrollment' WHERE consumer = 'training-completed'"
    )
    rekey(inbox_v1("consumer", "event_id", "source"))  # a row left without a source fails here
    op.execute(
        f"UPDATE inbox SET event_id = substr(event_id, {len(REFUSED_PREFIX) + 1}) WHERE source = ''"
    )

    op.add_column("hours_void", sa.Column("entry_source", SOURCE, nullable=True))
    op.execute(
        "UPDATE hours_void SET entry_source = (SELECT source FROM hours_entry"
        " WHERE hours_entry.event_id = hours_void.entry_event_id)"
    )
    if op.get_bind().dialect.name == "postgresql":  # SQLite's copy below leaves it out
        drop_ledger_reference("hours_void_entry_event_id_fkey")
    rekey(hours_void("entry_event_id", "entry_source"))
    rekey(hours_entry("event_id", "source"))
    with op.batch_alter_table("hours_void") as batch_op:
        batch_op.create_foreign_key(
            "hours_void_entry_fkey",
            "hours_entry",
            ["entry_event_id", "entry_source"],
            ["event_id", "source"],
        )

    with op.batch_alter_table("operator_action") as batch_op:
        batch_op.alter_column(
            "target",
            existing_type=sa.VARCHAR(length=128),
            type_=sqlmodel.sql.sqltypes.AutoString(length=256),
            existing_nullable=False,
        )


def downgrade() -> None:
    """Fails where two sources share an event id: the old keys cannot hold both."""
    with op.batch_alter_table("operator_action") as batch_op:
        batch_op.alter_column(
            "target",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=256),
            type_=sa.VARCHAR(length=128),
            existing_nullable=False,
        )

    drop_ledger_reference("hours_void_entry_fkey")
    rekey(hours_entry("event_id"))
    rekey(hours_void("entry_event_id"))
    with op.batch_alter_table("hours_void") as batch_op:
        batch_op.drop_column("entry_source")
        batch_op.create_foreign_key(
            "hours_void_entry_event_id_fkey", "hours_entry", ["entry_event_id"], ["event_id"]
        )

    op.execute(f"UPDATE inbox SET event_id = '{REFUSED_PREFIX}' || event_id WHERE source = ''")
    rekey(inbox_v1("consumer", "event_id"))
    with op.batch_alter_table("inbox") as batch_op:
        batch_op.drop_column("source")
