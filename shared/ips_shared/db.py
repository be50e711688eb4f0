"""Database engines and migrations shared by the services (each service owns its database).

SQLite runs in WAL mode with `synchronous=FULL` (NORMAL may lose committed transactions
on power loss) and takes the write lock at BEGIN, so concurrent writers in one process
queue on `busy_timeout` instead of failing on a lock upgrade. Sessions are synchronous:
the async code hands a whole unit of work to a thread, one hop per batch, which the
measurements put well ahead of an async driver that hops once per statement.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from alembic import command
from alembic.config import Config
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    DateTime,
    Engine,
    String,
    any_,
    bindparam,
    create_engine,
    event,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, ExceptionContext, make_url
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session


class UTCDateTime(TypeDecorator[datetime]):
    """Stores instants in UTC and always returns aware datetimes, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: times must be time-zone aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """An engine whose errors carry no values: SQLAlchemy leaves the bound parameters out
    of its messages (`hide_parameters`), and PostgreSQL's own detail is dropped too
    (`_driver_errors_without_values`)."""
    parsed = make_url(url)
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "postgresql":
        # psycopg prepares a statement after a few runs, and PostgreSQL may then keep a
        # generic plan made while a table was nearly empty (a sequential scan of the inbox
        # for every id in a batch, say). Batch statements are few and large: plan each run.
        options = {"options": "-c plan_cache_mode=force_custom_plan"}
        engine = create_engine(url, pool_pre_ping=True, connect_args=options, **kwargs)
        event.listen(engine, "handle_error", _driver_errors_without_values)
        return engine
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kwargs)

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Batches of thousands of rows: a 16 MB page cache (the default is 2 MB) and a
        # checkpoint every ~40 MB of WAL instead of every 4 MB (fewer, larger fsyncs).
        cursor.execute("PRAGMA cache_size=-16000")
        cursor.execute("PRAGMA wal_autocheckpoint=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _driver_errors_without_values(context: ExceptionContext) -> None:
    original = context.original_exception
    if isinstance(original, psycopg.Error) and context.sqlalchemy_exception is not None:
        safe = _without_values(original)
        kind = f"{type(original).__module__}.{type(original).__name__}"
        context.sqlalchemy_exception.args = (f"({kind}) {safe}",)


def _without_values(error: psycopg.Error) -> str:
    """PostgreSQL's message for a failed statement goes on with lines that quote values
    (`DETAIL:  Key (name)=(...) already exists`, `Failing row contains (...)`, the row a
    COPY was at), which `hide_parameters` does not reach. Keep the first line, which names
    constraints, tables and columns; for a data exception (SQLSTATE class 22, where that
    line may quote the input: `invalid input syntax for type integer: "..."`) only its
    code. Changes the error's message in place, so a traceback of the chain shows no
    more, and returns it."""
    if not error.sqlstate:
        return str(error)  # not from the server (a connection failure, say): no values
    if error.sqlstate.startswith("22"):
        safe = f"data exception, SQLSTATE {error.sqlstate}"
    else:
        safe = error.diag.message_primary or f"SQLSTATE {error.sqlstate}"
    error.args = (safe,)
    return safe


def member_of(column: Any, values: Collection[Any], dialect: str) -> ColumnElement[bool]:
    """`column IN values`, as one parameter, so the statement text is the same for every
    batch and is prepared once, where a long IN list is new text (and parsing work) every
    time: `= ANY(array)` on PostgreSQL, `IN (SELECT value FROM json_each(?))` on SQLite."""
    if dialect == "postgresql":
        values_array = bindparam(None, list(values), type_=ARRAY(column.type))
        return column == any_(values_array)  # type: ignore[no-any-return]
    if dialect == "sqlite":
        process = _bind_processor(column.type, _SQLITE)
        stored = [process(value) for value in values] if process else list(values)
        members = bindparam(None, json.dumps(stored), type_=String())
        return column.in_(  # type: ignore[no-any-return]
            select(literal_column("value")).select_from(func.json_each(members))
        )
    return column.in_(values)  # type: ignore[no-any-return]


def bulk_insert(connection: Connection, model: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows in the current transaction: COPY on PostgreSQL (one stream, no
    statement per row), one prepared INSERT for all rows elsewhere. Values are converted
    by their column types, each distinct value once."""
    if not rows:
        return
    table = model.__table__
    names = list(rows[0])
    converters = [_bind_processor(table.c[name].type, connection.dialect) for name in names]
    converted = _converted(rows, names, converters)
    if connection.dialect.name != "postgresql":
        columns, marks = ", ".join(names), ", ".join("?" for _ in names)
        connection.exec_driver_sql(
            f"INSERT INTO {table.name} ({columns}) VALUES ({marks})", converted
        )
        return
    statement = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
    try:
        with (
            connection.connection.driver_connection.cursor() as cursor,
            cursor.copy(statement) as copy,
        ):
            for values in converted:
                copy.write_row(values)
    except psycopg.Error as error:
        # Past SQLAlchemy, so not seen by its error hook; its CONTEXT line quotes the row.
        _without_values(error)
        raise


def insert_new(
    session: Session, model: Any, rows: Sequence[Mapping[str, Any]], unique: Sequence[str]
) -> int:
    """Insert the rows whose `unique` columns hold no row yet, skipping the others (also
    one another transaction inserts at the same time: `ON CONFLICT DO NOTHING` on SQLite
    and PostgreSQL). Returns how many were inserted."""
    if not rows:
        return 0
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(model).on_conflict_do_nothing(index_elements=list(unique))
    inserted = 0
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        result = session.execute(statement.values(list(rows[start : start + _ROWS_PER_INSERT])))
        inserted += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return inserted


_ROWS_PER_INSERT = 500  # well under SQLite's limit on bound parameters


def _converted(
    rows: Sequence[Mapping[str, Any]], names: list[str], converters: list[Any]
) -> list[tuple[Any, ...]]:
    """Column by column (list comprehensions, not a Python loop per value), each distinct
    value converted once: a batch repeats its time, its dates and its amounts."""
    columns = []
    for name, convert in zip(names, converters, strict=True):
        values = [row[name] for row in rows]
        if convert is not None:
            try:
                stored = {value: convert(value) for value in set(values)}
                values = [stored[value] for value in values]
            except TypeError:  # unhashable values (JSON, say): each on its own
                values = [convert(value) for value in values]
        columns.append(values)
    return list(zip(*columns, strict=True))


def _bind_processor(column_type: Any, dialect: Any) -> Any:
    """What the driver is given for a value: the dialect's form of the type converts it."""
    return column_type.dialect_impl(dialect).bind_processor(dialect)


_SQLITE = sqlite.dialect()


def new_session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)


def migrate(url: str, migrations_dir: Path) -> None:
    """Bring the database at `url` to the newest revision (idempotent)."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")


def pending_migrations(url: str, migrations_dir: Path) -> bool:
    """Whether the database at `url` is behind the newest revision in `migrations_dir` (a
    deployment's migration Job has not run yet, or not finished)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory(str(migrations_dir)).get_heads())
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads()) != heads
    finally:
        engine.dispose()


def autogenerate_revision(migrations_dir: Path, message: str) -> None:
    """Write a migration for what the tables declare beyond the newest revision."""
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{scratch}/schema.db"
        migrate(url, migrations_dir)
        config = Config()
        config.set_main_option("script_location", str(migrations_dir))
        config.set_main_option("sqlalchemy.url", url)
        command.revision(config, message=message, autogenerate=True)


def run_migrations_env(target_metadata: Any, unmanaged: Collection[str] = ()) -> None:
    """The body of every service's Alembic `env.py` (online mode only). `unmanaged`: names
    of database objects the migrations make by hand that the tables do not describe (full-
    text search indexes): autogenerate leaves them alone."""
    from alembic import context

    engine = create_db_engine(context.config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # Replicas starting together migrate one at a time (released with the session).
            connection.execute(text("SELECT pg_advisory_lock(hashtext('alembic-migrate'))"))
            connection.commit()
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_name=lambda name, _type, _parent: name not in unmanaged,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
