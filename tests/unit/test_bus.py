"""The message bus: one handler signature, dependencies bound by name, commands committed
and queries never; events emitted in a chain carry its correlation and causation ids."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
import structlog
from sqlmodel import Session, select

from ips_shared.contracts.envelope import CloudEvent
from ips_shared.contracts.events import TrainingCompleted, TrainingDayAttended
from ips_shared.db import create_db_engine
from ips_shared.messaging.bus import Command, MessageBus, Query
from ips_shared.messaging.causation import Chain, chain_of_request, within
from ips_shared.messaging.unit_of_work import UnitOfWork
from tests.integration.harness import Inbox, Outbox, Table


@dataclass(frozen=True)
class Rename(Command[str]):
    name: str


@dataclass(frozen=True)
class Greeting(Query[str]):
    name: str


def rename(command: Rename, uow: UnitOfWork, *, prefix: str) -> str:
    return prefix + command.name


def greet(query: Greeting, uow: UnitOfWork) -> str:
    return f"hello {query.name}"


class FakeUnitOfWork:
    """Counts what the bus does with the unit of work it opens."""

    def __init__(self) -> None:
        self.commits = 0
        self.closed = False

    def __enter__(self) -> FakeUnitOfWork:
        return self

    def __exit__(self, *_: object) -> None:
        self.closed = True

    def commit(self) -> None:
        self.commits += 1


@pytest.fixture
def opened() -> list[FakeUnitOfWork]:
    return []


@pytest.fixture
def bus(opened: list[FakeUnitOfWork]) -> MessageBus:
    def unit_of_work() -> FakeUnitOfWork:
        opened.append(FakeUnitOfWork())
        return opened[-1]

    return MessageBus(unit_of_work, [rename, greet], {"prefix": "Dr. "})  # type: ignore[arg-type]


def test_a_command_reaches_its_handler_with_its_dependencies_and_is_committed(bus, opened):
    assert bus.handle(Rename("Ada")) == "Dr. Ada"
    assert [(uow.commits, uow.closed) for uow in opened] == [(1, True)]


def test_a_query_is_answered_and_never_committed(bus, opened):
    assert bus.handle(Greeting("Ada")) == "hello Ada"
    assert [(uow.commits, uow.closed) for uow in opened] == [(0, True)]


def test_a_failing_handler_commits_nothing(opened):
    def explode(command: Rename, uow: UnitOfWork) -> str:
        raise RuntimeError("no")

    def unit_of_work() -> FakeUnitOfWork:
        opened.append(FakeUnitOfWork())
        return opened[-1]

    failing = MessageBus(unit_of_work, [explode], {})  # type: ignore[arg-type]

    with pytest.raises(RuntimeError):
        failing.handle(Rename("Ada"))
    assert [(uow.commits, uow.closed) for uow in opened] == [(0, True)]


async def test_dispatch_runs_the_handler_off_the_event_loop(bus):
    assert await bus.dispatch(Rename("Ada")) == "Dr. Ada"


def test_a_missing_dependency_is_named_when_the_bus_is_built():
    with pytest.raises(TypeError, match="prefix"):
        MessageBus(FakeUnitOfWork, [rename], {})  # type: ignore[arg-type]


def test_two_handlers_for_one_message_are_refused():
    def again(command: Rename, uow: UnitOfWork, *, prefix: str) -> str:
        return command.name

    with pytest.raises(TypeError, match="two handlers"):
        MessageBus(FakeUnitOfWork, [rename, again], {"prefix": ""})  # type: ignore[arg-type]


def test_a_handler_must_name_its_message_type():
    def untyped(message: str, uow: UnitOfWork) -> None: ...

    with pytest.raises(TypeError, match="no Command or Query"):
        MessageBus(FakeUnitOfWork, [untyped], {})  # type: ignore[arg-type]


def test_an_event_handler_gets_its_dependencies_bound(bus):
    seen: list[str] = []

    def on_attended(events: list[str], uow: UnitOfWork, *, prefix: str) -> None:
        seen.extend(prefix + event for event in events)

    bus.bind(on_attended)(["a"], None)  # type: ignore[arg-type]

    assert seen == ["Dr. a"]


# -- correlation and causation ------------------------------------------------------


@pytest.fixture
def unit_of_work() -> Iterator[UnitOfWork]:
    engine = create_db_engine("sqlite://")
    Table.metadata.create_all(engine)
    with UnitOfWork(engine, source="service/test", outbox=Outbox, inbox=Inbox) as uow:
        yield uow
    engine.dispose()


def attended() -> TrainingDayAttended:
    return TrainingDayAttended(
        person_id="p-1", cohort_id="c-1", day=8, attended_on=date(2027, 3, 8)
    )


def test_an_event_emitted_in_reaction_continues_its_causes_chain(unit_of_work):
    cause = CloudEvent.wrap(
        TrainingCompleted(person_id="p-1", cohort_id="c-1", completed_on=date(2027, 3, 8)),
        source="service/enrollment",
        correlation_id="request-7",
    )

    with within(Chain("another-request")):  # the cause wins over the chain at hand
        emitted = unit_of_work.emit(attended(), cause=cause)

    assert (emitted.correlationid, emitted.causationid) == ("request-7", cause.id)


def test_an_event_emitted_within_a_request_carries_the_requests_correlation_id(unit_of_work):
    with within(chain_of_request("req-42")):
        emitted = unit_of_work.emit(attended())

    assert (emitted.correlationid, emitted.causationid) == ("req-42", None)


def test_an_event_outside_any_chain_starts_its_own(unit_of_work):
    emitted = unit_of_work.emit(attended())
    unit_of_work.commit()

    assert (emitted.correlationid, emitted.causationid) == (emitted.id, None)
    with Session(unit_of_work.session.get_bind()) as session:
        [stored] = session.exec(select(Outbox.payload))
    assert json.loads(stored)["correlationid"] == emitted.id


@pytest.mark.parametrize("header", [None, "", "x" * 129, "bad value", "a\nb"])
def test_a_request_without_a_well_formed_correlation_id_starts_a_new_chain(header):
    chain = chain_of_request(header)

    assert chain.correlation_id != header and len(chain.correlation_id) == 36


def test_log_lines_within_a_chain_carry_its_ids_and_none_after():
    with within(Chain("req-1", "evt-1")):
        inside = structlog.contextvars.get_contextvars()
    after = structlog.contextvars.get_contextvars()

    assert (inside["correlation_id"], inside["causation_id"]) == ("req-1", "evt-1")
    assert "correlation_id" not in after and "causation_id" not in after
