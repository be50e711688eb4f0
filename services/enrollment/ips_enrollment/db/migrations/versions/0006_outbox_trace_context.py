"""outbox: the trace context of each event (issue 14)

A nullable column holding the W3C trace context an event belongs to, which the relay
publishes as the NATS headers `traceparent` and `tracestate`. The step is
`ips_shared.migration_steps`'s, the same in every service.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 16:00:00.000000
"""

from collections.abc import Sequence

from ips_shared.migration_steps import add_outbox_trace_context_v1, drop_outbox_trace_context_v1

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_outbox_trace_context_v1()


def downgrade() -> None:
    drop_outbox_trace_context_v1()
