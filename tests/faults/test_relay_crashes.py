"""`kill -9` of enrollment between its outbox relay publishing rows and marking them
published: each kill lands the moment the broker receives one of the relay's messages.
Every event reaches its stream once, and has one effect downstream."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from .observe import Database, stream_messages
from .processes import ServiceProcess, System
from .scale import SIZES
from .scenario import DRAIN_SECONDS, ROSTER_EVENTS, TRAINING_CONSUMER, consumers_quiet, roster_tally
from .traffic import roster_csv
from .verdict import Figures, Tally, drain

pytestmark = [pytest.mark.faults, pytest.mark.timeout(SIZES.test_timeout)]


class KillOnPublish:
    """Watches what enrollment publishes (a plain subscription sees each message as the
    broker receives it) and kills the service at the chosen message: after the relay
    published and before it could mark the row."""

    def __init__(self, enrollment: ServiceProcess) -> None:
        self.enrollment = enrollment
        self.seen: Counter[str] = Counter()  # event id -> times published (re-publishes too)
        self.killed = asyncio.Event()
        self._countdown = 0

    def arm(self, after_messages: int) -> None:
        self.killed.clear()
        self._countdown = after_messages

    async def on_message(self, message: Msg) -> None:
        self.seen[json.loads(message.data)["id"]] += 1
        if self._countdown:
            self._countdown -= 1
            if not self._countdown:
                os.kill(self.enrollment.pid, signal.SIGKILL)
                self.killed.set()


async def test_kill_9_of_the_outbox_relay_publishes_every_event_once(
    system: System, client: Client, rng: random.Random, tmp_path: Path
) -> None:
    began = time.monotonic()
    jetstream = client.jetstream()
    outbox = Database(f"sqlite:///{tmp_path / 'enrollment.db'}")
    downstream = Database(f"sqlite:///{tmp_path / 'certification.db'}")
    enrollment = system.service("enrollment", f"sqlite:///{tmp_path / 'enrollment.db'}")
    certification = system.service("certification", f"sqlite:///{tmp_path / 'certification.db'}")
    await system.migrate([enrollment, certification])
    await system.start([enrollment, certification])
    watcher = KillOnPublish(enrollment)
    await client.subscribe("ips.enrollment.>", cb=watcher.on_message)

    people: list[str] = []
    kills, in_window = 0, []
    for cycle in range(SIZES.relay_kills):
        chunk = [f"fr{cycle:02d}-{n:04d}" for n in range(SIZES.roster_rows_per_kill)]
        people += chunk
        roster = tmp_path / f"roster-{cycle}.csv"
        roster.write_text(roster_csv(chunk))
        watcher.arm(after_messages=rng.randint(1, len(chunk)))
        importing = enrollment.run_in_background("import-roster", str(roster))
        await asyncio.wait_for(watcher.killed.wait(), timeout=120)
        enrollment.process.wait()  # type: ignore[union-attr]
        kills += 1
        unmarked = await asyncio.to_thread(
            outbox.rows, "SELECT event_id FROM outbox WHERE published_at IS NULL"
        )
        # Published (the broker has them) but not marked: the kill fell in the window.
        in_window.append(sum(event_id in watcher.seen for (event_id,) in unmarked))
        enrollment.start()
        await enrollment.ready()
        assert await asyncio.to_thread(importing.wait) == 0, enrollment.log_tail()

    async def check() -> Tally:
        return await roster_tally(jetstream, downstream, people)

    async def quiet() -> bool:
        unpublished = await asyncio.to_thread(
            outbox.count, "SELECT count(*) FROM outbox WHERE published_at IS NULL"
        )
        return not unpublished and await consumers_quiet(jetstream, [TRAINING_CONSUMER])

    tally, drained = await drain(check, quiet, DRAIN_SECONDS)
    outbox_rows = await asyncio.to_thread(outbox.rows, "SELECT event_id FROM outbox")
    # The roster's events, and each new person's contact details (their own stream).
    in_stream = Counter[str]()
    for stream, subjects in (("ENROLLMENT", "ips.enrollment.>"), ("CONTACTS", "ips.contacts.>")):
        in_stream.update(
            message.envelope()["id"]
            for message in await stream_messages(jetstream, stream, subjects)
        )
    not_once = [event_id for (event_id,) in outbox_rows if in_stream[event_id] != 1]
    republished = sum(times > 1 for times in watcher.seen.values())
    figures = Figures(
        "kill -9 outbox relay",
        len(people) * len(ROSTER_EVENTS),
        tally,
        f"{kills} x kill -9 on a publish, {sum(n > 0 for n in in_window)} of them with rows "
        f"published and not yet marked ({in_window})",
        drained,
        began,
        {
            "outbox rows not in the stream exactly once": len(not_once),
            "rows published again after a kill": republished,
        },
    )
    figures.report()
    assert tally.clean and not not_once and drained is not None, figures.line()
