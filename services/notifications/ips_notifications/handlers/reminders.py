"""The training reminders: who is in which cohort, each cohort's schedule, and the pass
that makes the reminders due whose date has come."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from zoneinfo import ZoneInfo

from ips_shared.contracts.envelope import CloudEvent
from ips_shared.contracts.events import CohortScheduled
from ips_shared.messaging.unit_of_work import UnitOfWork

from ..commands import ScheduleReminders
from ..db import repository
from ..domain.reminders import ScheduledDay, is_due, reminder


def apply_schedules(
    events: Sequence[CloudEvent[CohortScheduled]],
    uow: UnitOfWork,
    *,
    zone: ZoneInfo,
    wake_reminders: Callable[[], None],
) -> None:
    """Keep each cohort's latest schedule; the reminder scheduler looks again after commit
    (a day moved to tomorrow is reminded of at once)."""
    if any([repository.apply_schedule(uow.session, event, zone) for event in events]):
        uow.on_commit(wake_reminders)


def schedule_reminders(
    message: ScheduleReminders,
    uow: UnitOfWork,
    *,
    zone: ZoneInfo,
    wake_delivery: Callable[[], None],
) -> int:
    today = message.now.astimezone(zone).date()
    found = []
    for row, person_id in repository.days_to_remind(uow.session, today, message.now):
        day = ScheduledDay(row.cohort_id, row.day, row.starts_at, row.place)
        if is_due(day, message.now, zone):
            found.append((reminder(person_id, day, zone), row))
    added = repository.add_reminders(uow.session, found, message.now)
    if added:
        uow.on_commit(wake_delivery)
    return added
