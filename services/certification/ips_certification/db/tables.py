"""Tables of this service: so far the outbox and inbox every service keeps."""

from sqlalchemy.orm import registry
from sqlmodel import SQLModel

from ips_shared.messaging.records import InboxColumns, OutboxColumns


class Table(SQLModel, registry=registry()):
    """Base of this service's tables: its own metadata, apart from other services'."""


class Outbox(OutboxColumns, Table, table=True):
    __tablename__ = "outbox"


class Inbox(InboxColumns, Table, table=True):
    __tablename__ = "inbox"


metadata = Table.metadata
