"""A cohort's schedule: where it meets and when its training days run."""

from __future__ import annotations

from ips_shared.contracts import events
from ips_shared.messaging.unit_of_work import UnitOfWork

from ..commands import GetSchedule, Schedule, ScheduleCohort
from ..db import repository
from ..domain.intakes import IntakeCalendar
from ..domain.policy import EnrollmentPolicy
from ..domain.schedule import check_schedule
from . import Clock


def schedule_cohort(
    message: ScheduleCohort,
    uow: UnitOfWork,
    *,
    clock: Clock,
    policy: EnrollmentPolicy,
    intakes: IntakeCalendar,
) -> Schedule:
    """Set (or change) the whole schedule and publish it whole: the latest is the schedule."""
    intakes.check_cohort(message.cohort_id)
    check_schedule(message.place, message.days)
    days = tuple(sorted(message.days, key=lambda entry: entry.day))
    repository.lock_cohort(uow.session, message.cohort_id, policy.cohort_capacity)
    repository.replace_schedule(uow.session, message.cohort_id, message.place, days, clock())
    uow.emit(
        events.CohortScheduled(
            cohort_id=message.cohort_id,
            place=message.place,
            days=tuple(
                events.TrainingDay(day=d.day, starts_at=d.starts_at, ends_at=d.ends_at)
                for d in days
            ),
        ),
        partition_key=message.cohort_id,
    )
    return Schedule(message.cohort_id, message.place, days)


def get_schedule(message: GetSchedule, uow: UnitOfWork, *, intakes: IntakeCalendar) -> Schedule:
    intakes.check_cohort(message.cohort_id)
    place, days = repository.cohort_schedule(uow.session, message.cohort_id)
    return Schedule(message.cohort_id, place, tuple(days))
