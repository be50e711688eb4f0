"""The training itself: attendance of its eight days (make-up days in a later cohort
included), its completion, and ride sharing among those accepted."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from ips_shared.contracts import events
from ips_shared.messaging.unit_of_work import UnitOfWork

from ..commands import RecordAttendance, RideSharing
from ..db import repository
from ..db.tables import Person
from ..domain import rides, training
from ..domain.intakes import IntakeCalendar, runs_before
from ..domain.policy import EnrollmentPolicy
from ..domain.rides import RideListing
from . import Clock


def record_attendance(
    message: RecordAttendance,
    uow: UnitOfWork,
    *,
    clock: Clock,
    policy: EnrollmentPolicy,
    intakes: IntakeCalendar,
) -> bool:
    """Returns whether this attendance completed the training."""
    person_id, cohort_id, day = message.person_id, message.cohort_id, message.day
    training.check_day(day)
    intakes.check_cohort(cohort_id)
    training.check_not_in_future(message.attended_on, today=intakes.today(clock()))
    person = repository.person(uow.session, person_id)
    accepted = repository.accepted_intakes(uow.session, person_id)
    history = repository.attendance_of(uow.session, person_id)
    training.check_may_attend(
        in_cohort=cohort_id in accepted,
        accepted_earlier=any(runs_before(intake, cohort_id) for intake in accepted),
        attended=[attended_on for _, attended_on in history],
        on=message.attended_on,
        window_months=policy.makeup_window_months,
    )
    if repository.attended(uow.session, person_id, cohort_id, day):
        return False  # recorded already: nothing new to tell
    repository.lock_cohort(uow.session, cohort_id, policy.cohort_capacity)
    repository.add_attendance(
        uow.session,
        person_id=person_id,
        cohort_id=cohort_id,
        day=day,
        attended_on=message.attended_on,
        recorded_at=clock(),
    )
    uow.emit(
        events.TrainingDayAttended(
            person_id=person_id, cohort_id=cohort_id, day=day, attended_on=message.attended_on
        ),
        partition_key=person_id,
    )
    history = [*history, (day, message.attended_on)]
    return _complete_if_done(uow, person, cohort_id, history, policy)


def ride_sharing(
    message: RideSharing, uow: UnitOfWork, *, intakes: IntakeCalendar
) -> list[RideListing]:
    intakes.check_cohort(message.cohort_id)
    return rides.by_region(repository.riders(uow.session, message.cohort_id))


def _complete_if_done(
    uow: UnitOfWork,
    person: Person,
    cohort_id: str,
    history: Sequence[tuple[int, date]],
    policy: EnrollmentPolicy,
) -> bool:
    person_id = person.id
    if repository.completed_training(uow.session, person_id):
        return False
    finished = training.completed_on(history, policy.makeup_window_months)
    if finished is None:
        return False
    repository.add_training_completion(uow.session, person_id, cohort_id, finished)
    uow.emit(
        events.TrainingCompleted(
            person_id=person_id, cohort_id=cohort_id, completed_on=finished, region=person.region
        ),
        partition_key=person_id,
    )
    return True
