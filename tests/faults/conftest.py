"""Fixtures of the fault scenarios: a restartable nats-server, the service processes (all
killed at the end; their log tails printed when a scenario fails), a JetStream client
that rides out broker restarts, and a random source whose seed is printed."""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client

from .processes import Broker, System
from .scale import SIZES
from .verdict import RESULTS

FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None]:
    report = yield
    if report.failed:
        item.stash[FAILED] = True
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if RESULTS:
        terminalreporter.section(f"fault injection ({SIZES.name} size)")
        for line in RESULTS:
            terminalreporter.write_line(line)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    (tmp_path / "logs").mkdir()
    server = Broker(tmp_path / "nats", log_file=tmp_path / "logs" / "nats-server.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def system(broker: Broker, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[System]:
    processes = System(broker, tmp_path / "logs")
    try:
        yield processes
    finally:
        processes.stop()
        if request.node.stash.get(FAILED, False):
            print(f"\nlogs in {tmp_path / 'logs'}\n{processes.log_tails()}")


@pytest.fixture
async def client(broker: Broker) -> AsyncIterator[Client]:
    connection = await nats.connect(
        broker.url, max_reconnect_attempts=-1, reconnect_time_wait=0.25, connect_timeout=2
    )
    yield connection
    await connection.close()


@pytest.fixture
def rng() -> random.Random:
    seed = int(os.environ.get("FAULTS_SEED") or random.SystemRandom().randrange(2**32))
    print(f"FAULTS_SEED={seed}")
    return random.Random(seed)
