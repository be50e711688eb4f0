"""Certification's persistence for each person's standing over time: the facts the rules
read, the standings due for a check, the standing kept between evaluations and the
history of changes. Split from `repository` (people, ledger, operators' records) along
the seam between what is recorded and how a status is worked out from it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, RowMapping, String, and_, case, cast, literal, null, union_all, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from ips_shared.contracts.events import CertificationStatus, ReviewOutcome
from ips_shared.contracts.events import CertificationStatus as Status
from ips_shared.db import member_of
from ips_shared.listing import PageRequest

from ..domain import status, worklist
from .repository import (
    EntryKey,
    dialect,
    entry_among,
    in_region,
    paged,
    status_since,
    void_of_entry,
)
from .tables import (
    Certificate,
    DecisionRow,
    HoursEntry,
    HoursVoid,
    Participant,
    ReviewRow,
    StandingRow,
    StatusChange,
)


def due(session: Session, today: date, limit: int) -> list[str]:
    """The people whose next check has come (read through the index on its date).

    On PostgreSQL the rows are locked until the transaction ends, and rows another
    scheduler holds are skipped, not waited for."""
    query = (
        select(StandingRow.person_id)
        .where(col(StandingRow.next_check_on) <= today)
        .order_by(col(StandingRow.next_check_on))
        .limit(limit)
    )
    if dialect(session) == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.exec(query))


def locked_standings(session: Session, people: Collection[str]) -> list[StandingRow]:
    """These people's standings, locked first: a ledger batch for these people writes
    their standing too, so it commits before the caller reads the facts, or after the
    caller has finished."""
    return list(
        session.exec(
            select(StandingRow)
            .where(col(StandingRow.person_id).in_(people))
            .with_for_update()  # one evaluation of a person at a time (PostgreSQL)
        )
    )


def standing_of(row: StandingRow) -> status.Standing:
    return status.Standing(row.status, row.evaluated_on, row.certified_on, row.review_noticed_for)


def store_standing(
    session: Session, row: StandingRow, after: status.Standing, found: status.Assessment
) -> None:
    """Keep the advanced standing, with the next date on which time alone may change it
    and whether new hours could change it before then."""
    row.status = after.status
    row.evaluated_on = after.evaluated_on
    row.certified_on = after.certified_on
    row.review_noticed_for = after.review_noticed_for
    row.next_check_on = found.next_boundary()
    row.hours_matter = found.hours_may_change_it()
    seen = worklist.outlook(found)
    row.period_ends_on = seen.period_ends_on
    row.lead_from = seen.lead_from
    row.review_due_on = seen.review_due_on
    row.review_notice_from = seen.review_notice_from
    row.act_by = seen.act_by
    row.unmet = seen.unmet
    session.add(row)


def standing_row(session: Session, person_id: str) -> StandingRow:
    return session.get_one(StandingRow, person_id)


def current_status(session: Session, person_id: str) -> CertificationStatus | None:
    return standing_row(session, person_id).status


def postpone(session: Session, person_id: str, until: date) -> None:
    row = standing_row(session, person_id)
    row.next_check_on = until
    session.add(row)


def certified_on_by_person(session: Session) -> dict[str, date | None]:
    """Everyone's stored certification date (None before their first)."""
    return dict(session.exec(select(StandingRow.person_id, StandingRow.certified_on)).all())


def unseen_hours(session: Session, people: Iterable[str]) -> defaultdict[str, list[EntryKey]]:
    """Per person, the hours no status evaluation has seen yet (the news)."""
    unseen: defaultdict[str, list[EntryKey]] = defaultdict(list)
    for person_id, source, event_id in session.exec(
        select(HoursEntry.person_id, HoursEntry.source, HoursEntry.event_id)
        .where(
            member_of(col(HoursEntry.person_id), list(people), dialect(session)),
            col(HoursEntry.status_seen).is_(False),
        )
        .order_by(col(HoursEntry.recorded_at))
    ):
        unseen[person_id].append((source, event_id))
    return unseen


def mark_seen(session: Session, entries: Collection[EntryKey]) -> None:
    if entries:
        session.execute(
            update(HoursEntry).where(entry_among(session, entries)).values(status_seen=True)
        )


def add_status_change(
    session: Session,
    event_id: str,
    person_id: str,
    change: status.StatusChanged,
    caused_by: Collection[str],
    recorded_at: datetime,
) -> None:
    session.add(
        StatusChange(
            event_id=event_id,
            person_id=person_id,
            old_status=change.old,
            new_status=change.new,
            reason_code=change.reason,
            effective_on=change.effective,
            policy_version=change.policy_version,
            caused_by=list(caused_by),
            recorded_at=recorded_at,
        )
    )


def history(session: Session, person_id: str) -> list[StatusChange]:
    return list(
        session.exec(
            select(StatusChange)
            .where(StatusChange.person_id == person_id)
            .order_by(col(StatusChange.id))
        )
    )


def facts(session: Session, people: Iterable[str], zone: ZoneInfo) -> dict[str, status.Facts]:
    """Everything known of these people, as the rules read it (a few queries in all);
    the moments things were recorded count as days in `zone`."""
    ids = list(people)
    sql_dialect = dialect(session)
    entries: defaultdict[str, list[status.Entry]] = defaultdict(list)
    for event_id, person_id, activity_date, category, hours, recorded_at, voided_at in session.exec(
        select(  # columns, not table objects: this runs for every evaluation
            HoursEntry.event_id,
            HoursEntry.person_id,
            HoursEntry.activity_date,
            HoursEntry.category,
            HoursEntry.hours,
            HoursEntry.recorded_at,
            HoursVoid.voided_at,
        )
        .join(HoursVoid, void_of_entry(), isouter=True)
        .where(member_of(col(HoursEntry.person_id), ids, sql_dialect))
    ):
        entries[person_id].append(
            status.Entry(
                event_id,
                activity_date,
                category,
                hours,
                recorded_at.astimezone(zone).date(),
                voided_at.astimezone(zone).date() if voided_at else None,
            )
        )
    reviews: defaultdict[str, list[status.Review]] = defaultdict(list)
    for review in session.exec(
        select(ReviewRow).where(member_of(col(ReviewRow.person_id), ids, sql_dialect))
    ):
        reviews[review.person_id].append(
            status.Review(
                review.event_id,
                review.reviewed_on,
                review.outcome == ReviewOutcome.AFFIRMED,
                review.recorded_at.astimezone(zone).date(),
            )
        )
    decisions: defaultdict[str, list[status.OperatorDecision]] = defaultdict(list)
    for decision in session.exec(
        select(DecisionRow)
        .where(member_of(col(DecisionRow.person_id), ids, sql_dialect))
        .order_by(col(DecisionRow.id))
    ):
        decisions[decision.person_id].append(
            status.OperatorDecision(status.Decision(decision.decision), decision.taken_on)
        )
    imported = {
        person_id: (issued_on, imported_on)
        for person_id, issued_on, imported_on in session.exec(
            select(Certificate.person_id, Certificate.issued_on, Certificate.imported_on).where(
                member_of(col(Certificate.person_id), ids, sql_dialect), col(Certificate.imported)
            )
        )
    }
    return {
        participant.person_id: status.Facts(
            trained_on=participant.record_began_on,
            cohort_id=participant.cohort_id,
            entries=tuple(entries[participant.person_id]),
            reviews=tuple(reviews[participant.person_id]),
            decisions=tuple(decisions[participant.person_id]),
            certified_on=imported.get(participant.person_id, (None, None))[0],
            vouched_until=imported.get(participant.person_id, (None, None))[1],
        )
        for participant in session.exec(
            select(Participant).where(member_of(col(Participant.person_id), ids, sql_dialect))
        )
    }


# -- the worklist ------------------------------------------------------------------------


def _worklist_part(category: worklist.Category, today: date) -> Any:
    """One category of the worklist: its people and the day its days left count to."""
    Category = worklist.Category
    due: Any = {
        Category.AT_RISK: col(StandingRow.act_by),
        Category.LAPSED: cast(null(), Date),
        Category.REVIEW_DUE: col(StandingRow.review_due_on),
        Category.FIRST_YEAR_UNMET: col(StandingRow.period_ends_on),
    }[category]
    chosen: Any = {
        Category.AT_RISK: col(StandingRow.status) == Status.AT_RISK,
        Category.LAPSED: col(StandingRow.status) == Status.LAPSED,
        Category.REVIEW_DUE: and_(
            col(StandingRow.status).in_([Status.CERTIFIED, Status.AT_RISK]),
            col(StandingRow.review_notice_from) <= today,
            col(StandingRow.review_due_on) >= today,
        ),
        Category.FIRST_YEAR_UNMET: and_(
            col(StandingRow.status) == Status.TRAINED,
            col(StandingRow.unmet),
            col(StandingRow.lead_from) <= today,
            col(StandingRow.period_ends_on) > today,
        ),
    }[category]
    return (
        sa_select(
            col(StandingRow.person_id).label("person_id"),
            col(Participant.cohort_id).label("cohort_id"),
            col(Participant.region).label("region"),
            literal(category.value, String()).label("category"),
            col(StandingRow.status).label("status"),
            due.label("due_on"),
            status_since().label("since"),
            col(StandingRow.review_due_on).label("review_due_on"),
            col(StandingRow.evaluated_on).label("evaluated_on"),
            col(StandingRow.certified_on).label("certified_on"),
        )
        .join(Participant, col(Participant.person_id) == col(StandingRow.person_id))
        .where(chosen)
    )


def worklist_rows(
    session: Session,
    today: date,
    categories: Collection[worklist.Category],
    cohort_id: str | None,
    region: str | None,
    sort: worklist.Sort,
    page: PageRequest | None,
) -> tuple[list[RowMapping], int]:
    """The worklist's rows (a person once per category they are in), sorted and paged by
    the database: by days left (those without, the lapsed, last), then person."""
    parts = []
    for category in worklist.Category:
        if category in categories:
            part = _worklist_part(category, today)
            if cohort_id is not None:
                part = part.where(col(Participant.cohort_id) == cohort_id)
            if region is not None:
                part = part.where(in_region(region))
            parts.append(part)
    listed = union_all(*parts).subquery("worklist")
    without_days = case((listed.c.due_on.is_(None), 1), else_=0)
    by_person = (listed.c.person_id, listed.c.category)
    order = {
        worklist.Sort.DAYS_LEFT: (without_days, listed.c.due_on, listed.c.since, *by_person),
        worklist.Sort.DAYS_LEFT_DESC: (
            without_days,
            listed.c.due_on.desc(),
            listed.c.since,
            *by_person,
        ),
        worklist.Sort.PERSON: by_person,
    }[sort]
    return paged(session, sa_select(listed).order_by(*order), page)
