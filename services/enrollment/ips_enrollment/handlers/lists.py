"""What operators (and trainers, for their own cohorts and sessions) read every day: people
and one person's whole record, applications, cohorts and their rosters, Peer Support 101
sessions; and the trainers an operator assigns to cohorts and sessions. Filters, counts
and pages are the database's work (`db/listings.py`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TypeVar

from ips_shared.listing import Paged, PageRequest
from ips_shared.messaging.unit_of_work import UnitOfWork

from ..commands import (
    AssignCohortTrainers,
    AssignSessionTrainers,
    CohortRoster,
    GetRecord,
    ListApplications,
    ListCohorts,
    ListPeople,
    ListSessions,
)
from ..db import listings, repository
from ..domain import training
from ..domain.errors import InvalidCohort, NotAssigned
from ..domain.intakes import Intake, IntakeCalendar
from ..domain.listings import (
    ApplicationSummary,
    CohortSummary,
    EnrollmentRecord,
    MakeUp,
    PersonSummary,
    RosterEntry,
    SessionSummary,
)
from ..domain.policy import EnrollmentPolicy
from . import Clock

T = TypeVar("T")


def _page_of(items: Sequence[T], total: int, page: PageRequest | None) -> Paged[T]:
    """One page; without a page request (an export), every row as one page."""
    if page is None:
        return Paged[T](items=list(items), total=total, page=1, page_size=max(total, 1))
    return Paged[T](items=list(items), total=total, page=page.page, page_size=page.page_size)


def list_people(
    message: ListPeople, uow: UnitOfWork, *, intakes: IntakeCalendar
) -> Paged[PersonSummary]:
    found, total = listings.people(uow.session, message.filter, intakes.timezone, message.page)
    return _page_of(found, total, message.page)


def get_record(
    message: GetRecord, uow: UnitOfWork, *, clock: Clock, policy: EnrollmentPolicy
) -> EnrollmentRecord:
    person = repository.person(uow.session, message.person_id)
    attendance = listings.attendance_entries(uow.session, [person.id])[person.id]
    completion = listings.training_of(uow.session, person.id)
    passed = listings.passed_days(uow.session, [person.id], clock())[person.id]
    missed, due_by = training.make_up(
        [(entry.day, entry.attended_on) for entry in attendance],
        passed=passed,
        completed=completion is not None,
        window_months=policy.makeup_window_months,
    )
    return EnrollmentRecord(
        person_id=person.id,
        name=person.name,
        region=person.region,
        email=person.email,
        phone=person.phone,
        preferred_channel=person.preferred_channel,
        sms_consent=person.sms_consent,
        language=person.language,
        registered_at=person.created_at,
        ps101=tuple(listings.ps101_of(uow.session, person.id)),
        applications=tuple(listings.application_entries(uow.session, person.id)),
        attendance=tuple(attendance),
        training=completion,
        make_up=MakeUp.of(missed, due_by),
    )


def list_applications(
    message: ListApplications, uow: UnitOfWork, *, intakes: IntakeCalendar
) -> Paged[ApplicationSummary]:
    found, total = listings.applications(
        uow.session, message.filter, intakes.timezone, message.page
    )
    return _page_of(found, total, message.page)


def list_cohorts(
    message: ListCohorts, uow: UnitOfWork, *, policy: EnrollmentPolicy, intakes: IntakeCalendar
) -> Paged[CohortSummary]:
    found, total = listings.cohorts(
        uow.session,
        message.filter,
        seasons=intakes.seasons,
        default_capacity=policy.cohort_capacity,
        page=message.page,
    )
    items = []
    for cohort in found:
        intake = _intake_or_none(intakes, cohort.cohort_id)
        items.append(dataclasses.replace(cohort, deadline=intake.deadline if intake else None))
    return _page_of(items, total, message.page)


def _intake_or_none(intakes: IntakeCalendar, cohort_id: str) -> Intake | None:
    try:
        return intakes.intake(cohort_id)
    except InvalidCohort:
        return None


def cohort_roster(
    message: CohortRoster,
    uow: UnitOfWork,
    *,
    clock: Clock,
    policy: EnrollmentPolicy,
    intakes: IntakeCalendar,
) -> Paged[RosterEntry]:
    intakes.check_cohort(message.cohort_id)
    if message.trainer is not None and not listings.is_cohort_trainer(
        uow.session, message.cohort_id, message.trainer
    ):
        raise NotAssigned("This cohort is not one of the trainer's.")
    now = clock()
    found, total = listings.roster(
        uow.session, message.cohort_id, message.filter, now, message.page
    )
    ids = [person.id for person, _, _ in found]
    attendance = listings.attendance_entries(uow.session, ids)
    passed = listings.passed_days(uow.session, ids, now)
    items = []
    for person, accepted, completed_on in found:
        days = attendance[person.id]
        missed, due_by = training.make_up(
            [(entry.day, entry.attended_on) for entry in days],
            passed=passed[person.id],
            completed=completed_on is not None,
            window_months=policy.makeup_window_months,
        )
        items.append(
            RosterEntry(
                person_id=person.id,
                name=person.name,
                region=person.region,
                accepted=accepted,
                days=tuple(days),
                training_completed_on=completed_on,
                make_up=MakeUp.of(missed, due_by),
            )
        )
    return _page_of(items, total, message.page)


def assign_cohort_trainers(
    message: AssignCohortTrainers,
    uow: UnitOfWork,
    *,
    policy: EnrollmentPolicy,
    intakes: IntakeCalendar,
) -> tuple[str, ...]:
    intakes.check_cohort(message.cohort_id)
    repository.lock_cohort(uow.session, message.cohort_id, policy.cohort_capacity)
    trainers = tuple(sorted(set(message.trainers)))
    listings.replace_cohort_trainers(uow.session, message.cohort_id, trainers)
    return trainers


def list_sessions(
    message: ListSessions, uow: UnitOfWork, *, intakes: IntakeCalendar
) -> Paged[SessionSummary]:
    found, total = listings.sessions(uow.session, message.filter, intakes.timezone, message.page)
    return _page_of(found, total, message.page)


def assign_session_trainers(message: AssignSessionTrainers, uow: UnitOfWork) -> tuple[str, ...]:
    repository.ps101_session(uow.session, message.session_id)
    trainers = tuple(sorted(set(message.trainers)))
    listings.replace_session_trainers(uow.session, message.session_id, trainers)
    return trainers
