"""Applications to the training: submission into an intake, an operator's acceptance or
decline, withdrawal, and the cohort's seats and waitlist."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from ips_shared.contracts import events
from ips_shared.messaging.causation import current_chain
from ips_shared.messaging.unit_of_work import UnitOfWork

from ..commands import (
    AcceptApplication,
    ApplicationsOf,
    ApplicationsTo,
    DeclineApplication,
    GetApplication,
    SetCohortCapacity,
    SubmitApplication,
    WithdrawApplication,
)
from ..db import repository
from ..db.tables import Application, Cohort
from ..domain import applications
from ..domain.applications import ApplicationStatus
from ..domain.errors import DuplicateApplication, FutureDate, MissingPrerequisite
from ..domain.intakes import IntakeCalendar
from ..domain.policy import EnrollmentPolicy
from . import Clock


def submit_application(
    message: SubmitApplication, uow: UnitOfWork, *, clock: Clock, intakes: IntakeCalendar
) -> Application:
    """The intake follows from when the application was received: now, or for a paper
    application keyed in by an operator, the date and time it arrived (never later than
    now). Who keyed it is kept with it and in the audit trail."""
    now = clock()
    if message.keyed_by and message.received_at > now:
        raise FutureDate("A paper application cannot have been received after now.")
    intake = intakes.intake_for(message.received_at)
    repository.person(uow.session, message.person_id)
    if not repository.completed_ps101(uow.session, message.person_id):
        raise MissingPrerequisite(
            "Peer Support 101 must be completed before applying to the training."
        )
    duplicate = DuplicateApplication(f"This person already applied to the {intake.id} intake.")
    if repository.has_applied(uow.session, message.person_id, intake.id):
        raise duplicate
    application = repository.add_application(
        uow.session,
        person_id=message.person_id,
        intake=intake.id,
        transport=message.transport,
        offers_ride=message.offers_ride,
        work_settings=message.work_settings,
        submitted_at=message.received_at,
        keyed_by=message.keyed_by,
        keyed_at=now if message.keyed_by else None,
    )
    uow.emit(
        events.ApplicationSubmitted(
            application_id=application.id,
            person_id=application.person_id,
            intake=application.intake,
            submitted_at=application.submitted_at,
            transport=application.transport,
            work_settings=tuple(application.work_settings),
        ),
        partition_key=application.person_id,
    )
    try:
        uow.session.flush()
    except IntegrityError:  # a concurrent duplicate won the race
        raise duplicate from None
    if message.keyed_by:
        chain = current_chain()
        repository.add_audit_entry(
            uow.session,
            at=now,
            actor=message.keyed_by,
            action="key paper application",
            person_id=application.person_id,
            record=f"application_id={application.id}, "
            f"received_at={application.submitted_at.isoformat()}, intake={application.intake}",
            correlation_id=chain.correlation_id if chain else None,
        )
    return application


def get_application(message: GetApplication, uow: UnitOfWork) -> Application:
    return repository.application(uow.session, message.application_id)


def applications_of(message: ApplicationsOf, uow: UnitOfWork) -> list[Application]:
    repository.person(uow.session, message.person_id)
    return repository.applications_of(uow.session, message.person_id)


def applications_to(
    message: ApplicationsTo, uow: UnitOfWork, *, intakes: IntakeCalendar
) -> list[Application]:
    intakes.check_cohort(message.cohort_id)
    return repository.applications_to(uow.session, message.cohort_id)


def accept_application(
    message: AcceptApplication, uow: UnitOfWork, *, clock: Clock, policy: EnrollmentPolicy
) -> Application:
    application = repository.application(uow.session, message.application_id)
    cohort = repository.lock_cohort(uow.session, application.intake, policy.cohort_capacity)
    taken = repository.seats_taken(uow.session, cohort.id)
    outcome = applications.accept(application.status, taken, cohort.capacity)
    _move(uow, application, outcome, clock)
    return application


def decline_application(
    message: DeclineApplication, uow: UnitOfWork, *, clock: Clock, policy: EnrollmentPolicy
) -> Application:
    return _close(
        uow, message.application_id, ApplicationStatus.DECLINED, message.reason_code, clock, policy
    )


def withdraw_application(
    message: WithdrawApplication, uow: UnitOfWork, *, clock: Clock, policy: EnrollmentPolicy
) -> Application:
    return _close(uow, message.application_id, ApplicationStatus.WITHDRAWN, None, clock, policy)


def set_cohort_capacity(
    message: SetCohortCapacity,
    uow: UnitOfWork,
    *,
    clock: Clock,
    policy: EnrollmentPolicy,
    intakes: IntakeCalendar,
) -> Cohort:
    intakes.check_cohort(message.cohort_id)
    cohort = repository.lock_cohort(uow.session, message.cohort_id, policy.cohort_capacity)
    cohort.capacity = message.capacity
    _promote(uow, cohort, clock)
    return cohort


def _close(
    uow: UnitOfWork,
    application_id: str,
    outcome: ApplicationStatus,
    reason: str | None,
    clock: Clock,
    policy: EnrollmentPolicy,
) -> Application:
    application = repository.application(uow.session, application_id)
    cohort = repository.lock_cohort(uow.session, application.intake, policy.cohort_capacity)
    seat_freed = applications.close(application.status, outcome)
    application.decline_reason = reason
    _move(uow, application, outcome, clock)
    if seat_freed:
        _promote(uow, cohort, clock)
    return application


def _promote(uow: UnitOfWork, cohort: Cohort, clock: Clock) -> None:
    """A free seat goes to the first on the waitlist."""
    if repository.seats_taken(uow.session, cohort.id) >= cohort.capacity:
        return
    first = applications.first_in_line(repository.waitlist(uow.session, cohort.id))
    if first is not None:
        promoted = repository.application(uow.session, first.application_id)
        _move(uow, promoted, ApplicationStatus.ACCEPTED, clock)


def _move(
    uow: UnitOfWork, application: Application, status: ApplicationStatus, clock: Clock
) -> None:
    """Give the application its new status and tell the others."""
    application.status = status
    application.decided_at = clock()
    common = {
        "application_id": application.id,
        "person_id": application.person_id,
        "intake": application.intake,
    }
    payload: events.EventPayload
    if status == ApplicationStatus.ACCEPTED:
        payload = events.ApplicationAccepted(**common, cohort_id=application.intake)
    elif status == ApplicationStatus.WAITLISTED:
        position = applications.waitlist_position(
            repository.waitlist(uow.session, application.intake), application.id
        )
        payload = events.ApplicationWaitlisted(**common, position=position)
    elif status == ApplicationStatus.DECLINED:
        payload = events.ApplicationDeclined(
            **common, reason_code=application.decline_reason or "unspecified"
        )
    else:
        payload = events.ApplicationWithdrawn(**common)
    uow.emit(payload, partition_key=application.person_id)
