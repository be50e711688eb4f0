"""The audit trail's table as migrations create it: one definition for every service that
keeps the trail, instead of a copy in each service's migration.

Frozen: a migration that calls `create_audit_trail_v1` must create the same table forever,
so a later change to the trail is a new function (`..._v2`) that later migrations call.

The table is append-only: the code only inserts, and triggers refuse UPDATE and DELETE
(and TRUNCATE on PostgreSQL), so that changing the trail takes a deliberate act of the
database's owner (dropping the trigger), not a bug or a stolen application login alone.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from .db import UTCDateTime

TABLE = "audit_entry"

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
        TABLE,
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
    op.create_index("ix_audit_entry_actor", TABLE, ["actor"])
    op.create_index("ix_audit_entry_at", TABLE, ["at"])
    op.create_index("ix_audit_entry_person_id", TABLE, ["person_id"])
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL_APPEND_ONLY if postgresql else SQLITE_APPEND_ONLY:
        op.execute(statement)


def drop_audit_trail_v1() -> None:
    op.drop_table(TABLE)  # its indexes and triggers go with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_entry_append_only()")
