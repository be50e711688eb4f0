"""A handler slower than the consumer's ack wait for 1% of the reports: JetStream delivers
those batches again while they are still being applied, and still every report is counted
or answered exactly once.

The slowness is PostgreSQL's: a trigger the test adds to certification's database sleeps
on inserting a report whose note starts with `slow`. The ack wait is shortened on the
durable consumer in JetStream (an operator could do the same), since the service has no
setting for it and 60 s per slow report would not fit the run."""

from __future__ import annotations

import asyncio
import random
import time

import pytest
from nats.aio.client import Client

from .observe import consumer_state, dead_letters
from .processes import System
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

ACK_WAIT_SECONDS = 2.0
SLOW_SECONDS = 3.0
SLOW_INSERT = f"""
CREATE FUNCTION fault_slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_sleep({SLOW_SECONDS}); RETURN NEW; END $$;
CREATE TRIGGER fault_slow BEFORE INSERT ON hours_entry FOR EACH ROW
WHEN (NEW.note LIKE 'slow%') EXECUTE FUNCTION fault_slow_insert();
"""


async def test_a_handler_slower_than_the_ack_wait_still_applies_each_report_once(
    postgresql_database_url: str,  # first: dropped after the service processes ended
    system: System,
    client: Client,
    rng: random.Random,
) -> None:
    began = time.monotonic()
    jetstream = client.jetstream()
    people = trained_people()
    _, ledger = await certification_knowing(system, jetstream, postgresql_database_url, people)
    await asyncio.to_thread(ledger.execute, SLOW_INSERT)
    durable = await consumer_state(jetstream, *HOURS_CONSUMER)
    await jetstream.add_consumer("HOURS", durable.config.evolve(ack_wait=ACK_WAIT_SECONDS))
    shortened = await consumer_state(jetstream, *HOURS_CONSUMER)
    assert shortened.config.ack_wait == ACK_WAIT_SECONDS

    traffic = PartnerTraffic(people, SIZES.hours_with_slow_handler, rng, slow_share=0.01)
    publisher = Publisher(jetstream)
    await traffic.send(publisher, seconds=len(traffic.reports) / 60)
    tally, drained = await drain(
        lambda: hours_tally(jetstream, ledger, traffic),
        lambda: consumers_quiet(jetstream, [HOURS_CONSUMER]),
        DRAIN_SECONDS + 3 * len(traffic.slow) * SLOW_SECONDS,
    )
    differing = await totals_differing(ledger, traffic)
    state = await consumer_state(jetstream, *HOURS_CONSUMER)
    logged = await jetstream.stream_info("HOURS", subjects_filter="ips.hours.logged.>")
    redeliveries = state.delivered.consumer_seq - sum(logged.state.subjects.values())
    figures = Figures(
        "handler slower than the ack wait",
        len(traffic.reports),
        tally,
        f"{len(traffic.slow)} reports {SLOW_SECONDS:.0f} s slow to insert, "
        f"ack wait {ACK_WAIT_SECONDS:.0f} s",
        drained,
        began,
        {
            "deliveries again": redeliveries,
            "pairs applied out of order": pairs_out_of_order(traffic, tally),
            "totals (person, category) differing": differing,
            "dead-lettered": len(await dead_letters(jetstream, "certification")),
        },
    )
    figures.report()
    assert redeliveries > 0, f"nothing was delivered again: no fault injected. {figures.line()}"
    assert tally.clean and not differing and drained is not None, figures.line()
