"""Enrollment's tables. Nothing about diagnoses or lived experience is stored: only that
an applicant self-identifies as a peer."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from ips_shared.audit import AuditColumns
from ips_shared.contracts.events import Channel, Language, Transport
from ips_shared.db import UTCDateTime
from ips_shared.messaging.records import InboxColumns, OutboxColumns

from ..domain.applications import ApplicationStatus


class Table(SQLModel, registry=registry()):
    """Base of this service's tables: its own metadata, apart from other services'."""


class Outbox(OutboxColumns, Table, table=True):
    __tablename__ = "outbox"


class Inbox(InboxColumns, Table, table=True):
    __tablename__ = "inbox"


class AuditEntry(AuditColumns, Table, table=True):
    __tablename__ = "audit_entry"


class Person(Table, table=True):
    __tablename__ = "person"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)
    preferred_channel: Channel = Channel.EMAIL
    sms_consent: bool = False
    language: Language = Language.ENGLISH
    region: str = Field(max_length=100, description="Region or county")
    created_at: datetime = Field(sa_type=UTCDateTime)


class Ps101Session(Table, table=True):
    __tablename__ = "ps101_session"

    id: str = Field(primary_key=True, max_length=64)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    place: str = Field(max_length=200, description="An address, or 'online'")
    online: bool = False
    capacity: int


class Ps101SessionTrainer(Table, table=True):
    """A trainer (the name of their token) assigned to a Peer Support 101 session."""

    __tablename__ = "ps101_session_trainer"

    session_id: str = Field(primary_key=True, foreign_key="ps101_session.id", max_length=64)
    trainer: str = Field(primary_key=True, index=True, max_length=100)


class Ps101Registration(Table, table=True):
    __tablename__ = "ps101_registration"

    session_id: str = Field(primary_key=True, foreign_key="ps101_session.id", max_length=64)
    person_id: str = Field(primary_key=True, foreign_key="person.id", max_length=64)
    registered_at: datetime = Field(sa_type=UTCDateTime)
    completed_on: date | None = None


class Application(Table, table=True):
    __tablename__ = "application"
    __table_args__ = (UniqueConstraint("person_id", "intake", name="uq_application_person_intake"),)

    id: str = Field(primary_key=True, max_length=64)
    person_id: str = Field(index=True, foreign_key="person.id", max_length=64)
    intake: str = Field(index=True, max_length=16)
    transport: Transport
    offers_ride: bool = False
    work_settings: list[str] = Field(default_factory=list, sa_type=JSON)
    submitted_at: datetime = Field(sa_type=UTCDateTime)
    status: ApplicationStatus = ApplicationStatus.SUBMITTED
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decline_reason: str | None = Field(default=None, max_length=64)
    # A paper application: the operator who keyed it in (their token's name) and when;
    # `submitted_at` is then the date and time it was received. Both empty when the person
    # applied themself (or before 0005).
    keyed_by: str | None = Field(default=None, max_length=100)
    keyed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Cohort(Table, table=True):
    """One cohort per intake; its id is the intake's (for example 2027-spring)."""

    __tablename__ = "cohort"

    id: str = Field(primary_key=True, max_length=16)
    capacity: int


class CohortTrainer(Table, table=True):
    """A trainer (the name of their token) assigned to a cohort by an operator: they see
    the cohort in their list and its roster."""

    __tablename__ = "cohort_trainer"

    cohort_id: str = Field(primary_key=True, foreign_key="cohort.id", max_length=16)
    trainer: str = Field(primary_key=True, index=True, max_length=100)


class CohortSchedule(Table, table=True):
    """Where a cohort meets; its days in `cohort_training_day`. Set, and changed, whole."""

    __tablename__ = "cohort_schedule"

    cohort_id: str = Field(primary_key=True, foreign_key="cohort.id", max_length=16)
    place: str = Field(max_length=200)
    scheduled_at: datetime = Field(sa_type=UTCDateTime)


class CohortTrainingDay(Table, table=True):
    __tablename__ = "cohort_training_day"

    cohort_id: str = Field(primary_key=True, foreign_key="cohort_schedule.cohort_id", max_length=16)
    day: int = Field(primary_key=True)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)


class Attendance(Table, table=True):
    __tablename__ = "attendance"

    person_id: str = Field(primary_key=True, foreign_key="person.id", max_length=64)
    cohort_id: str = Field(primary_key=True, foreign_key="cohort.id", max_length=16)
    day: int = Field(primary_key=True)
    attended_on: date
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class TrainingCompletion(Table, table=True):
    """At most one per person: `TrainingCompleted` is emitted once."""

    __tablename__ = "training_completion"

    person_id: str = Field(primary_key=True, foreign_key="person.id", max_length=64)
    cohort_id: str = Field(max_length=16)
    completed_on: date


metadata = Table.metadata
