"""Certification use cases: who is known here, the hours ledger, each person's standing
over time (the scheduler's work), reviews, operator decisions and explanations."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, update
from sqlmodel import col, select

from ips_shared.contracts import subjects
from ips_shared.contracts.envelope import CloudEvent
from ips_shared.contracts.events import (
    CertificationStatus,
    CertificationStatusChanged,
    HoursLogged,
    HoursRejected,
    HoursRejectionCode,
    ReviewCompleted,
    ReviewDue,
    ReviewOutcome,
    TrainingCompleted,
)
from ips_shared.db import bulk_insert, member_of
from ips_shared.messaging.consumer import Refusal
from ips_shared.messaging.unit_of_work import UnitOfWork

from .db import tables
from .db.tables import HoursEntry, HoursRejection, HoursVoid, OperatorAction, Participant
from .domain import status as rules
from .domain.certificates import CertificateRow
from .domain.errors import (
    AlreadyVoided,
    CertificateConflict,
    InvalidCertificate,
    InvalidDecision,
    InvalidReview,
    NotFound,
)
from .domain.hours import Claim, Rejection, check
from .domain.policy import CertificationPolicy, Rules

Clock = Callable[[], datetime]
DayKey = tuple[str, date, str]  # person, day, source
CAUSES_KEPT = 20  # event ids named as the causes of one change


@dataclass(frozen=True)
class Explanation:
    person_id: str
    standing: tables.Standing
    certificate_number: str | None
    trained_on: date
    assessment: rules.Assessment
    history: list[tables.StatusChange]


@dataclass(frozen=True)
class WhatIf:
    person_id: str
    current: CertificationStatus
    would_be: CertificationStatus
    reason_code: str


class CertificationService:
    def __init__(
        self, policy: CertificationPolicy, clock: Clock = lambda: datetime.now(UTC)
    ) -> None:
        self.policy = policy
        self._zone = ZoneInfo(policy.timezone)
        self._clock = clock
        self.wake_scheduler: Callable[[], None] = lambda: None  # the scheduler sets it

    def now(self) -> datetime:
        """Every time this service records comes from its clock, so that what was known
        on a date is consistent when tests move the clock."""
        return self._clock()

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
        causes: dict[str, list[str]] = {}
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
                uow.session.add(tables.Standing(person_id=event.data.person_id))
                causes[event.data.person_id] = [event.id]
        uow.session.flush()
        self._evaluate(uow, causes, self.today())

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
        today, now, accepted = self.today(), self.now(), []
        for event in events:
            data = event.data
            key = (data.person_id, data.activity_date, event.source)
            rejection = check(
                Claim(data.person_id, event.source, data.hours, data.activity_date),
                record_began=began.get(data.person_id),
                already_that_day=totals[key],
                today=today,
                max_per_day=self.policy.max_hours_per_day_per_source,
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
                    "status_seen": False,
                }
            )
        bulk_insert(db.connection(), HoursEntry, accepted)
        self._check_soon(uow, {row["person_id"] for row in accepted}, today, new_hours=True)

    def _check_soon(
        self, uow: UnitOfWork, people: set[str], today: date, *, new_hours: bool = False
    ) -> None:
        """New facts: the scheduler looks at these people today (not in this transaction,
        so the ledger's throughput does not depend on status work). New hours only for
        the people whose status they could change (`hours_matter`).

        Every such row is written, even one already due: on PostgreSQL the write waits for
        a scheduler pass that holds the row, so that pass cannot clear the mark without
        having seen these facts."""
        if not people:
            return
        dialect = uow.session.get_bind().dialect.name
        marked = update(tables.Standing).where(
            member_of(col(tables.Standing.person_id), people, dialect)
        )
        if new_hours:
            marked = marked.where(col(tables.Standing.hours_matter))
        if uow.session.execute(marked.values(next_check_on=today)).rowcount:  # type: ignore[attr-defined]
            uow.on_commit(self.wake_scheduler)

    def void_entry(self, uow: UnitOfWork, event_id: str, actor: str, reason: str) -> HoursVoid:
        """An operator's correction: append-only, with an audit entry naming who and why."""
        db = uow.session
        if db.get(HoursEntry, event_id) is None:
            raise NotFound(f"No hours entry has the event id {event_id!r}.")
        if db.get(HoursVoid, event_id) is not None:
            raise AlreadyVoided("This entry is voided already.")
        now = self.now()
        void = HoursVoid(entry_event_id=event_id, reason=reason, actor=actor, voided_at=now)
        db.add(void)
        self._audit(uow, "void_hours", event_id, actor, reason, now)
        self._check_soon(uow, {db.get_one(HoursEntry, event_id).person_id}, self.today())
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
                received_at=self.now(),
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

    def import_certificate_row(self, uow: UnitOfWork, row: CertificateRow, file_name: str) -> bool:
        """A certificate granted before this system, from a state's spreadsheet; returns
        whether anything was new. The person's standing starts from it (the years it
        covers until today count as met) and the change is announced with its number.

        Importing the same row again changes nothing and emits nothing."""
        db = uow.session
        today, person_id = self.today(), row.person_id
        held = db.exec(
            select(tables.Certificate).where(tables.Certificate.person_id == person_id)
        ).first()
        if held is not None:
            if held.number == row.certificate_number:
                return False
            raise CertificateConflict("This person holds another certificate number already.")
        taken = db.exec(
            select(tables.Certificate.person_id).where(
                tables.Certificate.number == row.certificate_number
            )
        ).first()
        if taken is not None:
            raise CertificateConflict("This certificate number belongs to another person.")
        if row.certified_on > today:
            raise InvalidCertificate("certified_on is in the future.")
        if row.last_review_on is not None and row.last_review_on > today:
            raise InvalidCertificate("last_review_on is in the future.")
        participant = db.get(Participant, person_id)
        if participant is None:
            db.add(
                Participant(
                    person_id=person_id, record_began_on=row.trained_on, cohort_id=row.cohort
                )
            )
            db.add(tables.Standing(person_id=person_id))
            db.flush()
        else:  # known from their training completion: that record stands
            began = participant.record_began_on
            if row.certified_on < began:
                raise InvalidCertificate("certified_on is before this person's training completed.")
            if row.last_review_on is not None and row.last_review_on < began:
                raise InvalidCertificate(
                    "last_review_on is before this person's training completed."
                )
        now = self.now()
        db.add(
            tables.Certificate(
                number=row.certificate_number,
                person_id=person_id,
                issued_on=row.certified_on,
                imported=True,
                imported_on=today,
            )
        )
        if row.last_review_on is not None:
            review_id = f"import:{person_id}:{row.last_review_on.isoformat()}"
            if db.get(tables.Review, review_id) is None:
                db.add(  # a review of the past: recorded, not announced (no ReviewCompleted)
                    tables.Review(
                        event_id=review_id,
                        person_id=person_id,
                        reviewed_on=row.last_review_on,
                        outcome=ReviewOutcome.AFFIRMED,
                        recorded_at=now,
                    )
                )
        self._audit(
            uow, "import_certificate", person_id, "import", f"imported from {file_name}"[:500], now
        )
        db.flush()
        self._evaluate(uow, {person_id: []}, today)
        return True

    # -- standing over time ------------------------------------------------------------

    def due(self, uow: UnitOfWork, limit: int) -> list[str]:
        """The people whose next check has come (read through the index on its date).

        On PostgreSQL the rows are locked until the transaction ends, and rows another
        scheduler holds are skipped, not waited for."""
        query = (
            select(tables.Standing.person_id)
            .where(col(tables.Standing.next_check_on) <= self.today())
            .order_by(col(tables.Standing.next_check_on))
            .limit(limit)
        )
        if uow.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return list(uow.session.exec(query))

    def bring_up_to_date(self, uow: UnitOfWork, people: Sequence[str]) -> None:
        self._evaluate(uow, {person: [] for person in people}, self.today())

    def postpone(self, uow: UnitOfWork, person_id: str) -> None:
        """A person whose evaluation failed is tried again tomorrow, not in a tight loop."""
        standing = uow.session.get_one(tables.Standing, person_id)
        standing.next_check_on = self.today() + timedelta(days=1)
        uow.session.add(standing)

    def _evaluate(self, uow: UnitOfWork, causes: dict[str, list[str]], today: date) -> None:
        """Advance each person's standing to today; emit what happened, in one transaction.

        `causes`: per person, the ids of the events that prompted this evaluation; hours
        this evaluation is the first to see are named as causes too. The standings are
        locked first: a ledger batch for these people writes their standing too, so it
        commits before this reads the facts, or after this has finished."""
        if not causes:
            return
        db = uow.session
        standings = list(
            db.exec(
                select(tables.Standing)
                .where(col(tables.Standing.person_id).in_(causes))
                .with_for_update()  # one evaluation of a person at a time (PostgreSQL)
            )
        )
        facts = self._facts(uow, causes.keys())
        unseen = self._unseen_hours(uow, causes.keys())
        for stored in standings:
            person_id = stored.person_id
            before = rules.Standing(
                stored.status, stored.evaluated_on, stored.certified_on, stored.review_noticed_for
            )
            after, occasions, assessment = rules.advance(
                before, facts[person_id], self.policy, today
            )
            news = [*causes[person_id], *unseen[person_id]]
            for occasion in occasions:
                if isinstance(occasion, rules.StatusChanged):
                    self._record_change(uow, person_id, occasion, news, today)
                else:
                    uow.emit(
                        ReviewDue(person_id=person_id, due_date=occasion.due),
                        partition_key=person_id,
                    )
            stored.status = after.status
            stored.evaluated_on = after.evaluated_on
            stored.certified_on = after.certified_on
            stored.review_noticed_for = after.review_noticed_for
            stored.next_check_on = assessment.next_boundary()
            stored.hours_matter = assessment.hours_may_change_it()
            db.add(stored)
        seen = [event_id for ids in unseen.values() for event_id in ids]
        if seen:
            dialect = db.get_bind().dialect.name
            db.execute(
                update(HoursEntry)
                .where(member_of(col(HoursEntry.event_id), seen, dialect))
                .values(status_seen=True)
            )

    def _unseen_hours(self, uow: UnitOfWork, people: Iterable[str]) -> dict[str, list[str]]:
        """Per person, the hours no status evaluation has seen yet (the news)."""
        dialect = uow.session.get_bind().dialect.name
        unseen: dict[str, list[str]] = defaultdict(list)
        for person_id, event_id in uow.session.exec(
            select(HoursEntry.person_id, HoursEntry.event_id)
            .where(
                member_of(col(HoursEntry.person_id), list(people), dialect),
                col(HoursEntry.status_seen).is_(False),
            )
            .order_by(col(HoursEntry.recorded_at))
        ):
            unseen[person_id].append(event_id)
        return unseen

    def _record_change(
        self,
        uow: UnitOfWork,
        person_id: str,
        change: rules.StatusChanged,
        news: list[str],
        today: date,
    ) -> None:
        number = (
            self._issue_certificate(uow, person_id, change.effective)
            if change.first_certification
            else None
        )
        caused_by = tuple(news[:CAUSES_KEPT]) if change.effective == today else ()
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
            ),
            partition_key=person_id,
        )
        uow.session.add(
            tables.StatusChange(
                event_id=envelope.id,
                person_id=person_id,
                old_status=change.old,
                new_status=change.new,
                reason_code=change.reason,
                effective_on=change.effective,
                policy_version=change.policy_version,
                caused_by=list(caused_by),
                recorded_at=self.now(),
            )
        )

    def _issue_certificate(self, uow: UnitOfWork, person_id: str, issued_on: date) -> str:
        """The number is kept for life: issued once (an imported one is kept as it is)."""
        db = uow.session
        existing = db.exec(
            select(tables.Certificate).where(tables.Certificate.person_id == person_id)
        ).first()
        if existing is not None and existing.number is not None:
            return existing.number
        certificate = existing or tables.Certificate(person_id=person_id, issued_on=issued_on)
        db.add(certificate)
        db.flush()  # the sequence gives the number
        certificate.number = (
            f"{self.policy.certificate_prefix}-{issued_on.year}-{certificate.id:06d}"
        )
        db.add(certificate)
        return certificate.number

    def _facts(self, uow: UnitOfWork, people: Iterable[str]) -> dict[str, rules.Facts]:
        """Everything known of these people, as the rules read it (a few queries in all)."""
        db = uow.session
        ids = list(people)
        dialect = db.get_bind().dialect.name
        entries: dict[str, list[rules.Entry]] = defaultdict(list)
        for event_id, person_id, activity_date, category, hours, recorded_at, voided_at in db.exec(
            select(  # columns, not table objects: this runs for every evaluation
                HoursEntry.event_id,
                HoursEntry.person_id,
                HoursEntry.activity_date,
                HoursEntry.category,
                HoursEntry.hours,
                HoursEntry.recorded_at,
                HoursVoid.voided_at,
            )
            .join(
                HoursVoid, col(HoursVoid.entry_event_id) == col(HoursEntry.event_id), isouter=True
            )
            .where(member_of(col(HoursEntry.person_id), ids, dialect))
        ):
            entries[person_id].append(
                rules.Entry(
                    event_id,
                    activity_date,
                    category,
                    hours,
                    self._local_date(recorded_at),
                    self._local_date(voided_at) if voided_at else None,
                )
            )
        reviews: dict[str, list[rules.Review]] = defaultdict(list)
        for review in db.exec(
            select(tables.Review).where(member_of(col(tables.Review.person_id), ids, dialect))
        ):
            reviews[review.person_id].append(
                rules.Review(
                    review.event_id,
                    review.reviewed_on,
                    review.outcome == ReviewOutcome.AFFIRMED,
                    self._local_date(review.recorded_at),
                )
            )
        decisions: dict[str, list[rules.OperatorDecision]] = defaultdict(list)
        for decision in db.exec(
            select(tables.Decision)
            .where(member_of(col(tables.Decision.person_id), ids, dialect))
            .order_by(col(tables.Decision.id))
        ):
            decisions[decision.person_id].append(
                rules.OperatorDecision(rules.Decision(decision.decision), decision.taken_on)
            )
        imported = {
            person_id: (issued_on, imported_on)
            for person_id, issued_on, imported_on in db.exec(
                select(
                    tables.Certificate.person_id,
                    tables.Certificate.issued_on,
                    tables.Certificate.imported_on,
                ).where(
                    member_of(col(tables.Certificate.person_id), ids, dialect),
                    col(tables.Certificate.imported),
                )
            )
        }
        return {
            participant.person_id: rules.Facts(
                trained_on=participant.record_began_on,
                cohort_id=participant.cohort_id,
                entries=tuple(entries[participant.person_id]),
                reviews=tuple(reviews[participant.person_id]),
                decisions=tuple(decisions[participant.person_id]),
                certified_on=imported.get(participant.person_id, (None, None))[0],
                vouched_until=imported.get(participant.person_id, (None, None))[1],
            )
            for participant in db.exec(
                select(Participant).where(member_of(col(Participant.person_id), ids, dialect))
            )
        }

    def _local_date(self, moment: datetime) -> date:
        return moment.astimezone(self._zone).date()

    # -- operators and people ---------------------------------------------------------

    def _participant(self, uow: UnitOfWork, person_id: str) -> Participant:
        participant = uow.session.get(Participant, person_id)
        if participant is None:
            raise NotFound(f"No person with the id {person_id!r} is known to certification.")
        return participant

    def record_review(
        self,
        uow: UnitOfWork,
        person_id: str,
        reviewed_on: date,
        outcome: ReviewOutcome,
        actor: str,
        reason: str,
    ) -> str:
        """An operator records a review outcome; it may reinstate or keep someone current."""
        participant = self._participant(uow, person_id)
        today = self.today()
        if reviewed_on > today:
            raise InvalidReview("The review date is in the future.")
        if reviewed_on < participant.record_began_on:
            raise InvalidReview("The review date is before this person's training completed.")
        envelope = uow.emit(
            ReviewCompleted(person_id=person_id, reviewed_on=reviewed_on, outcome=outcome),
            partition_key=person_id,
        )
        now = self.now()
        uow.session.add(
            tables.Review(
                event_id=envelope.id,
                person_id=person_id,
                reviewed_on=reviewed_on,
                outcome=outcome,
                recorded_at=now,
            )
        )
        self._audit(uow, f"record_review_{outcome}", person_id, actor, reason, now)
        uow.session.flush()
        self._evaluate(uow, {person_id: [envelope.id]}, today)
        return envelope.id

    def decide(
        self, uow: UnitOfWork, person_id: str, decision: rules.Decision, actor: str, reason: str
    ) -> CertificationStatus:
        """Suspend, withdraw or reinstate, from today; returns the status it leads to."""
        self._participant(uow, person_id)
        today = self.today()
        self._evaluate(uow, {person_id: []}, today)  # the decision applies to today's status
        standing = uow.session.get_one(tables.Standing, person_id)
        held = standing.status in rules.HELD
        if decision is rules.Decision.REINSTATE and not held:
            raise InvalidDecision(
                "Only a suspended or withdrawn person can be reinstated by an operator; "
                "a lapsed one is reinstated when the missing hours or review are recorded."
            )
        if decision is not rules.Decision.REINSTATE and standing.status == rules.HOLDS[decision][0]:
            raise InvalidDecision(f"This person is {standing.status} already.")
        now = self.now()
        uow.session.add(
            tables.Decision(person_id=person_id, decision=decision, taken_on=today, recorded_at=now)
        )
        self._audit(uow, decision.value, person_id, actor, reason, now)
        uow.session.flush()
        self._evaluate(uow, {person_id: []}, today)
        return uow.session.get_one(tables.Standing, person_id).status  # type: ignore[return-value]

    def _audit(
        self, uow: UnitOfWork, action: str, target: str, actor: str, reason: str, at: datetime
    ) -> None:
        uow.session.add(
            OperatorAction(action=action, target=target, actor=actor, reason=reason, at=at)
        )

    def explain(self, uow: UnitOfWork, person_id: str) -> Explanation:
        """Status, dates, progress toward this period's requirements, and the history."""
        participant = self._participant(uow, person_id)
        db = uow.session
        standing = db.get_one(tables.Standing, person_id)
        facts = self._facts(uow, [person_id])[person_id]
        today = max(self.today(), standing.evaluated_on or participant.record_began_on)
        assessment = rules.assess(
            facts, self.policy, today, known_certified_on=standing.certified_on
        )
        certificate = db.exec(
            select(tables.Certificate.number).where(tables.Certificate.person_id == person_id)
        ).first()
        history = list(
            db.exec(
                select(tables.StatusChange)
                .where(tables.StatusChange.person_id == person_id)
                .order_by(col(tables.StatusChange.id))
            )
        )
        return Explanation(
            person_id, standing, certificate, participant.record_began_on, assessment, history
        )

    def what_if(self, uow: UnitOfWork, draft: Rules) -> tuple[date, list[WhatIf]]:
        """Whose status would differ under a draft rule version, and how; changes nothing.

        Compared on the draft's effective date (or today, if that has passed)."""
        on = max(self.today(), draft.effective_from)
        proposed = self.policy.with_draft(draft)
        db = uow.session
        anchors = dict(
            db.exec(select(tables.Standing.person_id, tables.Standing.certified_on)).all()
        )
        differences = []
        people = list(anchors)
        for offset in range(0, len(people), 500):
            batch = people[offset : offset + 500]
            for person_id, facts in self._facts(uow, batch).items():
                now = rules.assess(facts, self.policy, on, known_certified_on=anchors[person_id])
                then = rules.assess(facts, proposed, on, known_certified_on=anchors[person_id])
                if now.status != then.status:
                    differences.append(WhatIf(person_id, now.status, then.status, then.reason))
        return on, sorted(differences, key=lambda difference: difference.person_id)
