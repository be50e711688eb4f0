"""What is written about a failure names its kind and its place, never the values it is
about: database errors (SQLite and PostgreSQL), dead-letter headers and log lines.

The distinctive value is only ever held in `SECRET`, so that no line of code a traceback
shows can contain it."""

from __future__ import annotations

import json
import traceback
from collections.abc import Sequence
from typing import Any

import pytest
from nats.js import JetStreamContext
from sqlalchemy import insert, text
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from ips_shared.contracts.envelope import CloudEvent
from ips_shared.db import bulk_insert, create_db_engine
from ips_shared.messaging.dead_letters import DEAD_LETTER_ERROR, DEAD_LETTER_REASON
from ips_shared.messaging.unit_of_work import UnitOfWork

from .harness import (
    Behaviour,
    attendance,
    build_runtime,
    consumer_done,
    dead_letters,
    eventually,
    provision_streams,
    publish,
    publish_raw,
    running,
)
from .log_capture import captured_log_lines

SECRET = "Zebulon-Secret"


class Table(SQLModel, registry=registry()):
    pass


class Named(Table, table=True):
    __tablename__ = "named"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=64)
    day: int


def everything_said_about(error: BaseException) -> str:
    """Its message and the whole traceback, chained driver errors included."""
    return str(error) + "".join(traceback.format_exception(error))


def test_database_errors_do_not_quote_the_values_they_are_about(
    database_url: str, database_kind: str
) -> None:
    engine = create_db_engine(database_url)
    Named.metadata.create_all(engine)
    try:
        with engine.begin() as connection:
            connection.execute(insert(Named), {"name": SECRET, "day": 1})

        failing: list[tuple[type[Exception], Any, dict[str, Any]]] = [
            (IntegrityError, insert(Named), {"name": SECRET, "day": 2}),  # unique
            (IntegrityError, insert(Named), {"name": f"{SECRET}-2", "day": None}),  # not null
        ]
        if database_kind == "postgresql":  # SQLite reads any text as a number
            cast = text("INSERT INTO named (name, day) VALUES ('x', CAST(:day AS integer))")
            failing.append((DataError, cast, {"day": SECRET}))
        for kind, statement, values in failing:
            with pytest.raises(kind) as raised, engine.begin() as connection:
                connection.execute(statement, values)
            assert SECRET not in everything_said_about(raised.value)
            assert "hide_parameters" in str(raised.value)

        # Rows in bulk: a COPY on PostgreSQL, which the driver runs past SQLAlchemy.
        with pytest.raises(Exception) as raised, engine.begin() as connection:
            bulk_insert(connection, Named, [{"name": f"{SECRET}-3", "day": 3}] * 2)
        assert "unique" in str(raised.value).lower()
        assert SECRET not in everything_said_about(raised.value)
    finally:
        engine.dispose()


class FailingQuotingItsInput(Behaviour):
    """A handler whose error message quotes the event it could not apply."""

    def apply(self, events: Sequence[CloudEvent[Any]], uow: UnitOfWork) -> list[CloudEvent[Any]]:
        for event in events:
            if event.data.person_id.startswith(SECRET):
                raise ValueError(f"cannot apply day {event.data.day} of {event.data.person_id}")
        return super().apply(events, uow)


async def test_dead_letters_and_log_lines_name_fields_and_kinds_never_values(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> None:
    await provision_streams(jetstream)
    malformed = json.loads(attendance("p-1", 1).to_json())
    malformed["data"]["day"] = SECRET  # a number is expected
    malformed["data"]["cohort_id"] = SECRET * 10  # 140 characters, at most 64 allowed
    unreadable = f'{{"id": "e-1", "data": {{"note": "{SECRET}"'.encode()  # cut short
    failing = attendance(f"{SECRET}-person", 2)
    applied = attendance("p-2", 3)

    with captured_log_lines("notifications") as log:
        runtime = build_runtime(database_url, nats_url, FailingQuotingItsInput())
        async with running(runtime):
            await publish_raw(jetstream, json.dumps(malformed).encode())
            await publish_raw(jetstream, unreadable)
            await publish(jetstream, failing)
            await publish(jetstream, applied)
            await eventually(lambda: consumer_done(jetstream, 4))
            letters = await dead_letters(jetstream)

    assert [letter.headers[DEAD_LETTER_ERROR] for letter in letters] == [
        "invalid_payload",
        "invalid_payload",
        "handler_failed",
    ]
    for letter in letters:
        assert SECRET.encode() in letter.data  # the payload is kept whole, for operators
        assert not [value for value in letter.headers.values() if SECRET in value]
    reasons = [letter.headers[DEAD_LETTER_REASON] for letter in letters]
    assert "data.day: Input should be a valid integer" in reasons[0]
    assert "data.cohort_id: String should have at most 64 characters" in reasons[0]
    assert reasons[1].startswith("validation failed: <root>: Invalid JSON: EOF while parsing")
    assert reasons[2] == "ValueError"

    lines = log.getvalue()
    for logged in ("consumer.dead_lettered", "consumer.retry_later", "consumer.giving_up"):
        assert logged in lines
    assert SECRET not in lines
