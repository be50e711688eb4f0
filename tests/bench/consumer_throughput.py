"""Benchmark: how fast the shared batch consumer commits events, next to a bare nats-py
consumer of the same messages in the same run (compare ratios, not absolute numbers:
runs on this kind of machine vary 10-30%).

    make bench                       # SQLite, and PostgreSQL when POSTGRES_URL is set
    .venv/bin/python -m tests.bench.consumer_throughput --events 50000

Not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nats
import psycopg
from nats.js.api import AckPolicy, ConsumerConfig
from sqlalchemy import insert
from sqlalchemy.engine import make_url
from sqlmodel import Session, func, select

from embedded_nats import EmbeddedNats
from ips_shared.contracts import streams, subjects
from ips_shared.contracts.envelope import MSG_ID_HEADER, CloudEvent
from ips_shared.contracts.events import TrainingDayAttended
from ips_shared.messaging.unit_of_work import UnitOfWork

from ..integration.harness import (
    CONSUMER,
    Effect,
    Inbox,
    attendance,
    build_runtime,
    provision_enrollment_stream,
)


async def publish(js: nats.js.JetStreamContext, count: int) -> float:
    started = time.perf_counter()
    window: list[asyncio.Future[object]] = []
    for n in range(count):
        event = attendance(f"p-{n % 1000}", 1 + n % 8)
        window.append(
            await js.publish_async(
                event.nats_subject, event.to_json(), headers={MSG_ID_HEADER: event.id}
            )
        )
        if len(window) >= 2000:
            await asyncio.gather(*window)
            window.clear()
    await asyncio.gather(*window)
    return count / (time.perf_counter() - started)


async def bare_consumer(js: nats.js.JetStreamContext, count: int) -> float:
    """nats-py alone: fetch and ack, nothing else."""
    config = ConsumerConfig(
        durable_name="bench-bare", ack_policy=AckPolicy.EXPLICIT, max_ack_pending=20_000
    )
    await js.add_consumer(streams.ENROLLMENT.name, config=config)
    subscription = await js.pull_subscribe_bind("bench-bare", streams.ENROLLMENT.name)
    started, done = time.perf_counter(), 0
    while done < count:
        messages = await subscription.fetch(500, timeout=5)
        for message in messages:
            await message.ack()
        done += len(messages)
    return count / (time.perf_counter() - started)


def apply_set_based(uow: UnitOfWork, events: Sequence[CloudEvent[Any]]) -> None:
    """What a hot consumer does: one statement for the whole batch, no ORM objects."""
    uow.session.connection().execute(
        insert(Effect),
        [{"event_id": e.id, "person_id": e.data.person_id, "day": e.data.day} for e in events],
    )


def applied(runtime_engine: object) -> int:
    with Session(runtime_engine) as session:  # type: ignore[arg-type]
        return int(session.exec(select(func.count()).select_from(Inbox)).one())


async def service_consumer(database_url: str, nats_url: str, count: int, batch: int) -> float:
    runtime = build_runtime(database_url, nats_url, consumer_batch_size=batch)
    runtime.consume(
        CONSUMER,
        streams.ENROLLMENT,
        subjects.TRAINING_DAY_ATTENDED,
        [TrainingDayAttended],
        apply_set_based,
    )
    started = time.perf_counter()
    await runtime.start()
    try:
        while applied(runtime.engine) < count:
            await asyncio.sleep(0.05)
        return count / (time.perf_counter() - started)
    finally:
        await runtime.stop()


def fresh_postgres(server: str) -> tuple[str, str]:
    name = f"ips_bench_{uuid.uuid4().hex[:8]}"
    admin = make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return str(make_url(server).set(drivername="postgresql+psycopg", database=name)), name


def drop_postgres(server: str, name: str) -> None:
    admin = make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def main(count: int, batch: int) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="ips-bench-"))
    server = EmbeddedNats(scratch / "nats")
    server.start()
    connection = await nats.connect(server.url)
    js = connection.jetstream()
    try:
        await provision_enrollment_stream(js)
        rows = [("publish (publish_async window)", await publish(js, count))]
        rows.append(
            ("bare nats-py pull consumer, fetch(500) + ack", await bare_consumer(js, count))
        )
        bare = rows[-1][1]
        databases = [("SQLite (WAL, synchronous=FULL)", f"sqlite:///{scratch / 'bench.db'}", None)]
        if postgres := os.environ.get("POSTGRES_URL"):
            url, name = fresh_postgres(postgres)
            databases.append(("PostgreSQL", url, name))
        for label, url, name in databases:
            with contextlib.suppress(nats.js.errors.NotFoundError):  # each run reads from the start
                await js.delete_consumer(streams.ENROLLMENT.name, CONSUMER)
            rate = await service_consumer(url, server.url, count, batch)
            rows.append((f"ips consumer, batch {batch}, {label}", rate))
            if name and postgres:
                drop_postgres(postgres, name)
        print(f"\n{count} TrainingDayAttended events, one run; ratios matter, not absolutes\n")
        print(f"{'path':<58} {'msgs/s':>9} {'vs bare':>8}")
        for label, rate in rows:
            print(f"{label:<58} {rate:>9,.0f} {rate / bare:>8.2f}")
    finally:
        await connection.close()
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=500)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.batch))
