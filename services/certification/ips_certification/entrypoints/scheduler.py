"""The certification scheduler: status follows the calendar as well as events.

Each person's standing names the next date on which time alone may change it (or today,
once new facts arrived); a pass reads only the rows whose date has come, through an index,
and advances them in one transaction with the events they emit. A pass after a restart
finds the standings already advanced, so nothing is emitted twice."""

from __future__ import annotations

import asyncio
import time

import structlog

from ips_shared.messaging.bus import MessageBus
from ips_shared.messaging.worker import Worker

from ..commands import AdvanceDueStandings, BringUpToDate, PostponeCheck
from ..handlers.standing import StandingsNotAdvanced

log = structlog.get_logger(__name__)
BATCH = 50  # people per transaction: short, so the ledger's writes are not held up
SHARE = 0.25  # at most this share of the time goes to passes while hours keep arriving


class Scheduler(Worker):
    """Woken by the ledger through `wake` (the bus's `wake_scheduler`), it drives the
    standing use cases through that same bus.

    The two need each other, so the bootstrap builds the scheduler first, then the bus
    with `wake_scheduler=scheduler.wake` (a `Worker`'s wake needs nothing but the running
    loop), then hands the bus over with `drive(bus)` before the service starts."""

    def __init__(self, poll_seconds: float, settle_seconds: float) -> None:
        super().__init__("certification-scheduler", poll_seconds)
        self._settle_seconds = settle_seconds
        self._last_pass_seconds = 0.0
        self._bus: MessageBus | None = None

    def drive(self, bus: MessageBus) -> None:
        self._bus = bus

    async def work(self) -> None:
        # Woken by new hours: let a burst of reports settle, then evaluate each person once
        # (and while a burst lasts, leave the ledger most of the time).
        rest = self._last_pass_seconds * (1 - SHARE) / SHARE
        await asyncio.sleep(max(self._settle_seconds, rest))
        started = time.monotonic()
        while await asyncio.to_thread(self.run_pass) == BATCH:
            await asyncio.sleep(0)  # between transactions, let the ledger's batches in
        self._last_pass_seconds = time.monotonic() - started

    def run_pass(self) -> int:
        """Advance up to one batch of due people; returns how many were due."""
        if self._bus is None:
            raise RuntimeError("the scheduler has no bus to drive: call drive(bus) first")
        try:
            return self._bus.handle(AdvanceDueStandings(limit=BATCH))
        except StandingsNotAdvanced as failed:
            log.exception("scheduler.batch_failed", people=len(failed.people))
            people = failed.people
        for person_id in people:  # one by one: one person's failure holds back no one else
            try:
                self._bus.handle(BringUpToDate(person_id))
                continue
            except Exception:
                log.exception("scheduler.person_failed", person_id=person_id)
            self._bus.handle(PostponeCheck(person_id))
        return len(people)
