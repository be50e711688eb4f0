"""A service made for the tests: a runtime with its own tables and an `apply` that can be
told to fail, to show what the shared consumer does with success, failure and bad input."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import nats.errors
from nats.js import JetStreamContext
from pydantic_settings import SettingsConfigDict
from sqlalchemy.orm import registry
from sqlmodel import Field, Session, SQLModel, col, create_engine, select

from ips_shared.contracts import streams, subjects
from ips_shared.contracts.envelope import MSG_ID_HEADER, CloudEvent
from ips_shared.contracts.events import TrainingDayAttended
from ips_shared.db import migrate
from ips_shared.messaging.records import InboxColumns, OutboxColumns
from ips_shared.messaging.streams import declare_streams
from ips_shared.messaging.unit_of_work import UnitOfWork
from ips_shared.runtime import ServiceRuntime
from ips_shared.settings import ServiceSettings

T = TypeVar("T")
SERVICE = "notifications"  # borrows a real service's name, so its dead-letter stream exists
CONSUMER = "harness-attendance"


class Table(SQLModel, registry=registry()):
    pass


class Outbox(OutboxColumns, Table, table=True):
    __tablename__ = "outbox"


class Inbox(InboxColumns, Table, table=True):
    __tablename__ = "inbox"


class Effect(Table, table=True):
    """One row per application of an event: duplicates would show as extra rows."""

    id: int | None = Field(default=None, primary_key=True)
    event_id: str
    person_id: str
    day: int


class HarnessSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HARNESS_")
    http_port: int = 1


class Behaviour:
    """What `apply` does: fail for some event ids, a number of times or forever; refuse
    others (as the ledger refuses a report: answered, not applied) while they are listed."""

    def __init__(self) -> None:
        self.failures_left: dict[str, int] = {}
        self.refusing: set[str] = set()
        self.attempts: dict[str, int] = defaultdict(int)

    def apply(self, events: Sequence[CloudEvent[Any]], uow: UnitOfWork) -> list[CloudEvent[Any]]:
        refused = []
        for event in events:
            self.attempts[event.id] += 1
            if self.failures_left.get(event.id, 0) > 0:
                self.failures_left[event.id] -= 1
                raise RuntimeError("simulated failure")
            if event.id in self.refusing:
                refused.append(event)
                continue
            uow.session.add(
                Effect(event_id=event.id, person_id=event.data.person_id, day=event.data.day)
            )
        return refused


def attendance(
    person_id: str, day: int, *, source: str = "service/enrollment", event_id: str | None = None
) -> CloudEvent[TrainingDayAttended]:
    return CloudEvent.wrap(
        TrainingDayAttended(
            person_id=person_id, cohort_id="c-1", day=day, attended_on=date(2027, 3, day)
        ),
        source=source,
        partition_key=person_id,
        event_id=event_id,
    )


def build_runtime(
    database_url: str, nats_url: str, behaviour: Behaviour | None = None, **settings: Any
) -> ServiceRuntime:
    options = {
        "consumer_max_deliver": 3,
        "consumer_backoff_seconds": (0.2,),
        "stream_wait_seconds": 5,
        "relay_poll_seconds": 0.1,
        **settings,
    }
    runtime = ServiceRuntime(
        SERVICE,
        HarnessSettings(database_url=database_url, nats_url=nats_url, **options),
        outbox=Outbox,
        inbox=Inbox,
    )
    Table.metadata.create_all(runtime.engine)
    if behaviour is not None:
        runtime.consume(
            CONSUMER,
            streams.ENROLLMENT,
            subjects.TRAINING_DAY_ATTENDED,
            [TrainingDayAttended],
            behaviour.apply,
            # A second sender, for events of two sources that share an id.
            senders=("service/enrollment", "service/elsewhere"),
        )
    return runtime


@contextlib.asynccontextmanager
async def running(runtime: ServiceRuntime) -> AsyncIterator[ServiceRuntime]:
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


async def provision_streams(js: JetStreamContext) -> None:
    """What the admin's provisioning step does: every stream (services only wait for them)."""
    await declare_streams(js, streams.ALL)


async def publish(
    js: JetStreamContext, event: CloudEvent[Any], *, with_msg_id: bool = True
) -> None:
    headers = {MSG_ID_HEADER: event.id} if with_msg_id else None
    await js.publish(event.nats_subject, event.to_json(), headers=headers)


async def publish_raw(js: JetStreamContext, body: bytes) -> None:
    await js.publish(subjects.TRAINING_DAY_ATTENDED, body)


def migrate_service(database_url: str, tables_module: ModuleType) -> None:
    """Bring a fresh database to a service's schema, as `ips-<service> migrate` does."""
    migrate(database_url, Path(str(tables_module.__file__)).parent / "migrations")


def rows(database_url: str, table: type[T]) -> list[T]:
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(table)))
    finally:
        engine.dispose()


def effects(runtime: ServiceRuntime) -> list[Effect]:
    with Session(runtime.engine) as session:
        return list(session.exec(select(Effect).order_by(col(Effect.id))))


async def eventually(check: Callable[[], Awaitable[bool] | bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            outcome = check()
            if isinstance(outcome, Awaitable):
                outcome = await outcome
        except (OSError, nats.errors.Error):  # not reachable yet: ask again
            outcome = False
        if outcome:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.05)


async def consumer_done(js: JetStreamContext, expected_stream_sequence: int) -> bool:
    """Everything up to that stream sequence was delivered and acknowledged."""
    info = await js.consumer_info(streams.ENROLLMENT.name, CONSUMER)
    return info.ack_floor.stream_seq >= expected_stream_sequence and info.num_ack_pending == 0


async def dead_letters(js: JetStreamContext, service: str = SERVICE) -> list[Any]:
    stream = streams.dead_letter_stream(service).name
    info = await js.stream_info(stream)
    return (
        [
            await js.get_msg(stream, seq)
            for seq in range(info.state.first_seq, info.state.last_seq + 1)
        ]
        if info.state.messages
        else []
    )
