"""Certificates a state granted before this system, imported one row at a time."""

from __future__ import annotations

from ips_shared.contracts.events import ReviewOutcome
from ips_shared.messaging.unit_of_work import UnitOfWork

from ..commands import ImportCertificate
from ..db import repository, standings
from ..domain import status
from ..domain.calendar import Calendar
from ..domain.certificates import check_dates, hold_of, vouched_until
from ..domain.errors import CertificateConflict, InvalidCertificate
from ..domain.policy import CertificationPolicy
from .standing import evaluate


def import_certificate(
    command: ImportCertificate,
    uow: UnitOfWork,
    *,
    calendar: Calendar,
    policy: CertificationPolicy,
) -> bool:
    """A certificate granted before this system, from a state's spreadsheet; returns
    whether anything was new. The person's standing starts from it (the years it
    vouches for count as met) and the change is announced with its number.

    A status it brings (lapsed, suspended, withdrawn) holds from the date it began: a
    hold is an operator's decision of that date, a lapse the unmet year the rules find
    it from (see `vouched_until`). Importing the same row again changes nothing and
    emits nothing."""
    db, row = uow.session, command.row
    today, person_id = calendar.today(), row.person_id
    held = repository.certificate_of(db, person_id)
    if held is not None:
        if held.number == row.certificate_number:
            return False
        raise CertificateConflict("This person holds another certificate number already.")
    if repository.holder_of(db, row.certificate_number) is not None:
        raise CertificateConflict("This certificate number belongs to another person.")
    participant = repository.participant(db, person_id)
    # Known from their training completion: that record stands.
    began = participant.record_began_on if participant is not None else None
    check_dates(row, today=today, record_began=began)
    if participant is None:
        assert row.trained_on is not None  # the row filled in its default
        repository.add_participant(db, person_id, row.trained_on, row.cohort)
        db.flush()
        trained_on, cohort_id = row.trained_on, row.cohort
    else:
        trained_on, cohort_id = participant.record_began_on, participant.cohort_id
    vouched = vouched_until(
        row, trained_on=trained_on, cohort_id=cohort_id, policy=policy, today=today
    )
    now = calendar.now()
    repository.add_imported_certificate(
        db, row.certificate_number, person_id, row.certified_on, vouched
    )
    if (hold := hold_of(row)) is not None:
        assert row.status_since is not None  # the row requires it with a status
        repository.add_decision(db, person_id, hold, row.status_since, now)
    if row.last_review_on is not None:
        review_id = f"import:{person_id}:{row.last_review_on.isoformat()}"
        if not repository.has_review(db, review_id):
            # A review of the past: recorded, not announced (no ReviewCompleted).
            repository.add_review(
                db, review_id, person_id, row.last_review_on, ReviewOutcome.AFFIRMED, now
            )
    reason = f"imported from {command.file_name}"[:500]
    repository.add_audit(db, "import_certificate", person_id, "import", reason, now)
    db.flush()
    if row.status_since is not None:
        facts = standings.facts(db, [person_id], calendar.zone)[person_id]
        if status.assess(facts, policy, row.status_since).status != row.status:
            # Only hours recorded here for a person known from their training can do it.
            raise InvalidCertificate(
                f"The hours recorded here keep this person from being {row.status} on status_since."
            )
        # The history begins with the status imported, on the date it began.
        evaluate(uow, {person_id: []}, row.status_since, calendar=calendar, policy=policy)
    evaluate(uow, {person_id: []}, today, calendar=calendar, policy=policy)
    return True
