"""The hours ledger: partners' and trainers' reports checked and counted once, what breaks
a rule answered to its source, and operators' corrections (voids). Status work is left to
the scheduler, woken when new facts may change someone's status."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from typing import Any, Protocol

from ips_shared.contracts import subjects
from ips_shared.contracts.envelope import CloudEvent
from ips_shared.contracts.events import HoursLogged, HoursRejected, HoursVoided
from ips_shared.messaging.consumer import BadMessage
from ips_shared.messaging.unit_of_work import UnitOfWork

from ..commands import VoidHours
from ..db import repository
from ..domain.calendar import Calendar
from ..domain.errors import AlreadyVoided, AmbiguousEventId, NotFound
from ..domain.hours import Claim, Rejection, bad_report, check
from ..domain.policy import CertificationPolicy


class WakeScheduler(Protocol):
    """Asks the scheduler for a pass soon; safe to call from any thread."""

    def __call__(self) -> None: ...


def record_hours(
    events: Sequence[CloudEvent[HoursLogged]],
    uow: UnitOfWork,
    *,
    calendar: Calendar,
    policy: CertificationPolicy,
    wake_scheduler: WakeScheduler,
) -> list[CloudEvent[HoursLogged]]:
    """Check a batch against the ledger and itself, in order; one insert for the good ones.
    Returns the refused: answered, not counted, so that the same report sent again (once
    the person is known, say) is checked afresh."""
    db = uow.session
    people = {event.data.person_id for event in events}
    began = repository.record_began(db, people)
    totals = repository.hours_so_far(db, people, {event.data.activity_date for event in events})
    today, now = calendar.today(), calendar.now()
    accepted: list[CloudEvent[HoursLogged]] = []
    refused: list[CloudEvent[HoursLogged]] = []
    refusals: list[repository.Refusal] = []
    for event in events:
        data = event.data
        key = (data.person_id, data.activity_date, event.source)
        rejection = check(
            Claim(data.person_id, event.source, data.hours, data.activity_date),
            record_began=began.get(data.person_id),
            already_that_day=totals[key],
            today=today,
            max_per_day=policy.max_hours_per_day_per_source,
        )
        if rejection is not None:
            token = subjects.source_token(event.source)
            _answer(uow, event.id, token, rejection, cause=event)
            refusals.append((event.id, token, rejection, data))
            refused.append(event)
            continue
        totals[key] += data.hours
        accepted.append(event)
    repository.add_rejections(db, refusals, now)
    repository.add_hours(db, accepted, now)
    people_with_news = {event.data.person_id for event in accepted}
    _check_soon(uow, people_with_news, today, wake_scheduler, new_hours=True)
    return refused


def answer_bad_report(message: BadMessage, uow: UnitOfWork, *, calendar: Calendar) -> None:
    """Answer an unreadable or misaddressed report on the subject it came in on (no event
    could be read from it, so the answer has no cause)."""
    token = message.subject.rsplit(".", 1)[-1]
    rejection = bad_report(message.code, message.reason)
    event_id = message.event_id or "unreadable"
    repository.add_rejections(uow.session, [(event_id, token, rejection, None)], calendar.now())
    _answer(uow, event_id, token, rejection, cause=None)


def void_hours(
    command: VoidHours, uow: UnitOfWork, *, calendar: Calendar, wake_scheduler: WakeScheduler
) -> str:
    """An operator's correction: append-only, with an audit entry naming who and why.
    Returns the source of the entry voided: an event id names it alone while no other
    source has used that id."""
    db = uow.session
    entries = repository.entries_with_id(db, command.event_id, command.source)
    if not entries:
        named = " from this source" if command.source is not None else ""
        raise NotFound(f"No hours entry{named} has this event id.")
    if len(entries) > 1:
        sources = ", ".join(entry.source for entry in entries)
        raise AmbiguousEventId(f"Entries from {sources} have this event id: name the source.")
    [entry] = entries
    if repository.is_voided(db, entry):
        raise AlreadyVoided("This entry is voided already.")
    now = calendar.now()
    repository.add_void(db, entry, command.reason, command.actor, now)
    target = f"{entry.source} {entry.event_id}"
    repository.add_audit(db, "void_hours", target, command.actor, command.reason, now)
    uow.emit(
        HoursVoided(
            person_id=entry.person_id,
            entry_event_id=entry.event_id,
            category=entry.category,
            hours=entry.hours,
            activity_date=entry.activity_date,
            voided_on=calendar.today(),
        ),
        partition_key=entry.person_id,
    )
    _check_soon(uow, {entry.person_id}, calendar.today(), wake_scheduler)
    return entry.source


def _answer(
    uow: UnitOfWork,
    event_id: str,
    token: str,
    rejection: Rejection,
    *,
    cause: CloudEvent[Any] | None,
) -> None:
    """`HoursRejected` to the source that reported, on its own subject."""
    uow.emit(
        HoursRejected(
            rejected_event_id=event_id,
            reason_code=rejection.code,
            reason=rejection.reason[:500],
        ),
        cause=cause,
        subject=subjects.hours_rejected_subject(token),
    )


def _check_soon(
    uow: UnitOfWork,
    people: Collection[str],
    today: date,
    wake_scheduler: WakeScheduler,
    *,
    new_hours: bool = False,
) -> None:
    """New facts: the scheduler looks at these people today (not in this transaction,
    so the ledger's throughput does not depend on status work). New hours only for
    the people whose status they could change (`hours_matter`)."""
    if people and repository.mark_for_check(
        uow.session, people, today, only_if_hours_matter=new_hours
    ):
        uow.on_commit(wake_scheduler)
