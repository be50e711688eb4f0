"""audit trail: operators' requests (the list of what was sent) and refusals

As in enrollment and certification: append-only, triggers refuse UPDATE and DELETE (and
TRUNCATE on PostgreSQL).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 12:08:00.000000
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


def upgrade() -> None:
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", ips_shared.db.UTCDateTime(timezone=True), nullable=False),
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
    op.create_index("ix_audit_entry_actor", "audit_entry", ["actor"])
    op.create_index("ix_audit_entry_at", "audit_entry", ["at"])
    op.create_index("ix_audit_entry_person_id", "audit_entry", ["person_id"])
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL_APPEND_ONLY if postgresql else SQLITE_APPEND_ONLY:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("audit_entry")  # its indexes and triggers go with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_entry_append_only()")
