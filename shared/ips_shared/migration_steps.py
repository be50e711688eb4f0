"""Migration steps more than one service takes, defined once, for the services'
migrations to call instead of each holding a copy.

Frozen: a migration that calls a step must do the same thing forever, so a later change
is a new step (`..._v2`) that later migrations call, and the tables here are written out,
not derived from the models.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from .db import UTCDateTime

# -- the inbox keyed by an event's source and id (issue 9) ----------------------------------

INBOX_SOURCE = sqlmodel.sql.sqltypes.AutoString(length=256)


def inbox_v1(*key: str) -> sa.Table:
    """The inbox as it is shaped around `key`."""
    return sa.Table(
        "inbox",
        sa.MetaData(),
        sa.Column("consumer", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("source", INBOX_SOURCE, nullable="source" not in key),
        sa.Column("applied_at", UTCDateTime(timezone=True), nullable=False),
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


def key_inbox_by_source_v1(*give_sources: str) -> None:
    """Key the inbox by source too; `give_sources` are the statements that give existing
    rows their source (none where the service consumed nothing yet)."""
    op.add_column("inbox", sa.Column("source", INBOX_SOURCE, nullable=True))
    for statement in give_sources:
        op.execute(statement)
    rekey(inbox_v1("consumer", "event_id", "source"))  # a row left without a source fails here


def unkey_inbox_by_source_v1() -> None:
    rekey(inbox_v1("consumer", "event_id"))
    with op.batch_alter_table("inbox") as batch_op:
        batch_op.drop_column("source")


# -- the audit trail (issue 10) ---------------------------------------------------------------
# Append-only: the code only inserts, and triggers refuse UPDATE and DELETE (and TRUNCATE on
# PostgreSQL), so that changing the trail takes a deliberate act of the database's owner
# (dropping the trigger), not a bug or a stolen application login alone.

AUDIT_TABLE = "audit_entry"

POSTGRESQL_APPEND_ONLY = (
    """
    CREATE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_entry is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END $$
    """,
    """
    CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()
    """,
    """
    CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()
    """,
)
# SQLite drops a table's triggers when a batch migration copies the table: a later
# migration that alters audit_entry there must create these again.
SQLITE_APPEND_ONLY = tuple(
    f"""
    CREATE TRIGGER audit_entry_no_{operation.lower()} BEFORE {operation} ON audit_entry
    BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only: {operation} refused'); END
    """
    for operation in ("UPDATE", "DELETE")
)


def create_audit_trail_v1() -> None:
    op.create_table(
        AUDIT_TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("record", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("correlation_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_entry_actor", AUDIT_TABLE, ["actor"])
    op.create_index("ix_audit_entry_at", AUDIT_TABLE, ["at"])
    op.create_index("ix_audit_entry_person_id", AUDIT_TABLE, ["person_id"])
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL_APPEND_ONLY if postgresql else SQLITE_APPEND_ONLY:
        op.execute(statement)


def drop_audit_trail_v1() -> None:
    op.drop_table(AUDIT_TABLE)  # its indexes and triggers go with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_entry_append_only()")


# -- the trace context of an outbox row (issue 14) ------------------------------------------


def add_outbox_trace_context_v1() -> None:
    """The outbox keeps the W3C trace context each event belongs to (nullable: rows written
    before, and events emitted outside any trace, have none)."""
    op.add_column(
        "outbox",
        sa.Column("trace_context", sqlmodel.sql.sqltypes.AutoString(length=600), nullable=True),
    )


def drop_outbox_trace_context_v1() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("trace_context")
