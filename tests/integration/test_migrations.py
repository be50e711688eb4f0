"""Each service's migrations build exactly the schema its tables declare."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from ips_shared.db import create_db_engine, migrate

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
