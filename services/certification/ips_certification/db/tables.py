"""Certification's tables: who is known here, the hours ledger and its refusals."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Index, Numeric
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from ips_shared.contracts.events import HoursCategory
from ips_shared.db import UTCDateTime
from ips_shared.messaging.records import InboxColumns, OutboxColumns


class Table(SQLModel, registry=registry()):
    """Base of this service's tables: its own metadata, apart from other services'."""


class Outbox(OutboxColumns, Table, table=True):
    __tablename__ = "outbox"


class Inbox(InboxColumns, Table, table=True):
    __tablename__ = "inbox"


class Participant(Table, table=True):
    """A person certification knows: from their training completion on."""

    __tablename__ = "participant"

    person_id: str = Field(primary_key=True, max_length=64)
    record_began_on: date
    cohort_id: str = Field(max_length=16)


class HoursEntry(Table, table=True):
    """One accepted `HoursLogged`, keyed by its event id: it never counts twice."""

    __tablename__ = "hours_entry"
    __table_args__ = (Index("ix_hours_entry_person_day", "person_id", "activity_date", "source"),)

    event_id: str = Field(primary_key=True, max_length=128)
    person_id: str = Field(max_length=64)
    source: str = Field(max_length=128)
    category: HoursCategory
    hours: Decimal = Field(sa_type=Numeric(6, 2))
    activity_date: date
    note: str | None = Field(default=None, max_length=200)
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class HoursVoid(Table, table=True):
    """A correction: the entry stays in the ledger and stops counting from here on."""

    __tablename__ = "hours_void"

    entry_event_id: str = Field(
        primary_key=True, foreign_key="hours_entry.event_id", max_length=128
    )
    reason: str = Field(max_length=500)
    actor: str = Field(max_length=200)
    voided_at: datetime = Field(sa_type=UTCDateTime)


class OperatorAction(Table, table=True):
    """The audit trail of what operators did, who did it and why."""

    __tablename__ = "operator_action"

    id: int | None = Field(default=None, primary_key=True)
    action: str = Field(max_length=64)
    target: str = Field(max_length=128, index=True)
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
    received_at: datetime = Field(sa_type=UTCDateTime)


metadata = Table.metadata
