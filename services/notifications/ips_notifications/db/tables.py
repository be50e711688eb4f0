"""Notifications' tables. A notice names a reason, never the sensitive detail behind it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from ips_shared.db import UTCDateTime
from ips_shared.messaging.records import InboxColumns, OutboxColumns


class Table(SQLModel, registry=registry()):
    """Base of this service's tables: its own metadata, apart from other services'."""


class Outbox(OutboxColumns, Table, table=True):
    __tablename__ = "outbox"


class Inbox(InboxColumns, Table, table=True):
    __tablename__ = "inbox"


class DueNotification(Table, table=True):
    __tablename__ = "due_notification"
    __table_args__ = (
        UniqueConstraint("person_id", "reason", "occasion", name="uq_notification_occasion"),
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: str = Field(index=True, max_length=64)
    reason: str = Field(max_length=64)
    occasion: str = Field(max_length=128)
    caused_by: str = Field(max_length=128, description="The event id that made it due")
    due_at: datetime = Field(sa_type=UTCDateTime)


metadata = Table.metadata
