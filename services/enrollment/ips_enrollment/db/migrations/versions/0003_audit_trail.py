"""audit trail: who read or changed a person's record, operators' actions, refusals

The table and its append-only triggers are `ips_shared.migration_steps`'s first version,
the same in every service that keeps the trail.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:45:13.306783
"""

from collections.abc import Sequence

from ips_shared.migration_steps import create_audit_trail_v1, drop_audit_trail_v1

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_audit_trail_v1()


def downgrade() -> None:
    drop_audit_trail_v1()
