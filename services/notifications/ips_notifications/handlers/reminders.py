"""The reminders: each cohort's schedule, and the pass that makes due the reminders whose
date has come (the day before each training day; an intake's application deadline
coming)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from ips_shared.contracts.envelope import CloudEvent
from ips_shared.contracts.events import CohortScheduled
from ips_shared.messaging.unit_of_work import UnitOfWork

from ..commands import ScheduleReminders
from ..db import repository
from ..domain.deadlines import DeadlineCalendar
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
    deadlines: DeadlineCalendar,
    wake_delivery: Callable[[], None],
) -> int:
    """Training reminders whose day has come, and the current application-deadline
    reminder if it has not been made due yet. Returns how many are new."""
    added = _training_reminders(uow, message.now, zone) + _deadline_reminders(
        uow, message.now, deadlines
    )
    if added:
        uow.on_commit(wake_delivery)
    return added


def _training_reminders(uow: UnitOfWork, now: datetime, zone: ZoneInfo) -> int:
    today = now.astimezone(zone).date()
    found = []
    for row, person_id in repository.days_to_remind(uow.session, today, now):
        day = ScheduledDay(row.cohort_id, row.day, row.starts_at, row.place)
        if is_due(day, now, zone):
            found.append((reminder(person_id, day, zone), row))
    return repository.add_reminders(uow.session, found, now)


def _deadline_reminders(uow: UnitOfWork, now: datetime, deadlines: DeadlineCalendar) -> int:
    current = deadlines.current(now)
    if current is None or repository.deadline_reminder_done(uow.session, current.occasion):
        return 0
    today = deadlines.today(now)
    found = [
        (current.notice(graduate.person_id, today), graduate)
        for graduate in repository.graduates_to_remind(uow.session, current.remind_on)
    ]
    return repository.add_deadline_reminders(uow.session, current.occasion, found, now)
