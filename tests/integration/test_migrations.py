"""Each service's migrations build exactly the schema its tables declare."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from typer.testing import CliRunner

from ips_shared.db import create_db_engine, migrate, pending_migrations

SERVICES = ("enrollment", "certification", "notifications", "directory")


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_match_the_tables_and_run_twice(service: str, database_url: str) -> None:
    tables = importlib.import_module(f"ips_{service}.db.tables")
    migrations = Path(tables.__file__).parent / "migrations"
    migrate(database_url, migrations)
    migrate(database_url, migrations)  # idempotent: the runner and every deploy call it
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as connection:
            # What migrations make by hand beyond the tables (full-text search indexes).
            unmanaged = getattr(tables, "SEARCH_INDEX_NAMES", frozenset())
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "include_name": lambda name, _type, _parent: name not in unmanaged,
                },
            )
            assert compare_metadata(context, tables.metadata) == []
            # Alembic's comparison leaves primary keys out: compared here.
            found = inspect(connection)
            for table in tables.metadata.sorted_tables:
                key = found.get_pk_constraint(table.name)["constrained_columns"]
                assert key == [column.name for column in table.primary_key], table.name
    finally:
        engine.dispose()


def test_serve_waits_for_the_newest_migration_and_gives_up_naming_the_command(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deployment migrates in a Job of its own: `serve` started before it finished waits
    (`SCHEMA_WAIT_SECONDS`), and past that exits 2 saying what to run; nothing is served on
    an old schema."""
    tables = importlib.import_module("ips_directory.db.tables")
    migrations = Path(tables.__file__).parent / "migrations"
    assert pending_migrations(database_url, migrations)  # a new, empty database
    monkeypatch.setenv("DIRECTORY_DATABASE_URL", database_url)
    monkeypatch.setenv("DIRECTORY_SCHEMA_WAIT_SECONDS", "0")
    from ips_directory.entrypoints.cli import cli

    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert "run `ips-directory migrate`" in result.output
    migrate(database_url, migrations)
    assert not pending_migrations(database_url, migrations)
