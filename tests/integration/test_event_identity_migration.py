"""The migrations that key events by source and id keep what was handled before, on
SQLite and PostgreSQL, and can be undone."""

from __future__ import annotations

import importlib
from datetime import UTC, date, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from ips_shared.db import create_db_engine

AT = datetime(2026, 11, 30, 12, tzinfo=UTC)


def migrate_to(database_url: str, service: str, revision: str, *, down: bool = False) -> None:
    tables = importlib.import_module(f"ips_{service}.db.tables")
    config = Config()
    config.set_main_option("script_location", str(Path(tables.__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    (command.downgrade if down else command.upgrade)(config, revision)


def run(database_url: str, statement: str, **values: object) -> list[tuple[object, ...]]:
    engine = create_db_engine(database_url)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(statement), values)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def inbox(database_url: str, *columns: str) -> set[tuple[object, ...]]:
    return set(run(database_url, f"SELECT {', '.join(columns)} FROM inbox"))


def test_certification_keeps_what_was_counted_and_answered_and_forgets_refused_ids(
    database_url: str,
) -> None:
    migrate_to(database_url, "certification", "0002")
    run(
        database_url,
        "INSERT INTO participant VALUES ('p-1', :began, '2026-spring')",
        began=date(2026, 3, 10),
    )
    run(
        database_url,
        "INSERT INTO hours_entry (event_id, person_id, source, category, hours, activity_date,"
        " recorded_at, status_seen) VALUES ('e-1', 'p-1', 'partner/smhc', 'VOLUNTEER_SERVICE',"
        " 1.5, :day, :at, true)",
        day=date(2026, 11, 1),
        at=AT,
    )
    run(database_url, "INSERT INTO hours_void VALUES ('e-1', 'typo', 'Dana', :at)", at=AT)
    for consumer, event_id in (
        ("hours-logged", "e-1"),  # counted
        ("hours-logged", "e-early"),  # refused: the id was burned
        ("hours-logged", "refused:17"),  # an unreadable report, answered
        ("training-completed", "t-1"),
    ):
        run(database_url, "INSERT INTO inbox VALUES (:c, :e, :at)", c=consumer, e=event_id, at=AT)

    migrate_to(database_url, "certification", "head")
    upgraded = inbox(database_url, "consumer", "event_id", "source")
    assert upgraded == {
        ("hours-logged", "e-1", "partner/smhc"),
        ("hours-logged", "17", ""),
        ("training-completed", "t-1", "service/enrollment"),
    }
    voids = run(database_url, "SELECT entry_event_id, entry_source FROM hours_void")
    assert voids == [("e-1", "partner/smhc")]

    migrate_to(database_url, "certification", "0002", down=True)
    assert inbox(database_url, "consumer", "event_id") == {
        ("hours-logged", "e-1"),
        ("hours-logged", "refused:17"),
        ("training-completed", "t-1"),
    }
    assert run(database_url, "SELECT entry_event_id FROM hours_void") == [("e-1",)]
    migrate_to(database_url, "certification", "head")
    assert inbox(database_url, "consumer", "event_id", "source") == upgraded


def test_notifications_keeps_the_applications_it_confirmed(database_url: str) -> None:
    migrate_to(database_url, "notifications", "0001")
    run(database_url, "INSERT INTO inbox VALUES ('application-submitted', 'a-1', :at)", at=AT)
    migrate_to(database_url, "notifications", "head")
    assert inbox(database_url, "consumer", "event_id", "source") == {
        ("application-submitted", "a-1", "service/enrollment")
    }
