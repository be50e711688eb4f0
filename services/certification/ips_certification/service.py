"""Certification use cases: who is known here, and the hours ledger."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import col, select

from ips_shared.contracts import subjects
from ips_shared.contracts.envelope import CloudEvent
from ips_shared.contracts.events import (
    HoursLogged,
    HoursRejected,
    HoursRejectionCode,
    TrainingCompleted,
)
from ips_shared.db import bulk_insert, member_of, utcnow
from ips_shared.messaging.consumer import Refusal
from ips_shared.messaging.unit_of_work import UnitOfWork

from .db.tables import HoursEntry, HoursRejection, HoursVoid, OperatorAction, Participant
from .domain.errors import AlreadyVoided, NotFound
from .domain.hours import Claim, Rejection, check
from .domain.policy import CertificationPolicy

Clock = Callable[[], datetime]
DayKey = tuple[str, date, str]  # person, day, source


class CertificationService:
    def __init__(
        self, policy: CertificationPolicy, clock: Clock = lambda: datetime.now(UTC)
    ) -> None:
        self._policy = policy
        self._zone = ZoneInfo(policy.timezone)
        self._clock = clock

    def today(self) -> date:
        return self._clock().astimezone(self._zone).date()

    def register_trained(
        self, uow: UnitOfWork, events: Sequence[CloudEvent[TrainingCompleted]]
    ) -> None:
        """A person is known from their training completion on (the first one counts)."""
        ids = {event.data.person_id for event in events}
        known = set(
            uow.session.exec(
                select(Participant.person_id).where(col(Participant.person_id).in_(ids))
            )
        )
        for event in events:
            if event.data.person_id not in known:
                known.add(event.data.person_id)
                uow.session.add(
                    Participant(
                        person_id=event.data.person_id,
                        record_began_on=event.data.completed_on,
                        cohort_id=event.data.cohort_id,
                    )
                )

    def record_hours(self, uow: UnitOfWork, events: Sequence[CloudEvent[HoursLogged]]) -> None:
        """Check a batch against the ledger and itself, in order; one insert for the good ones."""
        db = uow.session
        dialect = db.get_bind().dialect.name
        people = {event.data.person_id for event in events}
        days = {event.data.activity_date for event in events}
        began = dict(
            db.exec(
                select(Participant.person_id, Participant.record_began_on).where(
                    member_of(col(Participant.person_id), people, dialect)
                )
            ).all()
        )
        totals: dict[DayKey, Decimal] = defaultdict(Decimal)
        for person, day, source, hours in db.exec(
            select(
                HoursEntry.person_id,
                HoursEntry.activity_date,
                HoursEntry.source,
                func.sum(HoursEntry.hours),
            )
            .where(
                member_of(col(HoursEntry.person_id), people, dialect),
                member_of(col(HoursEntry.activity_date), days, dialect),
            )
            .group_by(
                col(HoursEntry.person_id), col(HoursEntry.activity_date), col(HoursEntry.source)
            )
        ):
            totals[(person, day, source)] = Decimal(hours)
        today, now, accepted = self.today(), utcnow(), []
        for event in events:
            data = event.data
            key = (data.person_id, data.activity_date, event.source)
            rejection = check(
                Claim(data.person_id, event.source, data.hours, data.activity_date),
                record_began=began.get(data.person_id),
                already_that_day=totals[key],
                today=today,
                max_per_day=self._policy.max_hours_per_day_per_source,
            )
            if rejection is not None:
                self._reject(uow, event.id, subjects.source_token(event.source), rejection)
                continue
            totals[key] += data.hours
            accepted.append(
                {
                    "event_id": event.id,
                    "person_id": data.person_id,
                    "source": event.source,
                    "category": data.category,
                    "hours": data.hours,
                    "activity_date": data.activity_date,
                    "note": data.note,
                    "recorded_at": now,
                }
            )
        bulk_insert(db.connection(), HoursEntry, accepted)

    def void_entry(self, uow: UnitOfWork, event_id: str, actor: str, reason: str) -> HoursVoid:
        """An operator's correction: append-only, with an audit entry naming who and why."""
        db = uow.session
        if db.get(HoursEntry, event_id) is None:
            raise NotFound(f"No hours entry has the event id {event_id!r}.")
        if db.get(HoursVoid, event_id) is not None:
            raise AlreadyVoided("This entry is voided already.")
        now = utcnow()
        void = HoursVoid(entry_event_id=event_id, reason=reason, actor=actor, voided_at=now)
        db.add(void)
        db.add(
            OperatorAction(action="void_hours", target=event_id, actor=actor, reason=reason, at=now)
        )
        return void

    def hours_of(
        self, uow: UnitOfWork, person_id: str
    ) -> list[tuple[HoursEntry, HoursVoid | None]]:
        rows = uow.session.exec(
            select(HoursEntry, HoursVoid)
            .join(
                HoursVoid, col(HoursVoid.entry_event_id) == col(HoursEntry.event_id), isouter=True
            )
            .where(HoursEntry.person_id == person_id)
            .order_by(col(HoursEntry.activity_date), col(HoursEntry.event_id))
        )
        return [(entry, void) for entry, void in rows]

    def refuse_hours(self, uow: UnitOfWork, refusal: Refusal) -> None:
        """Answer an unreadable or misaddressed report on the subject it came in on."""
        code = HoursRejectionCode(refusal.code)
        if code == HoursRejectionCode.INVALID_PAYLOAD and "data.category" in refusal.reason:
            code = HoursRejectionCode.UNKNOWN_CATEGORY
        token = refusal.subject.rsplit(".", 1)[-1]
        self._reject(uow, refusal.event_id or "unreadable", token, Rejection(code, refusal.reason))

    def _reject(self, uow: UnitOfWork, event_id: str, token: str, rejection: Rejection) -> None:
        uow.session.add(
            HoursRejection(
                event_id=event_id,
                source_token=token,
                reason_code=rejection.code,
                reason=rejection.reason,
                received_at=utcnow(),
            )
        )
        uow.emit(
            HoursRejected(
                rejected_event_id=event_id,
                reason_code=rejection.code,
                reason=rejection.reason[:500],
            ),
            subject=subjects.hours_rejected_subject(token),
        )
