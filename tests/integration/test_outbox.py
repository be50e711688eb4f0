"""The transactional outbox and its relay against a real nats-server."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import nats
from nats.js import JetStreamContext
from sqlmodel import Session, col, select

from embedded_nats import EmbeddedNats
from ips_shared.contracts import streams
from ips_shared.contracts.envelope import MSG_ID_HEADER
from ips_shared.messaging.relay import OutboxRelay
from ips_shared.runtime import ServiceRuntime

from .harness import (
    Outbox,
    attendance,
    build_runtime,
    eventually,
    provision_streams,
    running,
)


def emit_attendance(runtime: ServiceRuntime, count: int) -> list[str]:
    ids = []
    with runtime.unit_of_work() as uow:
        for day in range(1, count + 1):
            ids.append(uow.emit(attendance("p-1", 1 + (day - 1) % 8).data, partition_key="p-1").id)
        uow.commit()
    return ids


def outbox_rows(runtime: ServiceRuntime) -> list[Outbox]:
    with Session(runtime.engine) as session:
        return list(session.exec(select(Outbox).order_by(col(Outbox.position))))


async def stored_events(nats_url: str) -> list[tuple[str, str]]:
    """(Nats-Msg-Id, event id in the body) of every message in ENROLLMENT, in order."""
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream()
        info = await js.stream_info(streams.ENROLLMENT.name)
        messages = (
            [
                await js.get_msg(streams.ENROLLMENT.name, seq)
                for seq in range(info.state.first_seq, info.state.last_seq + 1)
            ]
            if info.state.messages
            else []
        )
        return [(m.headers[MSG_ID_HEADER], _event_id(m.data)) for m in messages]
    finally:
        await connection.close()


def _event_id(body: bytes) -> str:
    import json

    return str(json.loads(body)["id"])


async def test_events_written_while_nats_is_down_are_published_once_it_returns(
    restartable_nats: EmbeddedNats, database_url: str
) -> None:
    connection = await nats.connect(restartable_nats.url)
    await provision_streams(connection.jetstream())
    await connection.close()
    runtime = build_runtime(database_url, restartable_nats.url)
    async with running(runtime):
        restartable_nats.stop()
        ids = emit_attendance(runtime, 5)  # the state change commits without NATS
        await eventually(lambda: not runtime.relay.healthy)
        assert (await runtime.readiness())["nats"] is False
        assert [row.published_at for row in outbox_rows(runtime)] == [None] * 5

        restartable_nats.start()
        await eventually(lambda: all(row.published_at for row in outbox_rows(runtime)), timeout=30)
        assert await stored_events(restartable_nats.url) == [(i, i) for i in ids]
        await eventually(lambda: runtime.relay.healthy)


class CountingJetStream:
    """Counts publish calls per message id: a row published twice shows here even though
    the server's duplicate window would hide it in the stream."""

    def __init__(self, jetstream: JetStreamContext) -> None:
        self._jetstream = jetstream
        self.calls: Counter[str] = Counter()

    async def publish(self, subject: str, payload: bytes, **options: Any) -> Any:
        self.calls[options["headers"][MSG_ID_HEADER]] += 1
        await asyncio.sleep(0.002)  # hold the claim a moment, as a real round trip does
        return await self._jetstream.publish(subject, payload, **options)


async def test_concurrent_relays_on_postgresql_publish_each_row_once(
    jetstream: JetStreamContext, postgresql_database_url: str, nats_url: str
) -> None:
    """SQLite allows one writer, so there one relay per database is the design."""
    database_url = postgresql_database_url
    await provision_streams(jetstream)
    runtime = build_runtime(database_url, nats_url)
    ids = emit_attendance(runtime, 300)
    counting = CountingJetStream(jetstream)
    relays = [
        OutboxRelay(
            build_runtime(database_url, nats_url).engine, Outbox, lambda: counting, batch_size=40
        )
        for _ in range(3)
    ]
    await asyncio.gather(*(relay.publish_pending() for relay in relays))
    assert sorted(counting.calls) == sorted(ids)
    assert set(counting.calls.values()) == {1}
    assert all(row.published_at for row in outbox_rows(runtime))
