"""SIGTERM to certification under load, as a deployment stops a pod: it exits within the
shutdown timeout with what it had in flight applied and acknowledged (nothing left for the
server to redeliver), and nothing is applied twice after it starts again."""

from __future__ import annotations

import asyncio
import random
import signal
import time
from pathlib import Path

import pytest
from nats.aio.client import Client

from .observe import consumer_state, dead_letters
from .processes import SHUTDOWN_TIMEOUT_SECONDS, System
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

pytestmark = [pytest.mark.faults, pytest.mark.timeout(SIZES.test_timeout)]

# uvicorn ends by raising the signal again once it has shut down: -15 is a clean exit too.
CLEAN_EXITS = {"0", str(-signal.SIGTERM)}


async def test_sigterm_under_load_finishes_and_acknowledges_what_is_in_flight(
    system: System, client: Client, rng: random.Random, tmp_path: Path
) -> None:
    began = time.monotonic()
    jetstream = client.jetstream()
    people = trained_people()
    certification, ledger = await certification_knowing(
        system, jetstream, f"sqlite:///{tmp_path / 'certification.db'}", people
    )
    traffic = PartnerTraffic(people, SIZES.hours_under_sigterms, rng)
    publisher = Publisher(jetstream)
    sending = asyncio.create_task(traffic.send(publisher, seconds=SIZES.sigterms * 6.0))
    exits: list[str] = []
    left_unacknowledged: list[int] = []
    for _ in range(SIZES.sigterms):
        await asyncio.sleep(rng.uniform(1.5, 3.5))
        code, seconds = await certification.terminate()
        exits.append(f"{code} in {seconds:.1f} s")
        # The process is gone: whatever it was handed and did not acknowledge is pending.
        state = await consumer_state(jetstream, *HOURS_CONSUMER)
        left_unacknowledged.append(state.num_ack_pending)
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
        "SIGTERM under load",
        len(traffic.reports),
        tally,
        f"{SIZES.sigterms} x SIGTERM",
        drained,
        began,
        {
            "exit codes": exits,
            "left unacknowledged at each exit": left_unacknowledged,
            "pairs applied out of order": pairs_out_of_order(traffic, tally),
            "totals (person, category) differing": differing,
            "dead-lettered": len(await dead_letters(jetstream, "certification")),
        },
    )
    figures.report()
    assert tally.clean and not differing and drained is not None, figures.line()
    assert all(exit.split()[0] in CLEAN_EXITS for exit in exits), (
        f"not every exit was clean within {SHUTDOWN_TIMEOUT_SECONDS:.0f} s: {figures.line()}"
    )
    assert not any(left_unacknowledged), figures.line()
