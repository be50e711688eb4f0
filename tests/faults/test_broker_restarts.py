"""nats-server stopped and started again on the same store while partners report hours and
a roster import fills enrollment's outbox, once with `kill -9`: the services carry on by
themselves (neither is restarted), and everything is applied exactly once."""

from __future__ import annotations

import asyncio
import random
import subprocess
import time
from pathlib import Path

import pytest
from nats.aio.client import Client

from .observe import Database, eventually_count, stream_messages
from .processes import System
from .scale import SIZES
from .scenario import (
    DRAIN_SECONDS,
    HOURS_CONSUMER,
    TRAINING_CONSUMER,
    consumers_quiet,
    hours_tally,
    pairs_out_of_order,
    resends,
    roster_tally,
    totals_differing,
    trained_people,
)
from .traffic import PartnerTraffic, Publisher, roster_csv
from .verdict import Figures, Tally, drain

pytestmark = [pytest.mark.faults, pytest.mark.timeout(SIZES.test_timeout)]

UNPUBLISHED = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
OUTBOX_ROWS = "SELECT count(*) FROM outbox"
LONG_OUTAGE_SECONDS = 8.0


async def test_the_services_ride_out_broker_restarts_without_losing_or_repeating(
    system: System, client: Client, rng: random.Random, tmp_path: Path
) -> None:
    began = time.monotonic()
    jetstream = client.jetstream()
    enrollment_db = Database(f"sqlite:///{tmp_path / 'enrollment.db'}")
    certification_db = Database(f"sqlite:///{tmp_path / 'certification.db'}")
    enrollment = system.service("enrollment", f"sqlite:///{tmp_path / 'enrollment.db'}")
    certification = system.service("certification", f"sqlite:///{tmp_path / 'certification.db'}")
    await system.migrate([enrollment, certification])
    await system.start([enrollment, certification])
    people = trained_people()
    roster = tmp_path / "roster.csv"
    roster.write_text(roster_csv(people))
    await asyncio.to_thread(enrollment.run, "import-roster", str(roster))
    known = await eventually_count(
        certification_db, "SELECT count(*) FROM participant", len(people)
    )
    assert known == len(people), f"certification knows {known} of {len(people)} people"

    traffic = PartnerTraffic(people, SIZES.hours_under_nats_restarts, rng)
    publisher = Publisher(jetstream)
    sending = asyncio.create_task(traffic.send(publisher, seconds=SIZES.nats_restarts * 6.0))
    imports: list[subprocess.Popen[bytes]] = []
    arrivals: list[str] = []
    kill_at = rng.randrange(SIZES.nats_restarts)
    downtime = 0.0
    for restart in range(SIZES.nats_restarts):
        await asyncio.sleep(rng.uniform(2.0, 4.0))
        # New people while the broker is away: once the import is writing, enrollment's
        # outbox fills with events its relay cannot publish until the broker is back.
        chunk = [f"fn{restart:02d}-{n:04d}" for n in range(SIZES.roster_rows_per_kill)]
        arrivals += chunk
        (tmp_path / f"arrivals-{restart}.csv").write_text(roster_csv(chunk))
        written = await asyncio.to_thread(enrollment_db.count, OUTBOX_ROWS)
        imports.append(
            enrollment.run_in_background("import-roster", str(tmp_path / f"arrivals-{restart}.csv"))
        )
        await eventually_count(enrollment_db, OUTBOX_ROWS, written + 1)
        stopped = time.monotonic()
        if restart == kill_at:
            system.broker.kill()
        else:
            system.broker.stop()
        # nats-py holds publishes while it reconnects; one outage outlasts the relay's
        # publish timeout (5 s), so that its publishing fails and has to be retried.
        await asyncio.sleep(LONG_OUTAGE_SECONDS if restart == kill_at else rng.uniform(1.0, 3.0))
        await asyncio.to_thread(system.broker.start)
        downtime += time.monotonic() - stopped
    await sending
    for importing in imports:
        assert await asyncio.to_thread(importing.wait) == 0, enrollment.log_tail()

    async def check() -> Tally:
        return await hours_tally(jetstream, certification_db, traffic) + await roster_tally(
            jetstream, certification_db, people + arrivals
        )

    async def quiet() -> bool:
        for database in (enrollment_db, certification_db):
            if await asyncio.to_thread(database.count, UNPUBLISHED):
                return False
        return await consumers_quiet(jetstream, [HOURS_CONSUMER, TRAINING_CONSUMER])

    tally, drained = await drain(check, quiet, DRAIN_SECONDS)
    differing = await totals_differing(certification_db, traffic)
    restarted = {service.name: service.starts - 1 for service in (enrollment, certification)}
    running = enrollment.alive and certification.alive
    stored = {
        message.envelope()["id"]
        for message in await stream_messages(jetstream, "HOURS", "ips.hours.logged.>")
    }
    figures = Figures(
        "nats-server restarts",
        len(traffic.reports) + 2 * len(people + arrivals),
        tally,
        f"{SIZES.nats_restarts} restarts of nats-server (restart {kill_at + 1} by kill -9), "
        f"{downtime:.1f} s down in all",
        drained,
        began,
        {
            "acknowledged reports missing from the stream": sum(
                report.event_id not in stored for report in traffic.reports
            ),
            "publish retries": publisher.retries,
            "pairs applied out of order": pairs_out_of_order(traffic, tally),
            "re-sent": resends(traffic, publisher),
            "totals (person, category) differing": differing,
            "services restarted": restarted,
            "services running at the end": running,
        },
    )
    figures.report()
    assert tally.clean and not differing and drained is not None, figures.line()
    assert running and not any(restarted.values()), figures.line()
