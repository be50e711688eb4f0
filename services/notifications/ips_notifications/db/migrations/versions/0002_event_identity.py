"""an event's identity is its source and id: the inbox

The inbox records an applied event by (`source`, `id`) and a message answered instead
of applied by its stream position (source empty). Rows from
before come from enrollment, the only source on the subject consumed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 08:40:00.000000
"""

from collections.abc import Sequence

from ips_shared.migration_steps import key_inbox_by_source_v1, unkey_inbox_by_source_v1

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    key_inbox_by_source_v1(
        "UPDATE inbox SET source = 'service/enrollment' WHERE consumer = 'application-submitted'"
    )


def downgrade() -> None:
    unkey_inbox_by_source_v1()
