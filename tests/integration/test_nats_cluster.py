"""Enrollment and notifications with production's NATS: a three-node JetStream cluster
(`sync_interval: always`, every stream in three copies, each party its own identity) and
PostgreSQL. People apply over HTTP; midway, the node leading the ENROLLMENT stream is
killed (`kill -9`); the flow goes on through the other two, and nothing is lost or doubled:
every event is in the stream once, and every peer gets each message once."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from nats.js import JetStreamContext

from ips_enrollment.bootstrap import bootstrap as enrollment_bootstrap
from ips_enrollment.db import tables as enrollment_tables
from ips_enrollment.settings import EnrollmentSettings
from ips_notifications.bootstrap import bootstrap as notifications_bootstrap
from ips_notifications.db import tables as notifications_tables
from ips_notifications.settings import NotificationsSettings
from ips_shared.contracts import streams
from ips_shared.messaging.streams import declare_streams

from .enrollment_flow import TOKENS, Enrollment
from .harness import eventually, migrate_service, rows
from .nats_cluster import NatsCluster

PEOPLE = 16
REPLICAS = 3


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[NatsCluster]:
    nodes = await asyncio.to_thread(NatsCluster.start, tmp_path / "cluster")
    try:
        admin = await nats.connect(
            nodes.url.split(","), **nodes.access.credentials("admin").connect_options()
        )
        try:
            await _retry(lambda: declare_streams(admin.jetstream(), streams.ALL, REPLICAS))
        finally:
            await admin.close()
        yield nodes
    finally:
        nodes.stop()


async def _retry(attempt: Callable[[], Any], times: int = 50) -> None:
    """A cluster just formed may not have placed its JetStream assets yet."""
    for left in range(times, 0, -1):
        try:
            await attempt()
            return
        except nats.errors.Error:
            if left == 1:
                raise
            await asyncio.sleep(0.3)


@asynccontextmanager
async def services(
    cluster: NatsCluster, new_database: Callable[[], str], mail_sink: Any
) -> AsyncIterator[Enrollment]:
    common = {
        "nats_url": cluster.url,
        "relay_poll_seconds": 0.05,
        "consumer_backoff_seconds": (0.2,),
        "stream_replicas": REPLICAS,
    }
    enrollment_db, notifications_db = new_database(), new_database()
    migrate_service(enrollment_db, enrollment_tables)
    migrate_service(notifications_db, notifications_tables)
    enrollment = enrollment_bootstrap(
        EnrollmentSettings(
            database_url=enrollment_db,
            api_tokens=TOKENS,
            nats_credentials=cluster.access.credentials_file("service/enrollment"),
            **common,
        )
    ).http_app()
    notifications = notifications_bootstrap(
        NotificationsSettings(
            database_url=notifications_db,
            nats_credentials=cluster.access.credentials_file("service/notifications"),
            smtp_host=mail_sink.host,
            smtp_port=mail_sink.port,
            delivery_poll_seconds=0.2,
            delivery_retry_seconds=(0.3,),
            **common,
        )
    ).http_app()
    async with AsyncExitStack() as stack:
        for app in (enrollment, notifications):
            await stack.enter_async_context(app.router.lifespan_context(app))
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(enrollment), base_url="http://e")
        )
        yield Enrollment(client)
    assert all(row.published_at for row in rows(enrollment_db, enrollment_tables.Outbox))


async def enrollment_events(js: JetStreamContext) -> Counter[str]:
    info = await js.stream_info(streams.ENROLLMENT.name)
    found: Counter[str] = Counter()
    for sequence in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg(streams.ENROLLMENT.name, sequence)
        envelope = json.loads(message.data)
        found[envelope["type"]] += 1
    return found


async def one_applies(enrollment: Enrollment, number: int) -> None:
    person = await enrollment.person(name=f"Clustered Peer {number}")
    await enrollment.ps101_done(person)
    await enrollment.apply(person)


@pytest.mark.parametrize("database_kind", ["postgresql"])
@pytest.mark.timeout(180)
async def test_the_flow_goes_on_when_a_node_of_three_is_killed_and_nothing_is_lost(
    cluster: NatsCluster, new_database: Callable[[], str], mail_sink: Any
) -> None:
    admin = await nats.connect(
        cluster.url.split(","), **cluster.access.credentials("admin").connect_options()
    )
    js = admin.jetstream()
    try:
        info = await js.stream_info(streams.ENROLLMENT.name)
        assert info.config.num_replicas == REPLICAS
        leader = info.cluster.leader if info.cluster else None
        assert leader and len(info.cluster.replicas or []) == REPLICAS - 1
        async with services(cluster, new_database, mail_sink) as enrollment:
            for number in range(PEOPLE // 2):
                await one_applies(enrollment, number)
            await eventually(lambda: len(mail_sink.messages()) >= PEOPLE, timeout=30)

            [killed] = [node for node in cluster.nodes if node.name == leader]
            killed.kill()  # the stream's leader, mid-flow

            for number in range(PEOPLE // 2, PEOPLE):
                await one_applies(enrollment, number)

            async def all_published() -> bool:
                events = await enrollment_events(js)
                return (
                    events["PeerSupport101Completed"] == PEOPLE
                    and events["ApplicationSubmitted"] == PEOPLE
                )

            await eventually(all_published, timeout=60)
            # Two messages to each peer: Peer Support 101 completed, application received.
            await eventually(lambda: len(mail_sink.messages()) >= 2 * PEOPLE, timeout=60)
            await asyncio.sleep(1.0)  # time for a second copy to show, were one sent
        events = await enrollment_events(js)
        after = await js.stream_info(streams.ENROLLMENT.name)
    finally:
        await admin.close()
    assert events["PeerSupport101Completed"] == PEOPLE  # once each: none lost, none doubled
    assert events["ApplicationSubmitted"] == PEOPLE
    assert after.cluster is not None and after.cluster.leader != leader  # a new leader took over
    received = Counter(str(message["Message-ID"]) for message in mail_sink.messages())
    assert len(received) == 2 * PEOPLE and set(received.values()) == {1}
