"""graduates and application-deadline reminders; cohort members filled in

`graduate`: who completed Peer Support 101 and whether they have applied since (the
application-deadline reminders go to those who have not); `deadline_reminder_run`: the
deadline reminders made due already.

Both new tables, and `cohort_member` (made by 0005 and filled only from events consumed
after it), are filled here from what notifications recorded before: every Peer Support 101
completion, application received, accepted and withdrawn made a notification, whose
identity (person, reason, occasion: the application) and details (the cohort) are kept.
A completion's date is taken from when its event was recorded (its `due_at`).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 15:16:37.533098
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import ips_shared.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deadline_reminder_run",
        sa.Column("occasion", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("done_at", ips_shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("occasion"),
    )
    graduate = op.create_table(
        "graduate",
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("correlation_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.PrimaryKeyConstraint("person_id"),
    )
    with op.batch_alter_table("graduate", schema=None) as batch_op:
        batch_op.create_index(
            "ix_graduate_applied_completed", ["applied", "completed_on"], unique=False
        )
    _fill_from_notifications(graduate)


def _fill_from_notifications(graduate: sa.Table) -> None:
    connection = op.get_bind()
    notification = sa.table(
        "due_notification",
        sa.column("person_id"),
        sa.column("reason"),
        sa.column("occasion"),
        sa.column("caused_by"),
        sa.column("correlation_id"),
        sa.column("due_at", ips_shared.db.UTCDateTime(timezone=True)),
        sa.column("details"),
    )
    member = sa.table(
        "cohort_member",
        sa.column("application_id"),
        sa.column("person_id"),
        sa.column("cohort_id"),
    )
    reasons = (
        "ps101_completed",
        "application_received",
        "application_accepted",
        "application_withdrawn",
    )
    found = connection.execute(
        sa.select(notification).where(notification.c.reason.in_(reasons))
    ).all()
    applied = {row.person_id for row in found if row.reason == "application_received"}
    graduates: dict[str, dict[str, object]] = {}
    for row in sorted(found, key=lambda row: row.due_at):
        if row.reason == "ps101_completed" and row.person_id not in graduates:
            graduates[row.person_id] = {
                "person_id": row.person_id,
                "completed_on": row.due_at.date(),
                "applied": row.person_id in applied,
                "event_id": row.caused_by,
                "correlation_id": row.correlation_id,
            }
    for person_id in applied - graduates.keys():
        graduates[person_id] = {
            "person_id": person_id,
            "completed_on": None,
            "applied": True,
            "event_id": None,
            "correlation_id": None,
        }
    if graduates:
        op.bulk_insert(graduate, list(graduates.values()))

    withdrawn = {row.occasion for row in found if row.reason == "application_withdrawn"}
    known = set(connection.execute(sa.select(member.c.application_id)).scalars())
    members = [
        {
            "application_id": row.occasion,
            "person_id": row.person_id,
            "cohort_id": json.loads(row.details)["cohort_id"],
        }
        for row in found
        if row.reason == "application_accepted"
        and row.occasion not in withdrawn | known
        and "cohort_id" in json.loads(row.details)
    ]
    if members:
        op.bulk_insert(member, members)


def downgrade() -> None:
    with op.batch_alter_table("graduate", schema=None) as batch_op:
        batch_op.drop_index("ix_graduate_applied_completed")
    op.drop_table("graduate")
    op.drop_table("deadline_reminder_run")
