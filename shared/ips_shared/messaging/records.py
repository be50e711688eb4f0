"""Column sets for the outbox and inbox tables.

These are not tables: each service declares its own `outbox` and `inbox` tables from
them in its `db/` package, because each service owns its database and its migrations.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from ..db import UTCDateTime


class OutboxColumns(SQLModel):
    """An event written in the same transaction as the state change that caused it."""

    position: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=128, unique=True)
    subject: str = Field(max_length=255)
    event_type: str = Field(max_length=128)
    payload: bytes
    created_at: datetime = Field(sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    # The W3C trace context the event belongs to (`ips_shared.tracing`): its `traceparent`,
    # then a line with its `tracestate` if any; the relay publishes it as NATS headers.
    trace_context: str | None = Field(default=None, max_length=600)


class InboxColumns(SQLModel):
    """What a consumer has handled, recorded in the transaction of its effect: an event it
    applied, by its CloudEvents identity (`source`, `id`), or a message it answered instead,
    by its stream position (`source` empty, `event_id` the stream sequence; see
    `unit_of_work.InboxKey`)."""

    consumer: str = Field(primary_key=True, max_length=64)
    # Before `source` in the key: the consumer looks a batch up by its ids (one index range).
    event_id: str = Field(primary_key=True, max_length=128)
    source: str = Field(primary_key=True, max_length=256)
    applied_at: datetime = Field(sa_type=UTCDateTime)
