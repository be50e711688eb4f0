"""The reminder scheduler: the calendar's entry point. Each pass makes due the reminders
whose date has come (read through the training days' index by reminder date), once each:
a pass after a restart finds them recorded. Woken when a schedule or a cohort changes,
otherwise every `poll_seconds`; its clock is injectable."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import structlog

from ips_shared.messaging.bus import MessageBus
from ips_shared.messaging.worker import Worker

from ..commands import ScheduleReminders

log = structlog.get_logger(__name__)


class ReminderScheduler(Worker):
    def __init__(self, *, poll_seconds: float, clock: Callable[[], datetime]) -> None:
        super().__init__("notifications-reminders", poll_seconds)
        self._clock = clock
        self._bus: MessageBus | None = None

    def drive(self, bus: MessageBus) -> None:
        self._bus = bus

    async def work(self) -> None:
        if self._bus is None:
            raise RuntimeError("the reminder scheduler has no bus: call drive(bus) first")
        added = await asyncio.to_thread(self._bus.handle, ScheduleReminders(now=self._clock()))
        if added:
            log.info("reminders.due", reminders=added)
