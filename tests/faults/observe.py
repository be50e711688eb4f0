"""What the services' databases and streams hold, read directly (SQL and JetStream), never
through the services' own code."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, ConsumerInfo, DeliverPolicy
from sqlalchemy.engine import make_url

HUNDREDTH = Decimal("0.01")


class Database:
    """A service's database, by the SQLAlchemy URL the service is given."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.kind = parsed.get_backend_name()
        if self.kind == "sqlite":
            self._path = str(parsed.database)
        else:
            self._dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        if self.kind == "sqlite":
            with sqlite3.connect(self._path, timeout=30) as connection:
                return connection.execute(sql).fetchall()
        with psycopg.connect(self._dsn, autocommit=True) as connection:
            return connection.execute(sql).fetchall()  # type: ignore[arg-type]

    def execute(self, sql: str) -> None:
        assert self.kind == "postgresql"
        with psycopg.connect(self._dsn, autocommit=True) as connection:
            connection.execute(sql)  # type: ignore[arg-type]

    def count(self, sql: str) -> int:
        return int(self.rows(sql)[0][0])


@dataclass(frozen=True)
class StoredMessage:
    sequence: int
    subject: str
    headers: dict[str, str]
    data: bytes

    def envelope(self) -> dict[str, Any]:
        return json.loads(self.data)  # type: ignore[no-any-return]


async def stream_messages(
    jetstream: JetStreamContext, stream: str, subjects: str
) -> list[StoredMessage]:
    """Every message the stream holds on `subjects`, in order (an ordered consumer)."""
    info = await jetstream.stream_info(stream, subjects_filter=subjects)
    expected = sum((info.state.subjects or {}).values())
    if not expected:
        return []
    subscription = await jetstream.subscribe(
        subjects,
        stream=stream,
        ordered_consumer=True,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE),
        pending_msgs_limit=-1,
        pending_bytes_limit=-1,
    )
    found: list[StoredMessage] = []
    try:
        while len(found) < expected:
            message = await subscription.next_msg(timeout=10)
            found.append(
                StoredMessage(
                    message.metadata.sequence.stream,
                    message.subject,
                    dict(message.headers or {}),
                    message.data,
                )
            )
    finally:
        await subscription.unsubscribe()
    return found


async def answers(jetstream: JetStreamContext) -> defaultdict[tuple[str, str], list[str]]:
    """The HoursRejected partners received: reason codes by (their source token, the
    rejected event id)."""
    found: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
    for message in await stream_messages(jetstream, "HOURS", "ips.hours.rejected.>"):
        data = message.envelope()["data"]
        token = message.subject.rsplit(".", 1)[-1]
        found[(token, data["rejected_event_id"])].append(data["reason_code"])
    return found


async def answers_per_token(jetstream: JetStreamContext) -> Counter[str]:
    """How many HoursRejected each source token received."""
    messages = await stream_messages(jetstream, "HOURS", "ips.hours.rejected.>")
    return Counter(message.subject.rsplit(".", 1)[-1] for message in messages)


async def dead_letters(jetstream: JetStreamContext, service: str) -> list[StoredMessage]:
    try:
        return await stream_messages(
            jetstream, f"DEADLETTER_{service.upper()}", f"ips.deadletter.{service}.>"
        )
    except Exception as error:  # not declared yet: nothing was dead-lettered
        if "stream not found" in str(error).lower():
            return []
        raise


async def consumer_state(jetstream: JetStreamContext, stream: str, durable: str) -> ConsumerInfo:
    return await jetstream.consumer_info(stream, durable)


async def eventually_count(
    database: Database, sql: str, expected: int, timeout: float = 60.0
) -> int:
    """Polls a count until it reaches `expected` (or the timeout); the last count."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = await asyncio.to_thread(database.count, sql)
        if found >= expected or loop.time() > deadline:
            return found
        await asyncio.sleep(0.3)


def ledger_entries(database: Database) -> Counter[tuple[str, str]]:
    """Entries in certification's hours ledger from the test partners, by (source, id)."""
    rows = database.rows(
        "SELECT source, event_id FROM hours_entry WHERE source LIKE 'partner/fault-%'"
    )
    return Counter((source, event_id) for source, event_id in rows)


def ledger_totals(database: Database) -> dict[tuple[str, str], Decimal]:
    """Hours counted per person and category, from the test partners."""
    totals: defaultdict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for person, category, hours in database.rows(
        "SELECT person_id, category, hours FROM hours_entry WHERE source LIKE 'partner/fault-%'"
    ):
        # SQLAlchemy stores an enum by its member name: CONTINUING_EDUCATION
        totals[(person, category.lower())] += Decimal(str(hours)).quantize(HUNDREDTH)
    return dict(totals)
