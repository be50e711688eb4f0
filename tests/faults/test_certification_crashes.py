"""`kill -9` of certification at random moments while ten partners report hours, with
re-sends inside and after the broker's duplicate window: every report counted or answered
exactly once, the totals per person and category equal to what was sent, and the order
of each person's reports kept."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

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
    resends,
    totals_differing,
    trained_people,
)
from .traffic import PartnerTraffic, Publisher
from .verdict import Figures, drain

pytestmark = [pytest.mark.faults, pytest.mark.timeout(SIZES.test_timeout)]


async def test_kill_9_of_certification_loses_nothing_counts_once_and_keeps_order(
    system: System, client: Client, rng: random.Random, tmp_path: Path
) -> None:
    began = time.monotonic()
    jetstream = client.jetstream()
    people = trained_people()
    certification, ledger = await certification_knowing(
        system, jetstream, f"sqlite:///{tmp_path / 'certification.db'}", people
    )
    traffic = PartnerTraffic(people, SIZES.hours_under_kills, rng)
    publisher = Publisher(jetstream)
    sending = asyncio.create_task(traffic.send(publisher, seconds=SIZES.certification_kills * 5.0))
    in_flight: list[int] = []  # delivered and not acknowledged when the process died
    for _ in range(SIZES.certification_kills):
        await asyncio.sleep(rng.uniform(1.0, 4.0))
        certification.kill()
        in_flight.append((await consumer_state(jetstream, *HOURS_CONSUMER)).num_ack_pending)
        await asyncio.sleep(rng.uniform(0.0, 1.0))
        certification.start()
        await certification.ready()
    await sending

    tally, drained = await drain(
        lambda: hours_tally(jetstream, ledger, traffic),
        lambda: consumers_quiet(jetstream, [HOURS_CONSUMER]),
        DRAIN_SECONDS,
    )
    differing = await totals_differing(ledger, traffic)
    figures = Figures(
        "kill -9 certification",
        len(traffic.reports),
        tally,
        f"{len(in_flight)} x kill -9, with {in_flight} reports in flight",
        drained,
        began,
        {
            "pairs applied out of order": pairs_out_of_order(traffic, tally),
            "re-sent": resends(traffic, publisher),
            "totals (person, category) differing": differing,
            "dead-lettered": len(await dead_letters(jetstream, "certification")),
        },
    )
    figures.report()
    assert tally.clean and not differing and drained is not None, figures.line()
