"""The audit trail of access: who read or changed a person's record, what operators did,
and every refused access. Each entry names the actor (the token's name, never the token),
the action (method and route template), the record, the time, the answer and, for a
refusal, the reason. No request body or query value is kept.

`AuditColumns` is a column set, not a table: a service keeping an audit trail declares its
own `audit_entry` table from it (as with the outbox), and its migration makes that table
append-only on PostgreSQL. The code here only inserts (`record`) and reads (`entries`);
there is no update or delete path. What is recorded is decided in `http_audit`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Engine, insert
from sqlmodel import Field, Session, SQLModel, col, select

from .db import UTCDateTime

ACTOR_LENGTH = 200
PERSON_LENGTH = 128
RECORD_LENGTH = 300
ACTION_LENGTH = 300


class AuditColumns(SQLModel):
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=ACTOR_LENGTH, index=True)
    role: str | None = Field(default=None, max_length=16)
    action: str = Field(max_length=ACTION_LENGTH)  # e.g. "GET /people/{person_id}"
    person_id: str | None = Field(default=None, max_length=PERSON_LENGTH, index=True)
    record: str | None = Field(default=None, max_length=RECORD_LENGTH)  # other ids in the path
    status: int
    reason: str | None = Field(default=None, max_length=32)  # why refused; None if allowed
    correlation_id: str | None = Field(default=None, max_length=128)


@dataclass(frozen=True)
class Access:
    """One entry to record. Values longer than their column are cut, so that a refusal with
    an absurdly long id in its path is still recorded."""

    at: datetime
    actor: str
    role: str | None
    action: str
    person_id: str | None
    record: str | None
    status: int
    reason: str | None
    correlation_id: str | None

    def row(self) -> dict[str, object]:
        values = asdict(self)
        for name, length in (
            ("actor", ACTOR_LENGTH),
            ("action", ACTION_LENGTH),
            ("person_id", PERSON_LENGTH),
            ("record", RECORD_LENGTH),
        ):
            if values[name] is not None:
                values[name] = values[name][:length]
        return values


@dataclass(frozen=True)
class AuditQuery:
    """Filters of the trail: `since` inclusive, `until` exclusive, `before_id` the cursor of
    the next page (entries come newest first)."""

    person_id: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None
    limit: int = 50


def record(engine: Engine, table: type[AuditColumns], access: Access) -> None:
    """Append one entry, in a transaction of its own."""
    with engine.begin() as connection:
        connection.execute(insert(table), [access.row()])


def entries(
    engine: Engine, table: type[AuditColumns], query: AuditQuery
) -> tuple[list[AuditColumns], int | None]:
    """The page of entries `query` asks for, newest first, and the `before_id` of the next
    page (None on the last)."""
    statement = select(table)
    if query.person_id is not None:
        statement = statement.where(col(table.person_id) == query.person_id)
    if query.actor is not None:
        statement = statement.where(col(table.actor) == query.actor)
    if query.since is not None:
        statement = statement.where(col(table.at) >= query.since)
    if query.until is not None:
        statement = statement.where(col(table.at) < query.until)
    if query.before_id is not None:
        statement = statement.where(col(table.id) < query.before_id)
    statement = statement.order_by(col(table.id).desc()).limit(query.limit + 1)
    with Session(engine) as session:
        rows = list(session.exec(statement).all())
    if len(rows) > query.limit:
        return rows[: query.limit], rows[query.limit - 1].id
    return rows, None
