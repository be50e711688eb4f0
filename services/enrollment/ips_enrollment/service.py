"""Enrollment use cases: each runs in one unit of work with the events it emits."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from ips_shared.contracts.events import ApplicationSubmitted
from ips_shared.messaging.unit_of_work import UnitOfWork

from .db.tables import Application
from .domain.applications import ApplicationRequest, DuplicateApplication
from .domain.intakes import IntakeCalendar


class EnrollmentService:
    def __init__(self, unit_of_work: Callable[[], UnitOfWork], calendar: IntakeCalendar) -> None:
        self._unit_of_work = unit_of_work
        self._calendar = calendar

    def submit_application(self, request: ApplicationRequest) -> Application:
        intake = self._calendar.intake_for(request.received_at)
        application = Application(
            id=str(uuid.uuid4()),
            person_id=request.person_id,
            intake=intake.id,
            transport=request.transport,
            work_settings=list(request.work_settings),
            submitted_at=request.received_at,
        )
        with self._unit_of_work() as uow:
            existing = uow.session.exec(
                select(Application.id).where(
                    Application.person_id == request.person_id, Application.intake == intake.id
                )
            ).first()
            if existing is not None:
                raise DuplicateApplication(
                    f"This person already applied to the {intake.id} intake."
                )
            uow.session.add(application)
            uow.emit(
                ApplicationSubmitted(
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
                uow.commit()
            except IntegrityError:  # a concurrent duplicate won the race
                raise DuplicateApplication(
                    f"This person already applied to the {intake.id} intake."
                ) from None
        return application
