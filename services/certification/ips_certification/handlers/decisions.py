"""What operators decide about a person: reviews of commitment recorded, and suspensions,
withdrawals and reinstatements; each one audited and taken into the standing at once."""

from __future__ import annotations

from ips_shared.contracts.events import CertificationStatus, ReviewCompleted
from ips_shared.messaging.unit_of_work import UnitOfWork

from ..commands import Decide, RecordReview
from ..db import repository, standings
from ..domain.calendar import Calendar
from ..domain.decisions import check_decision, check_review
from ..domain.policy import CertificationPolicy
from .standing import evaluate


def record_review(
    command: RecordReview, uow: UnitOfWork, *, calendar: Calendar, policy: CertificationPolicy
) -> str:
    """An operator records a review outcome; it may reinstate or keep someone current."""
    db, person_id = uow.session, command.person_id
    participant = repository.known_participant(db, person_id)
    today = calendar.today()
    check_review(command.reviewed_on, today=today, trained_on=participant.record_began_on)
    envelope = uow.emit(
        ReviewCompleted(
            person_id=person_id, reviewed_on=command.reviewed_on, outcome=command.outcome
        ),
        partition_key=person_id,
    )
    now = calendar.now()
    repository.add_review(db, envelope.id, person_id, command.reviewed_on, command.outcome, now)
    repository.add_audit(
        db, f"record_review_{command.outcome}", person_id, command.actor, command.reason, now
    )
    db.flush()
    evaluate(uow, {person_id: [envelope.id]}, today, calendar=calendar, policy=policy)
    return envelope.id


def decide(
    command: Decide, uow: UnitOfWork, *, calendar: Calendar, policy: CertificationPolicy
) -> CertificationStatus:
    """Suspend, withdraw or reinstate, from today; returns the status it leads to."""
    db, person_id = uow.session, command.person_id
    repository.known_participant(db, person_id)
    today = calendar.today()
    # The decision applies to today's status.
    evaluate(uow, {person_id: []}, today, calendar=calendar, policy=policy)
    check_decision(command.decision, standings.current_status(db, person_id))
    now = calendar.now()
    repository.add_decision(db, person_id, command.decision, today, now)
    repository.add_audit(db, command.decision.value, person_id, command.actor, command.reason, now)
    db.flush()
    evaluate(uow, {person_id: []}, today, calendar=calendar, policy=policy)
    return standings.current_status(db, person_id)  # type: ignore[return-value]
