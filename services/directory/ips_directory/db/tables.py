"""The directory's tables (nobody else reads them).

`certificate` is the read model built from certification's status events; the rest is the
directory's own data: profiles entered by people, centers, groups and group types entered
by operators. What public search may find of a profile is kept apart from what the person
entered: `search_text`, `region_key`, `name_key` and the `profile_term` rows hold the
fields they chose to show, and nothing else.

Full-text search lives beside these tables, made by the migration for each database
(`SEARCH_INDEXES`): on SQLite an FTS5 table per searchable table, kept in step with it by
triggers in the same transaction; on PostgreSQL a GIN index on
`to_tsvector('simple', search_text)`."""

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


class CertificateRecord(Table, table=True):
    """Each person's certificate as the status events tell it (`domain.certificates`)."""

    __tablename__ = "certificate"

    person_id: str = Field(primary_key=True, max_length=64)
    number: str | None = Field(default=None, max_length=64, unique=True)
    status: str = Field(max_length=16)
    status_since: date
    certified_since: date | None = None
    anniversary: date | None = None
    year_ends_on: date | None = None
    lapsed_since: date | None = None
    event_id: str = Field(max_length=128, description="The status change applied last")
    changed_at: datetime = Field(sa_type=UTCDateTime, description="That event's time")


class ProfileRecord(Table, table=True):
    """A specialist's profile as they entered it, and what of it they chose to show."""

    __tablename__ = "profile"

    id: int | None = Field(default=None, primary_key=True)
    person_id: str = Field(max_length=64, unique=True)
    listed: bool = False
    display_name: str | None = Field(default=None, max_length=100)
    region: str | None = Field(default=None, max_length=80)
    settings: str = Field(default="[]", sa_type=Text, description="JSON list")
    languages: str = Field(default="[]", sa_type=Text, description="JSON list")
    about: str | None = Field(default=None, max_length=160)
    shown: str = Field(default="[]", sa_type=Text, description="JSON list of field names")
    # What public search finds: shown fields only.
    search_text: str = Field(default="", sa_type=Text)
    region_key: str | None = Field(default=None, max_length=80, index=True)
    name_key: str | None = Field(default=None, max_length=100, index=True)
    changed_at: datetime = Field(sa_type=UTCDateTime)
    changed_by: str = Field(max_length=200, description="The token's name that set it")


class ProfileTerm(Table, table=True):
    """A shown setting or language of a profile, for the search filters."""

    __tablename__ = "profile_term"
    __table_args__ = (Index("ix_profile_term_kind_value", "kind", "value"),)

    profile_id: int = Field(primary_key=True, foreign_key="profile.id")
    kind: str = Field(primary_key=True, max_length=16)  # "setting" or "language"
    value: str = Field(primary_key=True, max_length=40)


class CenterRecord(Table, table=True):
    __tablename__ = "center"

    id: int | None = Field(default=None, primary_key=True)
    center_id: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=200)
    town: str = Field(max_length=100)
    county: str = Field(max_length=80)
    county_key: str = Field(max_length=80, index=True)
    opening_hours: str = Field(max_length=500)
    rooms: str = Field(default="[]", sa_type=Text, description="JSON list")
    ages_served: str = Field(max_length=100)
    no_referral_or_insurance_needed: bool = True
    search_text: str = Field(default="", sa_type=Text)


class GroupTypeRecord(Table, table=True):
    __tablename__ = "group_type"

    code: str = Field(primary_key=True, max_length=40)
    label: str = Field(max_length=100)
    built_in: bool = False


class GroupRecord(Table, table=True):
    __tablename__ = "center_group"

    id: int | None = Field(default=None, primary_key=True)
    group_id: str = Field(max_length=32, unique=True)
    center_id: str = Field(max_length=32, foreign_key="center.center_id", index=True)
    type_code: str = Field(max_length=40, foreign_key="group_type.code", index=True)
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=1000)
    search_text: str = Field(default="", sa_type=Text)


class MeetingRecord(Table, table=True):
    """One weekly meeting of a group, in an optional range of months."""

    __tablename__ = "group_meeting"
    __table_args__ = (UniqueConstraint("group_id", "position", name="uq_group_meeting"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: str = Field(max_length=32, foreign_key="center_group.group_id")
    position: int
    weekday: str = Field(max_length=10, index=True)
    starts_at: time
    ends_at: time | None = None
    first_month: date | None = None
    last_month: date | None = None


SEARCH_INDEXES = {"profile": "profile_fts", "center": "center_fts", "center_group": "group_fts"}
"""Searchable table -> its SQLite FTS5 table (the migration makes them and their triggers;
on PostgreSQL a GIN index `ix_<table>_search` instead)."""

FTS5_SHADOWS = ("data", "idx", "config", "docsize")
SEARCH_INDEX_NAMES = frozenset(
    {
        *SEARCH_INDEXES.values(),
        *(f"{fts}_{shadow}" for fts in SEARCH_INDEXES.values() for shadow in FTS5_SHADOWS),
        *(f"ix_{table}_search" for table in SEARCH_INDEXES),
    }
)
"""What the migration makes for full-text search beyond these tables (SQLite's FTS5 tables
and their shadow tables, PostgreSQL's GIN indexes): a schema comparison leaves them out."""

metadata = Table.metadata
