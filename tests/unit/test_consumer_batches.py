"""How one batch meets the inbox (`inbox.apply_batch`), on a real in-memory SQLite unit of
work: copies of an event in one batch, and one message delivered twice in the same batch."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from nats.aio.msg import Msg
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine, select

from ips_shared.contracts import subjects
from ips_shared.contracts.envelope import CloudEvent
from ips_shared.messaging.inbox import apply_batch
from ips_shared.messaging.unit_of_work import UnitOfWork
from tests.integration.harness import Behaviour, Effect, Inbox, Outbox, Table, attendance


def delivered(stream_sequence: int) -> Msg:
    """A message as JetStream hands it over: its reply subject carries its position."""
    reply = f"$JS.ACK.ENROLLMENT.harness.1.{stream_sequence}.{stream_sequence}.0.0"
    return Msg(_client=None, subject=subjects.TRAINING_DAY_ATTENDED, reply=reply)  # type: ignore[arg-type]


@pytest.fixture
def engine() -> Iterator[object]:
    engine = create_engine(
        "sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool
    )
    Table.metadata.create_all(engine)
    yield engine
    engine.dispose()


def apply(engine: object, behaviour: Behaviour, ready: list[tuple[Msg, CloudEvent]]) -> None:
    with UnitOfWork(engine, source="service/test", outbox=Outbox, inbox=Inbox) as uow:  # type: ignore[arg-type]
        apply_batch(uow, "harness", behaviour.apply, ready)
        uow.commit()


def inbox(engine: object) -> list[tuple[str, str]]:
    with Session(engine) as session:  # type: ignore[arg-type]
        return sorted((row.source, row.event_id) for row in session.exec(select(Inbox)))


def test_a_refused_message_delivered_twice_in_one_batch_is_answered_once(engine):
    behaviour = Behaviour()
    event = attendance("p-1", 1)
    behaviour.refusing.add(event.id)

    apply(engine, behaviour, [(delivered(7), event), (delivered(7), event)])

    assert behaviour.attempts[event.id] == 1
    assert inbox(engine) == [("", "7")]


def test_a_refused_event_sent_again_in_the_same_batch_is_evaluated_afresh(engine):
    behaviour = Behaviour()
    event = attendance("p-1", 1)
    behaviour.refusing.add(event.id)

    apply(engine, behaviour, [(delivered(7), event), (delivered(9), event)])

    assert behaviour.attempts[event.id] == 2
    assert inbox(engine) == [("", "7"), ("", "9")]


def test_an_applied_event_sent_again_in_the_same_batch_is_applied_once(engine):
    behaviour = Behaviour()
    event = attendance("p-1", 1)

    apply(engine, behaviour, [(delivered(7), event), (delivered(9), event)])

    assert behaviour.attempts[event.id] == 1
    with Session(engine) as session:
        assert len(session.exec(select(Effect)).all()) == 1
    assert inbox(engine) == [(event.source, event.id)]
