"""Enrollment's tables. Nothing about diagnoses or lived experience is stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from ips_shared.contracts.events import Transport
from ips_shared.db import UTCDateTime
from ips_shared.messaging.records import InboxColumns, OutboxColumns


class Table(SQLModel, registry=registry()):
    """Base of this service's tables: its own metadata, apart from other services'."""


class Outbox(OutboxColumns, Table, table=True):
    __tablename__ = "outbox"


class Inbox(InboxColumns, Table, table=True):
    __tablename__ = "inbox"


class Application(Table, table=True):
    __tablename__ = "application"
    __table_args__ = (UniqueConstraint("person_id", "intake", name="uq_application_person_intake"),)

    id: str = Field(primary_key=True, max_length=64)
    person_id: str = Field(index=True, max_length=64)
    intake: str = Field(max_length=16)
    transport: Transport
    work_settings: list[str] = Field(default_factory=list, sa_type=JSON)
    submitted_at: datetime = Field(sa_type=UTCDateTime)


metadata = Table.metadata
