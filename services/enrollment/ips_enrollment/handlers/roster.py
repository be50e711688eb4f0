"""The roster a state brings along: people with the Peer Support 101 and training they
completed before this system, imported row by row."""

from __future__ import annotations

from ips_shared.contracts import events
from ips_shared.messaging.unit_of_work import UnitOfWork

from ..commands import ImportRosterRow
from ..db import repository
from ..domain.errors import DuplicatePerson
from ..domain.intakes import IntakeCalendar
from ..domain.roster import check_row_in_calendar
from . import Clock
from .people import announce_contact


def import_roster_row(
    message: ImportRosterRow, uow: UnitOfWork, *, clock: Clock, intakes: IntakeCalendar
) -> bool:
    """Import one person with their past completions; returns whether anything was new.

    Re-importing the same row changes nothing and emits nothing."""
    row = message.row
    check_row_in_calendar(row, intakes.today(clock()), intakes)
    changed = False
    person = repository.find_person(uow.session, row.person_id)
    if person is None:
        person = repository.add_person(
            uow.session,
            person_id=row.person_id,
            name=row.name,
            region=row.region,
            email=row.email,
            phone=row.phone,
            preferred_channel=row.preferred_channel,
            sms_consent=row.sms_consent,
            language=row.language,
            created_at=clock(),
        )
        announce_contact(uow, person)
        changed = True
    elif person.name != row.name:
        raise DuplicatePerson("This id belongs to a person with another name.")
    if row.ps101_completed_on is not None and not repository.completed_ps101(
        uow.session, row.person_id
    ):
        session_id = repository.ensure_imported_session(uow.session)
        repository.add_registration(
            uow.session,
            session_id,
            row.person_id,
            registered_at=clock(),
            completed_on=row.ps101_completed_on,
        )
        uow.emit(
            events.PeerSupport101Completed(
                person_id=row.person_id, session_id=session_id, completed_on=row.ps101_completed_on
            ),
            partition_key=row.person_id,
        )
        changed = True
    if (
        row.training_cohort
        and row.training_completed_on
        and not repository.completed_training(uow.session, row.person_id)
    ):
        repository.add_training_completion(
            uow.session, row.person_id, row.training_cohort, row.training_completed_on
        )
        uow.emit(
            events.TrainingCompleted(
                person_id=row.person_id,
                cohort_id=row.training_cohort,
                completed_on=row.training_completed_on,
                region=person.region,
            ),
            partition_key=row.person_id,
        )
        changed = True
    return changed
