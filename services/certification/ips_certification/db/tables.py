"""Certification's tables: who is known here, the hours ledger and its refusals, each
person's standing, its append-only history, reviews, operator decisions and certificates."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKeyConstraint, Index, Numeric
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from ips_shared.audit import AuditColumns
from ips_shared.contracts.events import CertificationStatus, HoursCategory, ReviewOutcome
from ips_shared.db import UTCDateTime
from ips_shared.messaging.records import InboxColumns, OutboxColumns


class Table(SQLModel, registry=registry()):
    """Base of this service's tables: its own metadata, apart from other services'."""


class Outbox(OutboxColumns, Table, table=True):
    __tablename__ = "outbox"


class Inbox(InboxColumns, Table, table=True):
    __tablename__ = "inbox"


class AuditEntry(AuditColumns, Table, table=True):
    __tablename__ = "audit_entry"


class Participant(Table, table=True):
    """A person certification knows: from their training completion on."""

    __tablename__ = "participant"

    person_id: str = Field(primary_key=True, max_length=64)
    record_began_on: date
    cohort_id: str = Field(max_length=16)
    region: str | None = Field(
        default=None,
        max_length=100,
        description="Region or county, as their latest training completion said (if it did)",
    )


class HoursEntry(Table, table=True):
    """One accepted `HoursLogged`, keyed by its identity (event id and source, as CloudEvents
    defines it): it never counts twice, and two sources' ids never clash."""

    __tablename__ = "hours_entry"
    __table_args__ = (Index("ix_hours_entry_person_day", "person_id", "activity_date", "source"),)

    event_id: str = Field(primary_key=True, max_length=128)  # first in the key: voids find by it
    person_id: str = Field(max_length=64)
    source: str = Field(primary_key=True, max_length=128)  # `kind/slug`: hours subjects say so
    category: HoursCategory
    hours: Decimal = Field(sa_type=Numeric(6, 2))
    activity_date: date
    note: str | None = Field(default=None, max_length=200)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    status_seen: bool = False  # a status evaluation has taken it into account


class HoursVoid(Table, table=True):
    """A correction: the entry stays in the ledger and stops counting from here on."""

    __tablename__ = "hours_void"
    __table_args__ = (
        ForeignKeyConstraint(
            ["entry_event_id", "entry_source"], ["hours_entry.event_id", "hours_entry.source"]
        ),
    )

    entry_event_id: str = Field(primary_key=True, max_length=128)
    entry_source: str = Field(primary_key=True, max_length=128)
    reason: str = Field(max_length=500)
    actor: str = Field(max_length=200)
    voided_at: datetime = Field(sa_type=UTCDateTime)


class OperatorAction(Table, table=True):
    """The audit trail of what operators did, who did it and why."""

    __tablename__ = "operator_action"

    id: int | None = Field(default=None, primary_key=True)
    action: str = Field(max_length=64)
    target: str = Field(max_length=256, index=True)  # a person, or an entry: "<source> <id>"
    actor: str = Field(max_length=200)
    reason: str = Field(max_length=500)
    at: datetime = Field(sa_type=UTCDateTime)


class HoursRejection(Table, table=True):
    """A refused report, kept for audit; it never reaches the ledger."""

    __tablename__ = "hours_rejection"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=128, index=True)
    source_token: str = Field(max_length=64)
    reason_code: str = Field(max_length=64)
    reason: str = Field(max_length=1000)
    received_at: datetime = Field(sa_type=UTCDateTime, index=True)
    # What the report said, when it could be read (none for refusals before 0005).
    person_id: str | None = Field(default=None, max_length=64, index=True)
    category: str | None = Field(default=None, max_length=32)
    hours: Decimal | None = Field(default=None, sa_type=Numeric(6, 2))
    activity_date: date | None = None


class StandingRow(Table, table=True):
    """A person's current status and what the scheduler needs: the incremental state.

    `next_check_on` is the next date on which time alone may change the status (or today,
    when new facts arrived): the scheduler reads only the rows that are due."""

    __tablename__ = "standing"

    person_id: str = Field(primary_key=True, foreign_key="participant.person_id", max_length=64)
    status: CertificationStatus | None = Field(default=None, index=True)
    evaluated_on: date | None = None
    certified_on: date | None = None
    review_noticed_for: date | None = None
    next_check_on: date | None = Field(default=None, index=True)
    hours_matter: bool = True  # new hours could change the status (see `mark_for_check`)
    # What the worklist reads, as of `evaluated_on` (`domain.worklist.Outlook`).
    period_ends_on: date | None = None
    lead_from: date | None = None
    review_due_on: date | None = None
    review_notice_from: date | None = None
    act_by: date | None = None
    unmet: bool = False


class Certificate(Table, table=True):
    """Issued at first certification (or imported) and kept for life."""

    __tablename__ = "certificate"

    id: int | None = Field(default=None, primary_key=True)
    number: str | None = Field(default=None, max_length=32, unique=True)
    person_id: str = Field(foreign_key="participant.person_id", max_length=64, unique=True)
    issued_on: date
    imported: bool = False
    # Years before this date count as met (vouched for by the import): the import date, or
    # for a person imported as lapsed, the start of the year they did not keep.
    imported_on: date | None = None


class StatusChange(Table, table=True):
    """The append-only history of a person's status, with causes."""

    __tablename__ = "status_change"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=128, unique=True)  # the CertificationStatusChanged sent
    person_id: str = Field(max_length=64, index=True)
    old_status: CertificationStatus | None = None
    new_status: CertificationStatus
    reason_code: str = Field(max_length=64)
    effective_on: date = Field(index=True)
    policy_version: str = Field(max_length=32)
    caused_by: list[str] = Field(default_factory=list, sa_type=JSON)
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class ReviewRow(Table, table=True):
    """A review of commitment to the core concepts, as an operator recorded it."""

    __tablename__ = "review"

    event_id: str = Field(primary_key=True, max_length=128)  # the ReviewCompleted sent
    person_id: str = Field(max_length=64, index=True)
    reviewed_on: date
    outcome: ReviewOutcome
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class DecisionRow(Table, table=True):
    """An operator's suspension, withdrawal or reinstatement, in force from `taken_on`."""

    __tablename__ = "decision"

    id: int | None = Field(default=None, primary_key=True)
    person_id: str = Field(max_length=64, index=True)
    decision: str = Field(max_length=16)
    taken_on: date
    recorded_at: datetime = Field(sa_type=UTCDateTime)


metadata = Table.metadata
