"""Benchmark: one day's due work for the two schedulers, certification's standings
(`AdvanceDueStandings` through `Scheduler.run_pass`) and notifications' reminders
(`ReminderScheduler.work`, the `ScheduleReminders` pass), with many people whose dates
spread over three years (issue 15, run 6), on SQLite and (with POSTGRES_URL) PostgreSQL.

    .venv/bin/python -m tests.bench.scheduler_due [--people 100000 10000] [--rounds 3]
    .venv/bin/python -m tests.bench.scheduler_due --schedulers notifications --write

Each database is migrated and seeded with bulk SQL; then the real service is built by its
bootstrap on a clock the benchmark turns, runs yesterday's pass (warming it up, as it is
in service), and then today's (2027-06-15, noon in the program's zone), which is
measured, and a second one the same day. The timed passes run in `--rounds` rounds, each
on a fresh copy of the seeded database (the median is reported). The report gives, per
scheduler, database and size: the people due, the pass's wall time, and what it read.

Rows read: on PostgreSQL, the deltas of `pg_stat_user_tables` (seq_tup_read +
idx_tup_fetch, all tables) over the pass (each connection flushes its counters as it goes
back to the pool); the due query, as the repository builds it, is also run under
EXPLAIN (ANALYZE, BUFFERS) beforehand (rolled back). SQLite counts no rows: its
virtual-machine instructions over the same passes, on another copy (counting them slows
the work down), stand in, next to the due query's EXPLAIN QUERY PLAN.

Both sizes have the same share of people due (their dates spread the same way), so a
read of everyone grows with the size just as the due work does, and the reads per due
person come out equal at both sizes either way. What tells them apart: the reads per
due person in absolute terms (a handful of a person's own rows, against about people/due
for a scan), and, for the reminders, a pass on a day with nothing due, years of schedules
behind it (for certification, the second pass the same day), which must read next to
nothing at either size. Not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import structlog
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session, func, select

from ips_certification.bootstrap import bootstrap as certification_bootstrap
from ips_certification.db import standings
from ips_certification.db import tables as certification_tables
from ips_certification.db.tables import HoursEntry, Participant, StandingRow
from ips_certification.entrypoints.scheduler import BATCH
from ips_certification.settings import CertificationSettings
from ips_notifications.bootstrap import bootstrap as notifications_bootstrap
from ips_notifications.db import repository as notifications_repository
from ips_notifications.db import tables as notifications_tables
from ips_notifications.db.tables import CohortMember, DueNotification, Graduate, TrainingDay
from ips_notifications.domain.deadlines import DeadlineCalendar
from ips_notifications.domain.policy import DEFAULT_POLICY
from ips_notifications.settings import NotificationsSettings
from ips_shared.contracts.events import CertificationStatus, HoursCategory
from ips_shared.db import bulk_insert, create_db_engine

from ..integration.harness import migrate_service
from .results import Run, print_table, write

ZONE = ZoneInfo("America/New_York")  # both services' default zone
TODAY = date(2027, 6, 15)
NOW = datetime(2027, 6, 15, 12, 0, tzinfo=ZONE).astimezone(UTC)
# Reminders: past every training day seeded, and no application-deadline reminder current.
QUIET = datetime(2029, 6, 20, 12, 0, tzinfo=ZONE).astimezone(UTC)
SPAN = 3 * 365  # days the dates spread over
COHORT = 20  # people per training cohort
TRAINING_DAYS = 3  # per cohort, a week apart, at 09:00
APPLIED_EVERY = 10  # 1 in 10 graduates has not applied (the deadline reminders' people)
HOURS_EACH = 2  # ledger entries per person (what a due person's evaluation reads)
CHUNK = 20_000  # rows per bulk insert
SIZES = (100_000, 10_000)
PER_DUE_TARGET = 25.0  # rows (PostgreSQL) read per due person: a handful of their own


# -- seeding -----------------------------------------------------------------------------


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _fill(database_url: str, model: Any, rows: Iterator[dict[str, Any]]) -> None:
    engine = create_db_engine(database_url)
    try:
        with engine.begin() as connection:
            for chunk in _chunks(rows):
                bulk_insert(connection, model, chunk)
    finally:
        engine.dispose()


def _analyze(database_url: str) -> None:
    """The statistics autovacuum (or `ANALYZE` after a restore) would have gathered."""
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()


def seed_certification(database_url: str, people: int) -> None:
    """Records that began on every day of the three years before, each person's next
    check on one of 1,095 days from yesterday on (so about people/1,095 come due on any
    day: yesterday's pass warms the service up, today's is measured), standings as last
    evaluated the day before yesterday (with no hours to speak of, everyone is still
    `trained`), and two ledger entries each, already seen."""
    migrate_service(database_url, certification_tables)
    yesterday = TODAY - timedelta(days=1)
    recorded = NOW - timedelta(days=30)

    def began(n: int) -> date:
        return yesterday - timedelta(days=(n * 389) % SPAN)  # 389: spread, not in id order

    _fill(
        database_url,
        Participant,
        (
            {"person_id": f"p-{n}", "record_began_on": began(n), "cohort_id": "2025-fall"}
            for n in range(people)
        ),
    )
    _fill(
        database_url,
        StandingRow,
        (
            {
                "person_id": f"p-{n}",
                "status": CertificationStatus.TRAINED,
                "evaluated_on": yesterday - timedelta(days=1),
                "next_check_on": yesterday + timedelta(days=n % SPAN),
                "hours_matter": began(n) <= TODAY - timedelta(days=365),
                "unmet": True,
            }
            for n in range(people)
        ),
    )
    _fill(
        database_url,
        HoursEntry,
        (
            {
                "event_id": f"e-{n}-{k}",
                "person_id": f"p-{n}",
                "source": "partner/smhc",
                "category": HoursCategory.VOLUNTEER_SERVICE,
                "hours": Decimal("1.50"),
                "activity_date": began(n) + timedelta(days=k),
                "recorded_at": recorded,
                "status_seen": True,
            }
            for n in range(people)
            for k in range(HOURS_EACH)
        ),
    )
    _analyze(database_url)


def seed_notifications(database_url: str, people: int) -> None:
    """Everyone in a cohort of 20; the cohorts' three training days (a week apart) spread
    over the three years around today (two past, one ahead), so about 3 x people/1,095 are
    reminded on any day; everyone a graduate of Peer Support 101 completed on some day of
    the last three years, 1 in 10 not applied yet. The application-deadline reminder
    current today, if any, was made due by an earlier pass."""
    migrate_service(database_url, notifications_tables)
    cohorts = math.ceil(people / COHORT)
    first = TODAY - timedelta(days=2 * 365)
    scheduled = NOW - timedelta(days=900)

    def days() -> Iterator[dict[str, Any]]:
        for c in range(cohorts):
            opening = first + timedelta(days=c * SPAN // cohorts)
            for d in range(TRAINING_DAYS):
                local = opening + timedelta(days=7 * d)
                yield {
                    "cohort_id": f"c-{c}",
                    "day": d + 1,
                    "starts_at": datetime(local.year, local.month, local.day, 9, tzinfo=ZONE),
                    "place": "Augusta Peer Center",
                    "remind_on": local - timedelta(days=1),
                    "scheduled_at": scheduled,
                    "event_id": f"schedule-{c}",
                    "correlation_id": f"schedule-{c}",
                }

    _fill(database_url, TrainingDay, days())
    _fill(
        database_url,
        CohortMember,
        (
            {"application_id": f"a-{n}", "person_id": f"p-{n}", "cohort_id": f"c-{n // COHORT}"}
            for n in range(people)
        ),
    )
    _fill(
        database_url,
        Graduate,
        (
            {
                "person_id": f"p-{n}",
                "completed_on": TODAY - timedelta(days=1 + (n * 389) % SPAN),
                "applied": n % APPLIED_EVERY != 0,
                "event_id": f"completed-{n}",
                "correlation_id": f"completed-{n}",
            }
            for n in range(people)
        ),
    )
    current = DeadlineCalendar.from_policy(DEFAULT_POLICY).current(NOW)
    if current is not None:
        engine = create_db_engine(database_url)
        with Session(engine) as session:
            notifications_repository.add_deadline_reminders(session, current.occasion, [], NOW)
            session.commit()
        engine.dispose()
    _analyze(database_url)


# -- measuring ---------------------------------------------------------------------------


@dataclass
class Reads:
    """What a pass read: PostgreSQL's row counters, SQLite's VM instructions."""

    rows: int | None = None
    per_table: dict[str, int] = field(default_factory=dict)
    vm_steps: int | None = None


@dataclass
class Pass:
    due: int
    seconds: float
    reads: Reads
    rounds: list[float] = field(default_factory=list)  # each round's seconds


@dataclass
class Measured:
    scheduler: str
    database: str
    people: int
    first: Pass
    again: Pass  # a second pass the same day: nothing new due
    quiet: Pass | None  # a pass on a day with nothing due, years of dates behind it
    plans: dict[str, list[str]]
    seed_seconds: float


def _pg_admin(server: str) -> str:
    return make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_stats(database_url: str) -> dict[str, int]:
    """Rows read so far, per table: by sequential scans, and fetched through indexes."""
    admin = make_url(database_url).set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as c:
        c.execute("SELECT pg_stat_clear_snapshot()")
        rows = c.execute(
            "SELECT relname, coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)"
            " FROM pg_stat_user_tables"
        ).fetchall()
    return {name: int(read) for name, read in rows}


def _settled_pg_stats(database_url: str) -> dict[str, int]:
    """After every backend that read has gone (their counters are flushed as they exit)."""
    time.sleep(0.3)
    before = _pg_stats(database_url)
    for _ in range(20):
        time.sleep(0.2)
        now = _pg_stats(database_url)
        if now == before:
            return now
        before = now
    return before


class _VmSteps:
    """Counts SQLite's virtual-machine instructions on an engine's connections, through a
    progress handler called at every instruction (set at each checkout). It slows the
    work down: the pass it counts is another one than the pass timed, on a copy."""

    def __init__(self, engine: Engine) -> None:
        self.steps = 0
        self.counting = False

        def tick() -> int:
            if self.counting:
                self.steps += 1
            return 0

        @event.listens_for(engine, "checkout")
        def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
            if isinstance(dbapi_connection, sqlite3.Connection):
                dbapi_connection.set_progress_handler(tick, 1)


def _flush_stats_on_checkin(engine: Engine) -> None:
    """PostgreSQL: each connection back in the pool flushes the row counts it gathered
    (a backend otherwise keeps them up to 10 s), so that the counters, read between
    passes, hold each pass's reads and only them."""
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine, "checkin")
    def _flush(dbapi_connection: Any, _record: Any) -> None:
        if dbapi_connection is None:
            return
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_force_next_flush()")
        dbapi_connection.rollback()  # idle again: the backend flushes now


class Clock:
    """The service's clock, turned by the benchmark: yesterday's pass, then today's."""

    def __init__(self) -> None:
        self.now = NOW - timedelta(days=1)

    def __call__(self) -> datetime:
        return self.now


@contextmanager
def _copy(database_url: str) -> Iterator[str]:
    """A copy of the seeded database, dropped after: SQLite's online backup, or a
    PostgreSQL database made from the seeded one as its template (statistics included,
    the row counters starting at zero)."""
    url = make_url(database_url)
    name = f"{url.database}_{uuid.uuid4().hex[:6]}"
    if url.get_backend_name() == "sqlite":
        source = str(url.database)
        target = source.removesuffix(".db") + f"-{uuid.uuid4().hex[:6]}.db"
        with sqlite3.connect(source) as original, sqlite3.connect(target) as copy:
            original.backup(copy)
        try:
            yield f"sqlite:///{target}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(target + suffix).unlink(missing_ok=True)
        return
    admin = _pg_admin(database_url)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Built:
    """A service built on a database, warmed up by yesterday's pass: its engine, today's
    pass (returning the people due, or None: `count` finds them after), and for a
    scheduler that has one, how to turn its clock to a day with nothing due."""

    engine: Engine
    run: Callable[[], int | None]
    count: Callable[[], int] | None = None
    quiet: Callable[[], None] | None = None


Build = Callable[[str], Built]


def _passes(database_url: str, database: str, build: Build, rounds: int) -> list[Pass]:
    """Today's pass, a second one the same day, and (if the scheduler has one) a pass on
    a day with nothing due, on the service `build` makes, in `rounds` rounds each on a
    fresh copy of the seeded database: the median time, and the reads of the first round
    (the same in every round). On SQLite, the passes once more on a copy, counting VM
    steps (which slows them down)."""

    def passes(url: str, steps: Callable[[Engine], _VmSteps] | None) -> list[Pass]:
        built = build(url)
        counter = steps(built.engine) if steps else None
        found = [_measure_pass(url, built.engine, built.run, counter, built.count)]
        found.append(_measure_pass(url, built.engine, built.run, counter, built.count))
        if built.quiet is not None:
            built.quiet()
            found.append(_measure_pass(url, built.engine, built.run, counter, built.count))
        built.engine.dispose()
        return found

    measured: list[list[Pass]] = []
    for _ in range(rounds):
        with _copy(database_url) as url:
            measured.append(passes(url, None))
    kept = measured[0]
    for n, found in enumerate(kept):
        each = [m[n] for m in measured]
        found.seconds = median(p.seconds for p in each)
        found.rounds = [round(p.seconds, 4) for p in each]
        if {p.due for p in each} != {found.due}:
            raise RuntimeError(f"rounds found different people due: {[p.due for p in each]}")
    if database == "SQLite":
        with _copy(database_url) as url:
            for timed, counted in zip(kept, passes(url, _VmSteps), strict=True):
                timed.reads.vm_steps = counted.reads.vm_steps
                if counted.due != timed.due:
                    raise RuntimeError(f"the counted pass found {counted.due}, not {timed.due}")
    return kept


def _measure_pass(
    database_url: str,
    engine: Engine,
    run: Callable[[], int | None],
    steps: _VmSteps | None,
    count_after: Callable[[], int] | None = None,
) -> Pass:
    """Times `run` and counts what it read; the people due are what it returns, or what
    `count_after` finds (counted after the measure, so not in it)."""
    postgres = engine.dialect.name == "postgresql"
    before = _settled_pg_stats(database_url) if postgres else {}
    if steps is not None:
        steps.steps, steps.counting = 0, True
    began = time.perf_counter()
    due = run()
    seconds = time.perf_counter() - began
    reads = Reads()
    if steps is not None:
        steps.counting = False
        reads.vm_steps = steps.steps
    if postgres:
        after = _settled_pg_stats(database_url)
        delta = {t: after.get(t, 0) - before.get(t, 0) for t in after}
        reads.per_table = {t: n for t, n in sorted(delta.items()) if n}
        reads.rows = sum(delta.values())
    if count_after is not None:
        due = count_after()
    return Pass(due or 0, seconds, reads)


def _explain(
    database_url: str, queries: dict[str, Callable[[Session], object]]
) -> dict[str, list[str]]:
    """Each query as the service's repository builds and runs it (captured from a session
    whose transaction is rolled back), explained: PostgreSQL's EXPLAIN (ANALYZE, BUFFERS),
    SQLite's EXPLAIN QUERY PLAN."""
    engine = create_db_engine(database_url)
    plans: dict[str, list[str]] = {}
    try:
        captured: list[tuple[str, Any]] = []
        for name, query in queries.items():
            captured.clear()

            def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
                if statement.lstrip().upper().startswith("SELECT"):
                    captured.append((statement, parameters))

            event.listen(engine, "before_cursor_execute", capture)
            try:
                with Session(engine) as session:
                    query(session)
                    session.rollback()
            finally:
                event.remove(engine, "before_cursor_execute", capture)
            statement, parameters = captured[0]
            prefix = (
                "EXPLAIN (ANALYZE, BUFFERS) "
                if engine.dialect.name == "postgresql"
                else "EXPLAIN QUERY PLAN "
            )
            with engine.connect() as connection:
                result = connection.exec_driver_sql(prefix + statement, parameters)
                lines = [
                    str(row[0]) if engine.dialect.name == "postgresql" else str(row[-1])
                    for row in result
                ]
                connection.rollback()
            plans[name] = [" ".join(statement.split()), *lines]
    finally:
        engine.dispose()
    return plans


def _count(engine: Engine, model: Any) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def measure_certification(database_url: str, database: str, people: int, rounds: int) -> Measured:
    began = time.perf_counter()
    seed_certification(database_url, people)
    seeded = time.perf_counter() - began
    plans = _explain(database_url, {"due": lambda s: standings.due(s, TODAY, BATCH)})

    def build(url: str) -> Built:
        clock = Clock()
        service = certification_bootstrap(
            CertificationSettings(database_url=url, log_level="WARNING"), clock=clock
        )
        _flush_stats_on_checkin(service.runtime.engine)

        def one_day() -> int:
            # As `Scheduler.work` does, without its settling sleep: batch after batch.
            done = 0
            while (found := service.scheduler.run_pass()) == BATCH:
                done += found
            return done + found

        one_day()  # yesterday's pass: the service warmed up, as it is in service
        clock.now = NOW
        return Built(service.runtime.engine, one_day)

    first, again = _passes(database_url, database, build, rounds)
    return Measured("certification", database, people, first, again, None, plans, seeded)


def measure_notifications(database_url: str, database: str, people: int, rounds: int) -> Measured:
    began = time.perf_counter()
    seed_notifications(database_url, people)
    seeded = time.perf_counter() - began
    plans = _explain(
        database_url,
        {"training days": lambda s: notifications_repository.days_to_remind(s, TODAY, NOW)},
    )

    def build(url: str) -> Built:
        clock = Clock()
        service = notifications_bootstrap(
            NotificationsSettings(database_url=url, log_level="WARNING"), clock=clock
        )
        engine = service.runtime.engine
        _flush_stats_on_checkin(engine)

        def one_pass() -> None:
            # The scheduler's own pass (`ReminderScheduler.work`), on the service's clock.
            asyncio.run(service.reminders.work())

        one_pass()  # yesterday's pass: the service warmed up, as it is in service
        clock.now = NOW
        counted = [_count(engine, DueNotification)]

        def new_reminders() -> int:
            counted.append(_count(engine, DueNotification))
            return counted[-1] - counted[-2]

        def quiet() -> None:
            clock.now = QUIET

        return Built(engine, one_pass, new_reminders, quiet)

    first, again, quiet = _passes(database_url, database, build, rounds)
    return Measured("notifications", database, people, first, again, quiet, plans, seeded)


# -- the run -----------------------------------------------------------------------------


@dataclass
class Options:
    people: tuple[int, ...] = SIZES
    schedulers: tuple[str, ...] = ("certification", "notifications")
    rounds: int = 3
    postgres_url: str | None = field(default_factory=lambda: os.environ.get("POSTGRES_URL"))


def _databases(options: Options, folder: Path) -> Iterator[tuple[str, str, Callable[[], None]]]:
    """(label, url, drop) of a fresh database for each measure."""
    yield "SQLite", f"sqlite:///{folder / f'scheduler-{uuid.uuid4().hex[:8]}.db'}", lambda: None
    if options.postgres_url:
        server = options.postgres_url
        name = f"ips_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(_pg_admin(server), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')

        def drop() -> None:
            with psycopg.connect(_pg_admin(server), autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        url = make_url(server).set(drivername="postgresql+psycopg", database=name)
        yield "PostgreSQL", url.render_as_string(hide_password=False), drop


def measure_all(options: Options) -> list[Measured]:
    measures = {"certification": measure_certification, "notifications": measure_notifications}
    found: list[Measured] = []
    with tempfile.TemporaryDirectory(prefix="ips-bench-") as folder:
        for scheduler in options.schedulers:
            for people in options.people:
                for label, url, drop in _databases(options, Path(folder)):
                    try:
                        measured = measures[scheduler](url, label, people, options.rounds)
                    finally:
                        drop()
                    found.append(measured)
                    print(_line(measured), flush=True)
    return found


def _line(m: Measured) -> str:
    rows = m.first.reads.rows if m.first.reads.rows is not None else "-"
    steps = m.first.reads.vm_steps if m.first.reads.vm_steps is not None else "-"
    again = m.again.reads.rows if m.again.reads.rows is not None else m.again.reads.vm_steps
    quiet = ""
    if m.quiet is not None:
        read = m.quiet.reads.rows if m.quiet.reads.rows is not None else m.quiet.reads.vm_steps
        quiet = f"; a day with nothing due: {m.quiet.seconds:.3f} s, read {read}"
    return (
        f"{m.scheduler:<14} {m.database:<10} {m.people:>8,} people: {m.first.due:>5} due,"
        f" {m.first.seconds:7.3f} s, rows read {rows}, VM steps {steps};"
        f" again the same day: {m.again.seconds:.3f} s, read {again}{quiet}"
        f" (seeded in {m.seed_seconds:.0f} s)"
    )


def _per_due(value: float | None, due: int) -> float | None:
    return None if value is None or not due else value / due


def collect(options: Options | argparse.Namespace | Mapping[str, Any] | None = None) -> Run:
    """The run's figures. `options`: sizes (`people`), `schedulers`, `rounds` and
    `postgres_url`, as attributes or keys; what is missing takes its default (PostgreSQL
    from POSTGRES_URL)."""
    chosen = Options()
    if options is not None:
        given = options if isinstance(options, Mapping) else vars(options)
        chosen = Options(
            people=tuple(given.get("people") or chosen.people),
            schedulers=tuple(given.get("schedulers") or chosen.schedulers),
            rounds=int(given.get("rounds") or chosen.rounds),
            postgres_url=given.get("postgres_url", chosen.postgres_url),
        )
    found = measure_all(chosen)
    run = Run(6, "Schedulers: one day's due work, by people and by people due")
    run.details = {
        "today": TODAY.isoformat(),
        "now": NOW.isoformat(),
        "sizes": list(chosen.people),
        "spread_days": SPAN,
        "measures": [
            {
                "scheduler": m.scheduler,
                "database": m.database,
                "people": m.people,
                "seed_seconds": round(m.seed_seconds, 1),
                "first": {
                    "due": m.first.due,
                    "seconds": round(m.first.seconds, 4),
                    "rounds_seconds": m.first.rounds,
                    "rows_read": m.first.reads.rows,
                    "rows_read_per_table": m.first.reads.per_table,
                    "vm_steps": m.first.reads.vm_steps,
                },
                "again_same_day": {
                    "seconds": round(m.again.seconds, 4),
                    "rounds_seconds": m.again.rounds,
                    "rows_read": m.again.reads.rows,
                    "rows_read_per_table": m.again.reads.per_table,
                    "vm_steps": m.again.reads.vm_steps,
                },
                "day_with_nothing_due": None
                if m.quiet is None
                else {
                    "at": QUIET.isoformat(),
                    "due": m.quiet.due,
                    "seconds": round(m.quiet.seconds, 4),
                    "rounds_seconds": m.quiet.rounds,
                    "rows_read": m.quiet.reads.rows,
                    "rows_read_per_table": m.quiet.reads.per_table,
                    "vm_steps": m.quiet.reads.vm_steps,
                },
                "plans": m.plans,
            }
            for m in found
        ],
    }
    for m in found:
        where = f"{m.scheduler}, {m.database}, {m.people:,}"
        run.add(f"{where}: people due", m.first.due, "people")
        run.add(f"{where}: seconds", m.first.seconds, "s")
        if m.first.reads.rows is not None:
            run.add(f"{where}: rows read", m.first.reads.rows, "rows")
            per_due = _per_due(m.first.reads.rows, m.first.due)
            if per_due is not None:
                met = per_due <= PER_DUE_TARGET
                run.add(
                    f"{where}: rows read per due person",
                    per_due,
                    "rows",
                    f"<= {PER_DUE_TARGET:g}",
                    met,
                )
            run.add(
                f"{where}: rows read, 2nd pass same day",
                m.again.reads.rows or 0,
                "rows",
                f"<= {PER_DUE_TARGET:g} x due",
                (m.again.reads.rows or 0) <= PER_DUE_TARGET * max(m.first.due, 1),
            )
        if m.first.reads.vm_steps is not None:
            run.add(f"{where}: VM steps", m.first.reads.vm_steps, "steps")
            per_due = _per_due(m.first.reads.vm_steps, m.first.due)
            if per_due is not None:
                run.add(f"{where}: VM steps per due person", per_due, "steps")
            run.add(f"{where}: VM steps, 2nd pass same day", m.again.reads.vm_steps or 0, "steps")
        if m.quiet is not None:
            run.add(f"{where}: seconds, a day with nothing due", m.quiet.seconds, "s")
            if m.quiet.reads.rows is not None:
                run.add(
                    f"{where}: rows read, a day with nothing due",
                    m.quiet.reads.rows,
                    "rows",
                    f"<= {PER_DUE_TARGET:g}",
                    m.quiet.reads.rows <= PER_DUE_TARGET,
                )
            if m.quiet.reads.vm_steps is not None:
                run.add(
                    f"{where}: VM steps, a day with nothing due", m.quiet.reads.vm_steps, "steps"
                )
        plan = " | ".join(line for lines in m.plans.values() for line in lines[1:])
        if m.database == "SQLite":
            searched = "SEARCH" in plan and " SCAN " not in f" {plan} "
            run.add(
                f"{where}: due query plan searches an index", float(searched), "bool", "1", searched
            )
    # Proportionality: per person due, the same reads at both sizes, and no more time at
    # the larger one (less, rather: each pass and transaction has a fixed cost, spread
    # over more people). The same sizes' reads per due person cannot tell a read of
    # everyone apart (the share due is the same at both sizes): the absolute figures
    # above (rows read per due person) and the plans do.
    if len(chosen.people) >= 2:
        big, small = max(chosen.people), min(chosen.people)
        for scheduler in chosen.schedulers:
            for database in ("SQLite", "PostgreSQL"):
                pair = {
                    m.people: m
                    for m in found
                    if m.scheduler == scheduler and m.database == database
                }
                if big not in pair or small not in pair:
                    continue
                a, b = pair[big], pair[small]
                name = f"{scheduler}, {database}, {big // 1000}k vs {small // 1000}k"
                figures: tuple[tuple[str, Callable[[Pass], float | None], bool, bool], ...] = (
                    ("seconds per due person", lambda p: p.seconds, False, False),
                    ("rows read per due person", lambda p: p.reads.rows, False, True),
                    ("VM steps per due person", lambda p: p.reads.vm_steps, False, True),
                    ("2nd pass rows read per due person", lambda p: p.reads.rows, True, False),
                    ("2nd pass VM steps per due person", lambda p: p.reads.vm_steps, True, False),
                )
                for what, of in (
                    ("rows read, a day with nothing due", lambda p: p.reads.rows),
                    ("VM steps, a day with nothing due", lambda p: p.reads.vm_steps),
                ):
                    if a.quiet is None or b.quiet is None:
                        continue
                    x, y = of(a.quiet), of(b.quiet)
                    if x is None or y is None:
                        continue
                    # Nothing due at either size: reading everyone would grow with the size.
                    ratio = x / max(y, 1)
                    run.add(f"{name}: {what}", ratio, "ratio", "<= 2", ratio <= 2)
                for what, of, second, both_ways in figures:
                    x = _per_due(of(a.again if second else a.first), a.first.due)
                    y = _per_due(of(b.again if second else b.first), b.first.due)
                    if x is None or y is None:
                        continue
                    ratio = x / y if y else (1.0 if not x else math.inf)
                    if both_ways:
                        run.add(f"{name}: {what}", ratio, "ratio", "~ 1 (0.5-2)", 0.5 <= ratio <= 2)
                    else:
                        run.add(f"{name}: {what}", ratio, "ratio", "<= 2", ratio <= 2)
    return run


def main() -> None:
    # The services log each pass at INFO; only their warnings here.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--people", type=int, nargs="+", default=list(SIZES), help="sizes (two: compared)"
    )
    parser.add_argument(
        "--schedulers",
        nargs="+",
        choices=("certification", "notifications"),
        default=["certification", "notifications"],
    )
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (median)")
    parser.add_argument("--write", action="store_true", help="keep the run in bench/results")
    arguments = parser.parse_args()
    arguments.postgres_url = os.environ.get("POSTGRES_URL")
    run = collect(arguments)
    print_table([run])
    for measure in run.details["measures"]:  # type: ignore[attr-defined]
        for which in ("first", "again_same_day", "day_with_nothing_due"):
            if measure[which] and measure[which]["rows_read_per_table"]:
                print(
                    f"{measure['scheduler']}, {measure['database']}, {measure['people']:,},"
                    f" {which}: rows read by table {measure[which]['rows_read_per_table']}"
                )
        for name, lines in measure["plans"].items():
            print(f"\n{measure['scheduler']}, {measure['database']}, {measure['people']:,}: {name}")
            print("\n".join(f"    {line}" for line in lines))
    if arguments.write:
        print(f"\nwritten: {write([run], 'scheduler-due')}")


if __name__ == "__main__":
    main()
