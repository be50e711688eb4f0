"""Each person's standing over time: known from their training completion on, advanced
through every date on which time alone may change it (the scheduler's work) and whenever
new facts arrive, with the changes announced and certificate numbers issued."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from ips_shared.contracts.envelope import CloudEvent
from ips_shared.contracts.events import (
    CertificationStatusChanged,
    ReviewDue,
    Shortfall,
    TrainingCompleted,
)
from ips_shared.messaging.unit_of_work import UnitOfWork

from ..commands import AdvanceDueStandings, BringUpToDate, PostponeCheck
from ..db import repository, standings
from ..db.tables import Participant
from ..domain import status
from ..domain.calendar import Calendar
from ..domain.policy import CertificationPolicy

CAUSES_KEPT = 20  # event ids named as the causes of one change


class StandingsNotAdvanced(Exception):
    """A batch of due people failed as a whole; `people` names them, to be retried one by
    one (one person's failure must hold back no one else)."""

    def __init__(self, people: list[str]) -> None:
        super().__init__(f"{len(people)} standings were not advanced")
        self.people = people


def register_trained(
    events: Sequence[CloudEvent[TrainingCompleted]],
    uow: UnitOfWork,
    *,
    calendar: Calendar,
    policy: CertificationPolicy,
) -> None:
    """A person is known from their training completion on (the first one counts); the
    status it gives them is announced as caused by that completion. The region a later
    completion names (if it names one) replaces the one kept."""
    known = repository.known_among(uow.session, {event.data.person_id for event in events})
    completions: dict[str, CloudEvent[TrainingCompleted]] = {}
    added: dict[str, Participant] = {}
    for event in events:
        person_id, region = event.data.person_id, event.data.region
        if person_id not in known:
            known.add(person_id)
            added[person_id] = repository.add_participant(
                uow.session, person_id, event.data.completed_on, event.data.cohort_id, region
            )
            completions[person_id] = event
        elif region is not None:
            if person_id in added:
                added[person_id].region = region
            else:
                repository.set_region(uow.session, person_id, region)
    uow.session.flush()
    evaluate(
        uow,
        {person_id: [event.id] for person_id, event in completions.items()},
        calendar.today(),
        calendar=calendar,
        policy=policy,
        causes=completions,
    )


def advance_due_standings(
    command: AdvanceDueStandings,
    uow: UnitOfWork,
    *,
    calendar: Calendar,
    policy: CertificationPolicy,
) -> int:
    """Raises `StandingsNotAdvanced` if the people found due could not be advanced."""
    today = calendar.today()
    people = standings.due(uow.session, today, command.limit)
    try:
        evaluate(uow, {person: [] for person in people}, today, calendar=calendar, policy=policy)
        uow.session.flush()  # what cannot be written fails here, naming the people
    except Exception as error:
        raise StandingsNotAdvanced(people) from error
    return len(people)


def bring_up_to_date(
    command: BringUpToDate,
    uow: UnitOfWork,
    *,
    calendar: Calendar,
    policy: CertificationPolicy,
) -> None:
    evaluate(uow, {command.person_id: []}, calendar.today(), calendar=calendar, policy=policy)


def postpone_check(command: PostponeCheck, uow: UnitOfWork, *, calendar: Calendar) -> None:
    """Tried again tomorrow, not in a tight loop."""
    standings.postpone(uow.session, command.person_id, calendar.today() + timedelta(days=1))


def evaluate(
    uow: UnitOfWork,
    news: Mapping[str, Sequence[str]],
    today: date,
    *,
    calendar: Calendar,
    policy: CertificationPolicy,
    causes: Mapping[str, CloudEvent[Any]] | None = None,
) -> None:
    """Advance each person's standing to today; emit what happened, in one transaction.

    `news`: per person, the ids of the events that prompted this evaluation, named in a
    change's `caused_by` with the hours this evaluation is the first to see. `causes`: per
    person, the event a consumer is applying, which the events emitted here react to
    (their `cause`; none for the scheduler, imports or HTTP commands). The standings
    are locked first: a ledger batch for these people writes their standing too, so it
    commits before this reads the facts, or after this has finished."""
    if not news:
        return
    db = uow.session
    rows = standings.locked_standings(db, news.keys())
    facts = standings.facts(db, news.keys(), calendar.zone)
    unseen = standings.unseen_hours(db, news.keys())
    for row in rows:
        person_id = row.person_id
        cause = (causes or {}).get(person_id)
        after, occasions, assessment = status.advance(
            standings.standing_of(row), facts[person_id], policy, today
        )
        prompted_by = [*news[person_id], *(event_id for _, event_id in unseen[person_id])]
        for occasion in occasions:
            if isinstance(occasion, status.StatusChanged):
                _record_change(
                    uow, person_id, occasion, prompted_by, today, calendar, policy, cause
                )
            else:
                uow.emit(
                    ReviewDue(person_id=person_id, due_date=occasion.due),
                    cause=cause,
                    partition_key=person_id,
                )
        standings.store_standing(db, row, after, assessment)
    standings.mark_seen(db, [entry for entries in unseen.values() for entry in entries])


def _record_change(
    uow: UnitOfWork,
    person_id: str,
    change: status.StatusChanged,
    prompted_by: list[str],
    today: date,
    calendar: Calendar,
    policy: CertificationPolicy,
    cause: CloudEvent[Any] | None,
) -> None:
    number = (
        repository.issue_certificate(
            uow.session, person_id, change.effective, policy.certificate_prefix
        )
        if change.first_certification
        else None
    )
    # What prompted the evaluation caused the change on its date (today) and the first
    # one, however long ago the record began (a completion learned late, say); a change
    # on a date time alone reached in between had no news.
    prompted = change.effective == today or change.old is None
    caused_by = tuple(prompted_by[:CAUSES_KEPT]) if prompted else ()
    envelope = uow.emit(
        CertificationStatusChanged(
            person_id=person_id,
            old_status=change.old,
            new_status=change.new,
            reason_code=change.reason,
            effective_date=change.effective,
            policy_version=change.policy_version,
            caused_by=caused_by,
            certificate_number=number,
            shortfall=tuple(
                Shortfall(requirement=item.requirement, missing=item.missing, unit=item.unit)
                for item in change.shortfall
            ),
            year_ends_on=change.year_ends_on,
        ),
        cause=cause,
        partition_key=person_id,
    )
    standings.add_status_change(
        uow.session, envelope.id, person_id, change, caused_by, calendar.now()
    )
