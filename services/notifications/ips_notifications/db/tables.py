"""Notifications' tables. A notice names a reason, never the sensitive detail behind it."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import Index, Text, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from ips_shared.audit import AuditColumns
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


class DueNotification(Table, table=True):
    """A notification's identity (person, reason, occasion), recorded with the event that
    made it due, before anything is sent; then its delivery: state, attempts, outcome.
    The values its message may show are kept (`details`); the message itself, and the
    address it went to, are not."""

    __tablename__ = "due_notification"
    __table_args__ = (
        UniqueConstraint("person_id", "reason", "occasion", name="uq_notification_occasion"),
        Index("ix_due_notification_state_next", "state", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: str = Field(index=True, max_length=64)
    reason: str = Field(max_length=64)
    occasion: str = Field(max_length=128)
    caused_by: str = Field(max_length=128, description="The event id that made it due")
    due_at: datetime = Field(sa_type=UTCDateTime)
    correlation_id: str | None = Field(default=None, max_length=128)
    details: str = Field(
        default="{}",
        sa_type=Text,
        sa_column_kwargs={"server_default": "{}"},
        description="JSON: the values its message may show",
    )
    state: str = Field(
        default="pending", max_length=16, sa_column_kwargs={"server_default": "pending"}
    )
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    channel: str | None = Field(default=None, max_length=8)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome_code: str | None = Field(default=None, max_length=64)


class Contact(Table, table=True):
    """Each person's current contact details, from enrollment's `PersonContactChanged`
    (the latest by event time). Erased details are forgotten: the row keeps the person's
    id and `erased` only."""

    __tablename__ = "contact"

    person_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=16)
    preferred_channel: str = Field(default="email", max_length=8)
    sms_consent: bool = False
    language: str = Field(default="en", max_length=8)
    erased: bool = False
    changed_at: datetime = Field(sa_type=UTCDateTime)
    event_id: str = Field(max_length=128)


class Preference(Table, table=True):
    """What a person chose (through the API, or an operator for them): a language that wins
    over the contact's, quiet hours that replace the program's, and whether they want
    reminders. No row: the defaults (the contact's language, the program's quiet hours,
    reminders on)."""

    __tablename__ = "preference"

    person_id: str = Field(primary_key=True, max_length=64)
    language: str | None = Field(default=None, max_length=8)
    quiet_start: time | None = None
    quiet_end: time | None = None
    reminders: bool = True
    changed_at: datetime = Field(sa_type=UTCDateTime)
    changed_by: str = Field(max_length=200, description="The token's name that set them")


class CohortMember(Table, table=True):
    """Who is in which cohort, from enrollment's `ApplicationAccepted` (a withdrawal of the
    application removes it): whom the training reminders go to."""

    __tablename__ = "cohort_member"

    application_id: str = Field(primary_key=True, max_length=64)
    person_id: str = Field(max_length=64)
    cohort_id: str = Field(index=True, max_length=64)


class TrainingDay(Table, table=True):
    """A cohort's current schedule, from its latest `CohortScheduled` (the whole schedule
    each time), indexed by the date its reminders fall due."""

    __tablename__ = "training_day"

    cohort_id: str = Field(primary_key=True, max_length=64)
    day: int = Field(primary_key=True)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    place: str = Field(max_length=200)
    remind_on: date = Field(index=True, description="Local date its reminders fall due")
    scheduled_at: datetime = Field(sa_type=UTCDateTime, description="The schedule's event time")
    event_id: str = Field(max_length=128, description="The CohortScheduled that set it")
    correlation_id: str | None = Field(default=None, max_length=128)


class Graduate(Table, table=True):
    """Someone who completed Peer Support 101 (from `PeerSupport101Completed`) and whether
    they have applied to the training since (any `ApplicationSubmitted`: in whichever order
    the two arrive): whom the application-deadline reminders go to. A row may exist from an
    application alone (`completed_on` unknown), and is then never reminded."""

    __tablename__ = "graduate"
    __table_args__ = (Index("ix_graduate_applied_completed", "applied", "completed_on"),)

    person_id: str = Field(primary_key=True, max_length=64)
    completed_on: date | None = None
    applied: bool = False
    event_id: str | None = Field(
        default=None, max_length=128, description="The PeerSupport101Completed recorded"
    )
    correlation_id: str | None = Field(default=None, max_length=128)


class DeadlineReminderRun(Table, table=True):
    """An application-deadline reminder made due for everyone it was for (its occasion,
    such as `2027-spring:30d`): later passes skip it."""

    __tablename__ = "deadline_reminder_run"

    occasion: str = Field(primary_key=True, max_length=128)
    done_at: datetime = Field(sa_type=UTCDateTime)
    people: int = 0


metadata = Table.metadata
