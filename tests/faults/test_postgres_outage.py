"""PostgreSQL out of reach for several seconds while partners report hours (certification
reaches it through a proxy the test cuts: every connection reset, new ones refused; the
server keeps running for everyone else). Nothing is acknowledged that was not committed,
and everything is applied once after recovery."""

from __future__ import annotations

import asyncio
import random
import time

import pytest
from nats.aio.client import Client
from sqlalchemy.engine import make_url

from .observe import Database, consumer_state, dead_letters, ledger_entries
from .processes import System
from .proxy import TcpProxy
from .scale import SIZES
from .scenario import (
    DRAIN_SECONDS,
    HOURS_CONSUMER,
    certification_knowing,
    consumers_quiet,
    hours_tally,
    pairs_out_of_order,
    totals_differing,
    trained_people,
)
from .traffic import PartnerTraffic, Publisher
from .verdict import Figures, drain

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.timeout(SIZES.test_timeout)]


def committed_effects(database: Database) -> set[str]:
    """Event ids whose effect is committed: a ledger entry or a refusal."""
    counted = {event_id for _, event_id in ledger_entries(database)}
    refused = {event_id for (event_id,) in database.rows("SELECT event_id FROM hours_rejection")}
    return counted | refused


async def test_a_database_outage_acknowledges_nothing_uncommitted_and_loses_nothing(
    postgresql_database_url: str,  # first: dropped after the service processes ended
    system: System,
    client: Client,
    rng: random.Random,
) -> None:
    began = time.monotonic()
    jetstream = client.jetstream()
    server = make_url(postgresql_database_url)
    proxy = TcpProxy(server.host or "127.0.0.1", server.port or 5432)
    proxy.start()
    try:
        people = trained_people()
        through_proxy = server.set(host="127.0.0.1", port=proxy.port)
        certification, _ = await certification_knowing(
            system, jetstream, through_proxy.render_as_string(hide_password=False), people
        )
        ledger = Database(postgresql_database_url)  # the test reads it directly
        traffic = PartnerTraffic(people, SIZES.hours_under_outages, rng)
        publisher = Publisher(jetstream)
        seconds = SIZES.postgres_outages * (SIZES.outage_seconds + 6.0)
        sending = asyncio.create_task(traffic.send(publisher, seconds=seconds))
        acknowledged_not_committed, readiness = 0, []
        for _ in range(SIZES.postgres_outages):
            await asyncio.sleep(rng.uniform(2.0, 4.0))
            proxy.cut()
            await asyncio.sleep(SIZES.outage_seconds / 2)
            # Nothing can commit now: whatever the consumer acknowledged must be in.
            floor = (await consumer_state(jetstream, *HOURS_CONSUMER)).ack_floor.stream_seq
            committed = await asyncio.to_thread(committed_effects, ledger)
            acknowledged_not_committed += sum(
                report.sequence is not None
                and report.sequence <= floor
                and report.event_id not in committed
                for report in traffic.reports
            )
            readiness.append(await certification.readiness())
            await asyncio.sleep(SIZES.outage_seconds / 2)
            proxy.restore()
        await sending

        tally, drained = await drain(
            lambda: hours_tally(jetstream, ledger, traffic),
            lambda: consumers_quiet(jetstream, [HOURS_CONSUMER]),
            DRAIN_SECONDS,
        )
        differing = await totals_differing(ledger, traffic)
        figures = Figures(
            "PostgreSQL outage",
            len(traffic.reports),
            tally,
            f"{proxy.cuts} x {SIZES.outage_seconds:.0f} s without the database",
            drained,
            began,
            {
                "acknowledged while not committed": acknowledged_not_committed,
                "/readyz during the outage": readiness,
                "pairs applied out of order": pairs_out_of_order(traffic, tally),
                "totals (person, category) differing": differing,
                "dead-lettered": len(await dead_letters(jetstream, "certification")),
                "service restarted": certification.starts - 1,
            },
        )
        figures.report()
        assert tally.clean and not differing and drained is not None, figures.line()
        assert not acknowledged_not_committed, figures.line()
        assert certification.alive and certification.starts == 1, figures.line()
    finally:
        proxy.stop()
