"""Certification's persistence for who is known, the hours ledger and what operators
recorded: queries, and rows made from the domain's types; the operators' lists and the
report's numbers. Each function takes the session of the unit of work at hand. (Standings
over time, and the worklist read from them: `standings`.)"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    RowMapping,
    Select,
    String,
    and_,
    bindparam,
    column,
    func,
    or_,
    tuple_,
    update,
)
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from ips_shared.contracts.envelope import CloudEvent
from ips_shared.contracts.events import (
    CertificationStatus,
    HoursCategory,
    HoursLogged,
    ReviewOutcome,
)
from ips_shared.db import bulk_insert, member_of
from ips_shared.listing import PageRequest

from ..commands import CertificateListed, PersonRow, RefusalCount, RefusalRow, RegionCount
from ..domain.certificates import certificate_number
from ..domain.errors import UnknownPerson
from ..domain.hours import Rejection
from ..domain.status import Decision
from .tables import (
    Certificate,
    DecisionRow,
    HoursEntry,
    HoursRejection,
    HoursVoid,
    OperatorAction,
    Participant,
    ReviewRow,
    StandingRow,
    StatusChange,
)

DayKey = tuple[str, date, str]  # person, day, source
EntryKey = tuple[str, str]  # source, event id: an entry's identity


def dialect(session: Session) -> str:
    return session.get_bind().dialect.name


# -- people ------------------------------------------------------------------------------


def known_among(session: Session, people: Collection[str]) -> set[str]:
    return set(
        session.exec(select(Participant.person_id).where(col(Participant.person_id).in_(people)))
    )


def add_participant(
    session: Session, person_id: str, began_on: date, cohort_id: str, region: str | None = None
) -> Participant:
    """A person known from now on, with a standing no evaluation has made yet."""
    added = Participant(
        person_id=person_id, record_began_on=began_on, cohort_id=cohort_id, region=region
    )
    session.add(added)
    session.add(StandingRow(person_id=person_id))
    return added


def set_region(session: Session, person_id: str, region: str) -> None:
    """The region a later training completion names replaces the one kept."""
    session.execute(
        update(Participant).where(col(Participant.person_id) == person_id).values(region=region)
    )


def participant(session: Session, person_id: str) -> Participant | None:
    return session.get(Participant, person_id)


def known_participant(session: Session, person_id: str) -> Participant:
    found = session.get(Participant, person_id)
    if found is None:
        raise UnknownPerson()
    return found


# -- the hours ledger --------------------------------------------------------------------


def record_began(session: Session, people: Collection[str]) -> dict[str, date]:
    return dict(
        session.exec(
            select(Participant.person_id, Participant.record_began_on).where(
                member_of(col(Participant.person_id), people, dialect(session))
            )
        ).all()
    )


def hours_so_far(
    session: Session, people: Collection[str], days: Collection[date]
) -> defaultdict[DayKey, Decimal]:
    """Hours in the ledger per person, day and source, for these people on these days."""
    sql_dialect = dialect(session)
    totals: defaultdict[DayKey, Decimal] = defaultdict(Decimal)
    for person, day, source, hours in session.exec(
        select(
            HoursEntry.person_id,
            HoursEntry.activity_date,
            HoursEntry.source,
            func.sum(HoursEntry.hours),
        )
        .where(
            member_of(col(HoursEntry.person_id), people, sql_dialect),
            member_of(col(HoursEntry.activity_date), days, sql_dialect),
        )
        .group_by(col(HoursEntry.person_id), col(HoursEntry.activity_date), col(HoursEntry.source))
    ):
        totals[(person, day, source)] = Decimal(hours)
    return totals


def add_hours(
    session: Session, accepted: Sequence[CloudEvent[HoursLogged]], recorded_at: datetime
) -> None:
    """One insert for a batch's accepted reports, none seen by a status evaluation yet."""
    bulk_insert(
        session.connection(),
        HoursEntry,
        [
            {
                "event_id": event.id,
                "person_id": event.data.person_id,
                "source": event.source,
                "category": event.data.category,
                "hours": event.data.hours,
                "activity_date": event.data.activity_date,
                "note": event.data.note,
                "recorded_at": recorded_at,
                "status_seen": False,
            }
            for event in accepted
        ],
    )


def mark_for_check(
    session: Session, people: Collection[str], today: date, *, only_if_hours_matter: bool
) -> bool:
    """Set these people's next check to today; whether any standing was marked.

    Every such row is written, even one already due: on PostgreSQL the write waits for
    a scheduler pass that holds the row, so that pass cannot clear the mark without
    having seen these facts."""
    marked = update(StandingRow).where(
        member_of(col(StandingRow.person_id), people, dialect(session))
    )
    if only_if_hours_matter:
        # Also a first year within its at-risk lead: the worklist shows whether it is met.
        marked = marked.where(
            or_(
                col(StandingRow.hours_matter),
                and_(
                    col(StandingRow.status) == CertificationStatus.TRAINED,
                    col(StandingRow.lead_from) <= today,
                ),
            )
        )
    return bool(session.execute(marked.values(next_check_on=today)).rowcount)  # type: ignore[attr-defined]


Refusal = tuple[str, str, Rejection, HoursLogged | None]
"""(event id, source token, why, what the report said when it could be read)."""


def add_rejections(session: Session, refusals: Sequence[Refusal], received_at: datetime) -> None:
    """The refused reports of a batch, in one statement (COPY on PostgreSQL)."""
    bulk_insert(
        session.connection(),
        HoursRejection,
        [
            {
                "event_id": event_id,
                "source_token": token,
                "reason_code": rejection.code,
                "reason": rejection.reason,
                "received_at": received_at,
                "person_id": report.person_id if report else None,
                "category": report.category.value if report else None,
                "hours": report.hours if report else None,
                "activity_date": report.activity_date if report else None,
            }
            for event_id, token, rejection, report in refusals
        ],
    )


def entries_with_id(session: Session, event_id: str, source: str | None) -> list[HoursEntry]:
    """The entries with this event id (from this source, if named): one per source."""
    query = select(HoursEntry).where(HoursEntry.event_id == event_id)
    if source is not None:
        query = query.where(HoursEntry.source == source)
    return list(session.exec(query.order_by(col(HoursEntry.source))))


def is_voided(session: Session, entry: HoursEntry) -> bool:
    key = {"entry_event_id": entry.event_id, "entry_source": entry.source}
    return session.get(HoursVoid, key) is not None


def add_void(session: Session, entry: HoursEntry, reason: str, actor: str, at: datetime) -> None:
    session.add(
        HoursVoid(
            entry_event_id=entry.event_id,
            entry_source=entry.source,
            reason=reason,
            actor=actor,
            voided_at=at,
        )
    )


def void_of_entry() -> ColumnElement[bool]:
    """The join condition of an entry and its void."""
    return and_(
        col(HoursVoid.entry_event_id) == col(HoursEntry.event_id),
        col(HoursVoid.entry_source) == col(HoursEntry.source),
    )


def hours_of(session: Session, person_id: str) -> list[tuple[HoursEntry, HoursVoid | None]]:
    """A person's entries in date order, each with its void if it has one."""
    rows = session.exec(
        select(HoursEntry, HoursVoid)
        .join(HoursVoid, void_of_entry(), isouter=True)
        .where(HoursEntry.person_id == person_id)
        .order_by(col(HoursEntry.activity_date), col(HoursEntry.event_id), col(HoursEntry.source))
    )
    return [(entry, void) for entry, void in rows]


def entry_among(session: Session, entries: Collection[EntryKey]) -> ColumnElement[bool]:
    """`(source, event_id) IN entries` for the ledger, with one parameter per column (as
    `member_of`, whatever the number of entries)."""
    sources, event_ids = [source for source, _ in entries], [event_id for _, event_id in entries]
    listed: Select[Any]
    if dialect(session) == "postgresql":
        listed = select(
            func.unnest(bindparam(None, sources, type_=ARRAY(String()))),
            func.unnest(bindparam(None, event_ids, type_=ARRAY(String()))),
        )
    else:
        pairs, item = bindparam(None, json.dumps(list(entries)), type_=String()), column("value")
        listed = select(
            func.json_extract(item, "$[0]"), func.json_extract(item, "$[1]")
        ).select_from(func.json_each(pairs))
    return tuple_(col(HoursEntry.source), col(HoursEntry.event_id)).in_(listed)


# -- what operators record ---------------------------------------------------------------


def add_audit(
    session: Session, action: str, target: str, actor: str, reason: str, at: datetime
) -> None:
    session.add(OperatorAction(action=action, target=target, actor=actor, reason=reason, at=at))


def has_review(session: Session, event_id: str) -> bool:
    return session.get(ReviewRow, event_id) is not None


def add_review(
    session: Session,
    event_id: str,
    person_id: str,
    reviewed_on: date,
    outcome: ReviewOutcome,
    recorded_at: datetime,
) -> None:
    session.add(
        ReviewRow(
            event_id=event_id,
            person_id=person_id,
            reviewed_on=reviewed_on,
            outcome=outcome,
            recorded_at=recorded_at,
        )
    )


def add_decision(
    session: Session, person_id: str, decision: Decision, taken_on: date, recorded_at: datetime
) -> None:
    session.add(
        DecisionRow(
            person_id=person_id, decision=decision, taken_on=taken_on, recorded_at=recorded_at
        )
    )


# -- certificates ------------------------------------------------------------------------


def certificate_of(session: Session, person_id: str) -> Certificate | None:
    return session.exec(select(Certificate).where(Certificate.person_id == person_id)).first()


def certificate_number_of(session: Session, person_id: str) -> str | None:
    return session.exec(
        select(Certificate.number).where(Certificate.person_id == person_id)
    ).first()


def holder_of(session: Session, number: str) -> str | None:
    return session.exec(select(Certificate.person_id).where(Certificate.number == number)).first()


def add_imported_certificate(
    session: Session, number: str, person_id: str, issued_on: date, imported_on: date
) -> None:
    session.add(
        Certificate(
            number=number,
            person_id=person_id,
            issued_on=issued_on,
            imported=True,
            imported_on=imported_on,
        )
    )


def issue_certificate(session: Session, person_id: str, issued_on: date, prefix: str) -> str:
    """The number is kept for life: issued once (an imported one is kept as it is)."""
    existing = certificate_of(session, person_id)
    if existing is not None and existing.number is not None:
        return existing.number
    certificate = existing or Certificate(person_id=person_id, issued_on=issued_on)
    session.add(certificate)
    session.flush()  # the sequence gives the number
    assert certificate.id is not None
    certificate.number = certificate_number(prefix, issued_on, certificate.id)
    session.add(certificate)
    return certificate.number


# -- operators' lists and the report ---------------------------------------------------
# Chosen, counted and paged by the database; `page=None` reads every matching row (a CSV
# export), in the same order.


def paged(
    session: Session, query: Select[Any], page: PageRequest | None
) -> tuple[list[RowMapping], int]:
    """The page's rows and how many match in all."""
    if page is None:
        found = list(session.execute(query).mappings())
        return found, len(found)
    total = session.execute(
        sa_select(func.count()).select_from(query.order_by(None).subquery())
    ).scalar_one()
    rows = session.execute(query.limit(page.page_size).offset(page.offset)).mappings()
    return list(rows), int(total)


def status_since() -> Any:
    """The day a standing's current status began (its latest change), per standing row."""
    return (
        sa_select(func.max(col(StatusChange.effective_on)))
        .where(col(StatusChange.person_id) == col(StandingRow.person_id))
        .correlate(StandingRow)
        .scalar_subquery()
    )


def in_region(region: str) -> ColumnElement[bool]:
    """A participant's region is this one, whatever the case (as enrollment matches it)."""
    return func.lower(col(Participant.region)) == region.lower()


def people(
    session: Session,
    status: CertificationStatus | None,
    cohort_id: str | None,
    region: str | None,
    page: PageRequest | None,
) -> tuple[list[PersonRow], int]:
    query = (
        sa_select(
            col(Participant.person_id).label("person_id"),
            col(Participant.cohort_id).label("cohort_id"),
            col(Participant.region).label("region"),
            col(Participant.record_began_on).label("trained_on"),
            col(StandingRow.status).label("status"),
            status_since().label("since"),
            col(StandingRow.certified_on).label("certified_on"),
            col(Certificate.number).label("certificate_number"),
        )
        .join(StandingRow, col(StandingRow.person_id) == col(Participant.person_id))
        .join(Certificate, col(Certificate.person_id) == col(Participant.person_id), isouter=True)
        .order_by(col(Participant.person_id))
    )
    if status is not None:
        query = query.where(col(StandingRow.status) == status)
    if cohort_id is not None:
        query = query.where(col(Participant.cohort_id) == cohort_id)
    if region is not None:
        query = query.where(in_region(region))
    rows, total = paged(session, query, page)
    return [PersonRow.model_validate(dict(row)) for row in rows], total


def _received_within(query: Select[Any], first: datetime | None, last: datetime | None) -> Any:
    if first is not None:
        query = query.where(col(HoursRejection.received_at) >= first)
    if last is not None:
        query = query.where(col(HoursRejection.received_at) < last)
    return query


REFUSAL_COLUMNS = (
    col(HoursRejection.received_at).label("received_at"),
    col(HoursRejection.source_token).label("source"),
    col(HoursRejection.event_id).label("event_id"),
    col(HoursRejection.reason_code).label("reason_code"),
    col(HoursRejection.reason).label("reason"),
    col(HoursRejection.person_id).label("person_id"),
    col(HoursRejection.category).label("category"),
    col(HoursRejection.hours).label("hours"),
    col(HoursRejection.activity_date).label("activity_date"),
)


def refusals(
    session: Session,
    source_token: str | None,
    reason_code: str | None,
    first: datetime | None,
    last: datetime | None,
    page: PageRequest | None,
) -> tuple[list[RefusalRow], int, list[RefusalCount]]:
    """Refused reports received in `[first, last)`, newest first, and every matching one
    counted per source and reason."""
    query = sa_select(*REFUSAL_COLUMNS)
    counted = sa_select(
        col(HoursRejection.source_token), col(HoursRejection.reason_code), func.count()
    )
    if source_token is not None:
        query = query.where(col(HoursRejection.source_token) == source_token)
        counted = counted.where(col(HoursRejection.source_token) == source_token)
    if reason_code is not None:
        query = query.where(col(HoursRejection.reason_code) == reason_code)
        counted = counted.where(col(HoursRejection.reason_code) == reason_code)
    query = _received_within(query, first, last).order_by(
        col(HoursRejection.received_at).desc(), col(HoursRejection.id).desc()
    )
    counted = _received_within(counted, first, last).group_by(
        col(HoursRejection.source_token), col(HoursRejection.reason_code)
    )
    rows, total = paged(session, query, page)
    counts = [
        RefusalCount(source=source, reason_code=reason, count=count)
        for source, reason, count in session.execute(counted)
    ]
    counts.sort(key=lambda c: (-c.count, c.source, c.reason_code))
    return [RefusalRow.model_validate(dict(row)) for row in rows], total, counts


def refusals_of(session: Session, person_id: str) -> list[RefusalRow]:
    query = (
        sa_select(*REFUSAL_COLUMNS)
        .where(col(HoursRejection.person_id) == person_id)
        .order_by(col(HoursRejection.received_at), col(HoursRejection.id))
    )
    return [RefusalRow.model_validate(dict(row)) for row in session.execute(query).mappings()]


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%"


def certificates(
    session: Session,
    number_prefix: str | None,
    status: CertificationStatus | None,
    region: str | None,
    first: date | None,
    last: date | None,
    page: PageRequest | None,
) -> tuple[list[CertificateListed], int]:
    """Certificates with a number, in number order; `first`/`last`: issued between."""
    query = (
        sa_select(
            col(Certificate.number).label("number"),
            col(Certificate.person_id).label("person_id"),
            col(Participant.region).label("region"),
            col(StandingRow.status).label("status"),
            col(Certificate.issued_on).label("issued_on"),
            col(Certificate.imported).label("imported"),
        )
        .join(StandingRow, col(StandingRow.person_id) == col(Certificate.person_id))
        .join(Participant, col(Participant.person_id) == col(Certificate.person_id))
        .where(col(Certificate.number).is_not(None))
        .order_by(col(Certificate.number))
    )
    if number_prefix:
        query = query.where(col(Certificate.number).like(_like_prefix(number_prefix), escape="\\"))
    if status is not None:
        query = query.where(col(StandingRow.status) == status)
    if region is not None:
        query = query.where(in_region(region))
    if first is not None:
        query = query.where(col(Certificate.issued_on) >= first)
    if last is not None:
        query = query.where(col(Certificate.issued_on) <= last)
    rows, total = paged(session, query, page)
    return [CertificateListed.model_validate(dict(row)) for row in rows], total


def people_by_status(session: Session) -> dict[str, int]:
    """How many people are in each status now (`none`: not evaluated yet)."""
    return {
        (status.value if status is not None else "none"): count
        for status, count in session.execute(
            sa_select(col(StandingRow.status), func.count()).group_by(col(StandingRow.status))
        )
    }


def people_by_region(session: Session) -> list[RegionCount]:
    """How many people are in each status now, per region as `in_region` matches it (its
    spellings differing in case are one, named by the first in sort order); those whose
    region is not known last."""
    matched = func.lower(col(Participant.region))
    names: dict[str | None, str | None] = {}
    counted: defaultdict[str | None, dict[str, int]] = defaultdict(dict)
    for key, region, status, count in session.execute(
        sa_select(matched, func.min(col(Participant.region)), col(StandingRow.status), func.count())
        .join(StandingRow, col(StandingRow.person_id) == col(Participant.person_id))
        .group_by(matched, col(StandingRow.status))
    ):
        named = names.get(key)
        names[key] = region if named is None or region is None else min(named, region)
        counted[key][status.value if status is not None else "none"] = count
    return [
        RegionCount(region=names[key], people_by_status=dict(sorted(counted[key].items())))
        for key in sorted(counted, key=lambda key: (key is None, key or ""))
    ]


def certificates_issued(session: Session, first: date, last: date) -> int:
    return certificates(session, None, None, None, first, last, PageRequest(1, 1))[1]


def changes_in(
    session: Session,
    first: date,
    last: date,
    *,
    new_status: CertificationStatus | None = None,
    reason_code: str | None = None,
) -> int:
    """Status changes effective in the period (to `new_status`, for `reason_code`)."""
    query = sa_select(func.count()).where(
        col(StatusChange.effective_on) >= first, col(StatusChange.effective_on) <= last
    )
    if new_status is not None:
        query = query.where(col(StatusChange.new_status) == new_status)
    if reason_code is not None:
        query = query.where(col(StatusChange.reason_code) == reason_code)
    return int(session.execute(query).scalar_one())


def hours_by_category_and_month(
    session: Session, first: date, last: date
) -> list[tuple[HoursCategory, str, Decimal]]:
    """Accepted hours not voided, by category and month of their activity date."""
    if dialect(session) == "postgresql":
        month = func.to_char(col(HoursEntry.activity_date), "YYYY-MM")
    else:
        month = func.strftime("%Y-%m", col(HoursEntry.activity_date))
    query = (
        sa_select(col(HoursEntry.category), month.label("month"), func.sum(col(HoursEntry.hours)))
        .join(HoursVoid, void_of_entry(), isouter=True)
        .where(
            col(HoursVoid.entry_event_id).is_(None),
            col(HoursEntry.activity_date) >= first,
            col(HoursEntry.activity_date) <= last,
        )
        .group_by(col(HoursEntry.category), month)
        .order_by(month, col(HoursEntry.category))
    )
    return [
        (category, month_of, Decimal(str(total)).quantize(Decimal("0.01")))
        for category, month_of, total in session.execute(query)
    ]


def reviews_held(session: Session, first: date, last: date) -> dict[str, int]:
    return {
        outcome.value: count
        for outcome, count in session.execute(
            sa_select(col(ReviewRow.outcome), func.count())
            .where(col(ReviewRow.reviewed_on) >= first, col(ReviewRow.reviewed_on) <= last)
            .group_by(col(ReviewRow.outcome))
        )
    }
