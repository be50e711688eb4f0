"""audit trail: operators' requests (the list of what was sent) and refusals

The table and its append-only triggers are `ips_shared.migration_steps`'s first version,
the same in every service that keeps the trail.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 12:08:00.000000
"""

from collections.abc import Sequence

from ips_shared.migration_steps import create_audit_trail_v1, drop_audit_trail_v1

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_audit_trail_v1()


def downgrade() -> None:
    drop_audit_trail_v1()
