"""What certification answers without changing anything: a person's status explained,
their hours, and whose status a draft rule version would change."""

from __future__ import annotations

from datetime import date

from ips_shared.messaging.unit_of_work import UnitOfWork

from ..commands import ExplainStatus, Explanation, HoursOf, WhatIf, WouldChange
from ..db import repository, standings
from ..db.tables import HoursEntry, HoursVoid
from ..domain import status
from ..domain.calendar import Calendar
from ..domain.policy import CertificationPolicy

WHAT_IF_BATCH = 500  # people whose facts are read at a time


def explain_status(
    query: ExplainStatus, uow: UnitOfWork, *, calendar: Calendar, policy: CertificationPolicy
) -> Explanation:
    """Status, dates, progress toward this period's requirements, and the history; as of
    the later of today and the last evaluation."""
    db, person_id = uow.session, query.person_id
    participant = repository.known_participant(db, person_id)
    standing = standings.standing_row(db, person_id)
    facts = standings.facts(db, [person_id], calendar.zone)[person_id]
    today = max(calendar.today(), standing.evaluated_on or participant.record_began_on)
    assessment = status.assess(facts, policy, today, known_certified_on=standing.certified_on)
    return Explanation(
        person_id,
        standing.status,
        repository.certificate_number_of(db, person_id),
        participant.record_began_on,
        assessment,
        standings.history(db, person_id),
    )


def hours_of(query: HoursOf, uow: UnitOfWork) -> list[tuple[HoursEntry, HoursVoid | None]]:
    """A person's entries; someone certification does not know is not found (as for
    their status), not a person without hours."""
    repository.known_participant(uow.session, query.person_id)
    return repository.hours_of(uow.session, query.person_id)


def what_if(
    query: WhatIf, uow: UnitOfWork, *, calendar: Calendar, policy: CertificationPolicy
) -> tuple[date, list[WouldChange]]:
    """Whose status would differ under a draft rule version, and how; changes nothing.

    Compared on the draft's effective date (or today, if that has passed)."""
    on = max(calendar.today(), query.draft.effective_from)
    proposed = policy.with_draft(query.draft)
    anchors = standings.certified_on_by_person(uow.session)
    differences = []
    people = list(anchors)
    for offset in range(0, len(people), WHAT_IF_BATCH):
        batch = people[offset : offset + WHAT_IF_BATCH]
        for person_id, facts in standings.facts(uow.session, batch, calendar.zone).items():
            now = status.assess(facts, policy, on, known_certified_on=anchors[person_id])
            then = status.assess(facts, proposed, on, known_certified_on=anchors[person_id])
            if now.status != then.status:
                differences.append(WouldChange(person_id, now.status, then.status, then.reason))
    return on, sorted(differences, key=lambda difference: difference.person_id)
