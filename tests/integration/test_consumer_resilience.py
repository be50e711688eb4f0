"""No message ends a consumer, a loop that dies anyway starts again, `/readyz` tells the
truth about consumers, and per-key order survives a crash: against a real nats-server,
on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from ips_certification.bootstrap import bootstrap
from ips_certification.db import tables
from ips_certification.db.tables import HoursEntry
from ips_certification.settings import CertificationSettings
from ips_shared.contracts import streams, subjects
from ips_shared.contracts.envelope import MSG_ID_HEADER, CloudEvent
from ips_shared.contracts.events import HoursCategory, HoursLogged, TrainingCompleted
from ips_shared.http import http_app
from ips_shared.logs import configure_logging
from ips_shared.messaging.dead_letters import DEAD_LETTER_ERROR
from ips_shared.messaging.streams import declare_streams
from ips_shared.messaging.unit_of_work import UnitOfWork
from ips_shared.runtime import ServiceRuntime

from .harness import (
    CONSUMER,
    Behaviour,
    attendance,
    build_runtime,
    consumer_done,
    dead_letters,
    effects,
    eventually,
    migrate_service,
    provision_streams,
    publish,
    publish_raw,
    rows,
    running,
)

NESTED_OBJECT = b'{"a":' * 5_000 + b"1" + b"}" * 5_000  # 30 KB: RecursionError in json.loads
NESTED_LIST = b"[" * 30_000 + b"]" * 30_000
INVALID_UTF8 = b'{"specversion": "1.0", "id": "\xff\xfe"}'
WRONG_TYPES = json.dumps({"specversion": 1, "id": 5, "source": [], "type": {}, "data": "x"})
POISON = (NESTED_OBJECT, NESTED_LIST, INVALID_UTF8, WRONG_TYPES.encode())


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """For a test that logs as a production process does (`configure_logging`)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


@asynccontextmanager
async def serving(runtime: ServiceRuntime) -> AsyncIterator[httpx.AsyncClient]:
    app = http_app(runtime)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://s") as client,
    ):
        yield client


async def readyz(client: httpx.AsyncClient) -> tuple[int, dict[str, Any]]:
    response = await client.get("/readyz")
    return response.status_code, response.json()


# -- no message ends a consumer ------------------------------------------------------------


async def test_poison_messages_are_dead_lettered_and_the_consumer_goes_on(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> None:
    await provision_streams(jetstream)
    runtime = build_runtime(database_url, nats_url, Behaviour())
    async with running(runtime):
        for body in POISON:
            await publish_raw(jetstream, body)
        valid = attendance("p-1", 1)
        await publish(jetstream, valid)
        await eventually(lambda: consumer_done(jetstream, len(POISON) + 1))
        assert [effect.event_id for effect in effects(runtime)] == [valid.id]
        letters = await dead_letters(jetstream)
        assert [letter.data for letter in letters] == list(POISON)
        assert {letter.headers[DEAD_LETTER_ERROR] for letter in letters} == {"invalid_payload"}
        assert runtime.consumer_problems() == []


def trained(person_id: str) -> CloudEvent[TrainingCompleted]:
    completed = TrainingCompleted(
        person_id=person_id,
        cohort_id="2026-spring",
        completed_on=datetime.now(UTC).date() - timedelta(days=30),
    )
    return CloudEvent.wrap(completed, source="service/enrollment", partition_key=person_id)


def reported(person_id: str, amount: str) -> CloudEvent[HoursLogged]:
    logged = HoursLogged(
        person_id=person_id,
        category=HoursCategory.VOLUNTEER_SERVICE,
        hours=Decimal(amount),
        activity_date=datetime.now(UTC).date() - timedelta(days=1),
    )
    return CloudEvent.wrap(logged, source="partner/smhc", partition_key=person_id)


async def send(js: JetStreamContext, event: CloudEvent[Any]) -> None:
    await js.publish(event.nats_subject, event.to_json(), headers={MSG_ID_HEADER: event.id})


async def rejections(js: JetStreamContext) -> list[tuple[str, str, str]]:
    """(subject, rejected event id, reason code) of each `HoursRejected` in the stream."""
    info = await js.stream_info(streams.HOURS.name)
    found = []
    for sequence in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg(streams.HOURS.name, sequence)
        if message.subject.startswith(subjects.HOURS_REJECTED_PREFIX):
            data = json.loads(message.data)["data"]
            found.append((message.subject, data["rejected_event_id"], data["reason_code"]))
    return found


async def test_poison_to_certification_is_answered_to_the_partner_or_dead_lettered(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> None:
    await declare_streams(jetstream, [streams.ENROLLMENT])
    migrate_service(database_url, tables)
    settings = CertificationSettings(
        database_url=database_url, nats_url=nats_url, relay_poll_seconds=0.05
    )
    app = bootstrap(settings).http_app()
    async with app.router.lifespan_context(app):
        await jetstream.publish(subjects.TRAINING_COMPLETED, NESTED_OBJECT)
        await jetstream.publish("ips.hours.logged.smhc", NESTED_OBJECT)
        await jetstream.publish("ips.hours.logged.smhc", NESTED_LIST)
        await send(jetstream, trained("p-1"))
        await eventually(lambda: bool(rows(database_url, tables.Participant)))
        counted = reported("p-1", "2.5")
        await send(jetstream, counted)
        await eventually(lambda: bool(rows(database_url, HoursEntry)))

        async def answered() -> bool:
            return len(await rejections(jetstream)) == 2

        await eventually(answered)
        assert [entry.event_id for entry in rows(database_url, HoursEntry)] == [counted.id]
        assert (
            await rejections(jetstream)
            == [("ips.hours.rejected.smhc", "unreadable", "invalid_payload")] * 2
        )
        [letter] = await dead_letters(jetstream, "certification")
        assert (letter.data, letter.headers[DEAD_LETTER_ERROR]) == (
            NESTED_OBJECT,
            "invalid_payload",
        )


async def test_a_loop_that_dies_is_logged_started_again_and_keeps_order(
    jetstream: JetStreamContext,
    database_url: str,
    nats_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    restore_logging: None,
) -> None:
    configure_logging("notifications", "json")
    await provision_streams(jetstream)
    runtime = build_runtime(database_url, nats_url, Behaviour())
    [consumer] = runtime.consumers
    handle_batch, calls = consumer.handle_batch, 0

    async def defect_at_first_batch(messages: Sequence[Msg]) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise KeyError("a defect nothing below the loop catches")
        await handle_batch(messages)

    monkeypatch.setattr(consumer, "handle_batch", defect_at_first_batch)
    async with running(runtime):
        first = attendance("p-1", 1)
        await publish(jetstream, first)
        await eventually(lambda: len(effects(runtime)) == 1)
        later = attendance("p-1", 2)
        await publish(jetstream, later)
        await eventually(lambda: consumer_done(jetstream, 2))
        assert [effect.event_id for effect in effects(runtime)] == [first.id, later.id]
    lines = capsys.readouterr().err.splitlines()
    logged = [json.loads(line) for line in lines if line.startswith("{")]
    [died] = [line for line in logged if line["event"] == "consumer.loop_died"]
    assert (died["level"], died["consumer"], died["error"]) == ("error", CONSUMER, "KeyError")
    assert "defect_at_first_batch" in died["where"]


# -- /readyz tells the truth about consumers --------------------------------------------


async def test_readyz_says_when_a_consumer_loop_is_not_running(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> None:
    await provision_streams(jetstream)
    runtime = build_runtime(database_url, nats_url, Behaviour())
    async with serving(runtime) as client:
        assert await readyz(client) == (200, {"ready": True, "nats": True, "database": True})
        [loop] = [task for task in asyncio.all_tasks() if task.get_name() == f"pull:{CONSUMER}"]
        loop.cancel()
        await eventually(loop.done)
        status, body = await readyz(client)
        assert (status, body["ready"]) == (503, False)
        assert body["problems"] == [f"consumer {CONSUMER}: its loop is not running"]


async def test_a_deleted_durable_consumer_is_made_again(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> None:
    await provision_streams(jetstream)
    runtime = build_runtime(database_url, nats_url, Behaviour())
    async with serving(runtime) as client:
        before = [attendance("p-1", day) for day in (1, 2, 3)]
        for event in before:
            await publish(jetstream, event)
        await eventually(lambda: consumer_done(jetstream, 3))
        await jetstream.delete_consumer(streams.ENROLLMENT.name, CONSUMER)
        after = attendance("p-1", 4)
        await publish(jetstream, after)
        await eventually(lambda: len(effects(runtime)) == 4)
        await eventually(lambda: consumer_done(jetstream, 4))
        # Whatever it read again was applied once.
        assert [e.event_id for e in effects(runtime)] == [e.id for e in [*before, after]]
        assert (await readyz(client))[0] == 200


async def test_readyz_says_when_a_stream_is_gone_and_recovers_when_it_is_back(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> None:
    await provision_streams(jetstream)
    runtime = build_runtime(database_url, nats_url, Behaviour())
    async with serving(runtime) as client:
        await publish(jetstream, attendance("p-1", 1))
        await eventually(lambda: len(effects(runtime)) == 1)
        await jetstream.delete_stream(streams.ENROLLMENT.name)

        async def not_ready() -> bool:
            return (await readyz(client))[0] == 503

        await eventually(not_ready)
        _, body = await readyz(client)
        assert f"consumer {CONSUMER}: stream ENROLLMENT does not exist" in body["problems"]

        await provision_streams(jetstream)  # its owner declares it again
        again = attendance("p-2", 1)  # sequence 1 of the new stream

        async def published() -> bool:
            await publish(jetstream, again)
            return True

        await eventually(published)
        await eventually(lambda: len(effects(runtime)) == 2, timeout=30)
        assert effects(runtime)[-1].event_id == again.id
        assert (await readyz(client))[0] == 200


# -- per-key order across a crash --------------------------------------------------------


class DiesWhileApplying(Behaviour):
    """A process that is killed while it applies `victim`: nothing it does after the kill
    reaches NATS or its database."""

    def __init__(self, victim: str) -> None:
        super().__init__()
        self.victim = victim
        self.applying = threading.Event()
        self.killed = threading.Event()

    def apply(self, events: Sequence[CloudEvent[Any]], uow: UnitOfWork) -> list[CloudEvent[Any]]:
        if self.killed.is_set():
            raise RuntimeError("the process is dead")
        if any(event.id == self.victim for event in events):
            self.applying.set()
            self.killed.wait(timeout=30)
            raise RuntimeError("the process is dead")  # its transaction never commits
        return super().apply(events, uow)


async def test_per_person_order_holds_across_a_crash(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> None:
    await provision_streams(jetstream)
    earlier, later = attendance("p-1", 1), attendance("p-1", 2)
    first_life = DiesWhileApplying(victim=earlier.id)
    crashed = build_runtime(database_url, nats_url, first_life)
    await crashed.start()
    await publish(jetstream, earlier)
    assert await asyncio.to_thread(first_life.applying.wait, 15)
    await crashed.broker.connection.close()  # the kill: no ack, no drain
    first_life.killed.set()
    await crashed.stop()
    info = await jetstream.consumer_info(streams.ENROLLMENT.name, CONSUMER)
    assert info.num_ack_pending == 1  # `earlier` waits for its ack wait (60 s) to end

    await publish(jetstream, later)
    restarted = build_runtime(database_url, nats_url, Behaviour())
    async with running(restarted):
        await eventually(lambda: len(effects(restarted)) >= 1)
        assert effects(restarted)[0].event_id == earlier.id
        await eventually(lambda: consumer_done(jetstream, 2))
        assert [effect.event_id for effect in effects(restarted)] == [earlier.id, later.id]
