"""The certification scheduler: status follows the calendar as well as events.

Each person's standing names the next date on which time alone may change it (or today,
once new facts arrived); a pass reads only the rows whose date has come, through an index,
and advances them in one transaction with the events they emit. A pass after a restart
finds the standings already advanced, so nothing is emitted twice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog

from ips_shared.messaging.unit_of_work import UnitOfWork
from ips_shared.messaging.worker import Worker

from .service import CertificationService

log = structlog.get_logger(__name__)
BATCH = 50  # people per transaction: short, so the ledger's writes are not held up
SHARE = 0.25  # at most this share of the time goes to passes while hours keep arriving


class Scheduler(Worker):
    def __init__(
        self,
        service: CertificationService,
        unit_of_work: Callable[[], UnitOfWork],
        poll_seconds: float,
        settle_seconds: float,
    ) -> None:
        super().__init__("certification-scheduler", poll_seconds)
        self._settle_seconds = settle_seconds
        self._last_pass_seconds = 0.0
        self._service = service
        self._unit_of_work = unit_of_work
        service.wake_scheduler = self.wake

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
        with self._unit_of_work() as uow:
            people = self._service.due(uow, BATCH)
            try:
                self._service.bring_up_to_date(uow, people)
                uow.commit()
                return len(people)
            except Exception:
                log.exception("scheduler.batch_failed", people=len(people))
        for person_id in people:  # one by one: one person's failure holds back no one else
            with self._unit_of_work() as uow:
                try:
                    self._service.bring_up_to_date(uow, [person_id])
                    uow.commit()
                    continue
                except Exception:
                    log.exception("scheduler.person_failed", person_id=person_id)
            with self._unit_of_work() as uow:
                self._service.postpone(uow, person_id)
                uow.commit()
        return len(people)
