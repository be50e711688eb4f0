"""What operators read every day: the worklist, people, refused reports, certificates, and
certification's part of the statewide report. Each list is chosen, counted and paged by
the database (`db.repository`, `db.standings`); a page of `None` is every matching row."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import RowMapping

from ips_shared.contracts.events import CertificationStatus
from ips_shared.listing import Paged, PageRequest
from ips_shared.messaging.unit_of_work import UnitOfWork

from ..commands import (
    CertificateListed,
    Certificates,
    HoursInMonth,
    People,
    Period,
    PersonRow,
    RefusalRow,
    RefusalsOf,
    RefusedPage,
    RefusedReports,
    ShortfallOut,
    Summarize,
    Summary,
    Worklist,
    WorklistRow,
)
from ..db import repository, standings
from ..domain import status
from ..domain.calendar import Calendar
from ..domain.errors import InvalidPeriod
from ..domain.policy import CertificationPolicy
from ..domain.worklist import Category, days_left, missing_for

FACTS_BATCH = 500  # people whose facts are read at a time (a CSV export of the worklist)

T = TypeVar("T")


def _paged(items: list[T], total: int, page: PageRequest | None) -> Paged[T]:
    if page is None:
        return Paged(items=items, total=total, page=1, page_size=max(total, 1))
    return Paged(items=items, total=total, page=page.page, page_size=page.page_size)


def checked(period: Period) -> Period:
    if period.first is not None and period.last is not None and period.first > period.last:
        raise InvalidPeriod()
    return period


def _start_of(day: date | None, zone: ZoneInfo) -> datetime | None:
    return None if day is None else datetime.combine(day, time(0), tzinfo=zone)


def worklist(
    query: Worklist, uow: UnitOfWork, *, calendar: Calendar, policy: CertificationPolicy
) -> Paged[WorklistRow]:
    """People who need outreach today, with what each is missing (worked out from their
    facts, for the rows of the page only)."""
    today = calendar.today()
    rows, total = standings.worklist_rows(
        uow.session,
        today,
        query.categories,
        query.cohort_id,
        query.region,
        query.sort,
        query.page,
    )
    items: list[WorklistRow] = []
    for offset in range(0, len(rows), FACTS_BATCH):
        items.extend(_with_needs(uow, rows[offset : offset + FACTS_BATCH], today, calendar, policy))
    return _paged(items, total, query.page)


def _with_needs(
    uow: UnitOfWork,
    rows: Sequence[RowMapping],
    today: date,
    calendar: Calendar,
    policy: CertificationPolicy,
) -> list[WorklistRow]:
    facts = standings.facts(uow.session, {row["person_id"] for row in rows}, calendar.zone)
    listed = []
    for row in rows:
        on = max(today, row["evaluated_on"] or today)
        person = facts[row["person_id"]]
        found = status.assess(person, policy, on, known_certified_on=row["certified_on"])
        category = Category(row["category"])
        listed.append(
            WorklistRow(
                person_id=row["person_id"],
                cohort_id=row["cohort_id"],
                region=row["region"],
                category=category,
                status=row["status"],
                due_on=row["due_on"],
                days_left=days_left(row["due_on"], today),
                since=row["since"],
                review_due_on=row["review_due_on"],
                missing=[
                    ShortfallOut(requirement=s.requirement, missing=s.missing, unit=s.unit)
                    for s in missing_for(category, person, policy, found)
                ],
            )
        )
    return listed


def people(query: People, uow: UnitOfWork) -> Paged[PersonRow]:
    items, total = repository.people(
        uow.session, query.status, query.cohort_id, query.region, query.page
    )
    return _paged(items, total, query.page)


def refused_reports(query: RefusedReports, uow: UnitOfWork, *, calendar: Calendar) -> RefusedPage:
    """Refused reports received in the period (days in the program's time zone)."""
    period = checked(query.received)
    last = None if period.last is None else period.last + timedelta(days=1)
    items, total, counts = repository.refusals(
        uow.session,
        query.source_token,
        query.reason_code,
        _start_of(period.first, calendar.zone),
        _start_of(last, calendar.zone),
        query.page,
    )
    page = _paged(items, total, query.page)
    return RefusedPage(**page.model_dump(exclude={"items"}), items=items, counts=counts)


def refusals_of(query: RefusalsOf, uow: UnitOfWork) -> list[RefusalRow]:
    repository.known_participant(uow.session, query.person_id)
    return repository.refusals_of(uow.session, query.person_id)


def certificates(query: Certificates, uow: UnitOfWork) -> Paged[CertificateListed]:
    period = checked(query.issued)
    items, total = repository.certificates(
        uow.session,
        query.number_prefix,
        query.status,
        query.region,
        period.first,
        period.last,
        query.page,
    )
    return _paged(items, total, query.page)


def summarize(query: Summarize, uow: UnitOfWork) -> Summary:
    """Certification's part of the statewide report; each number is what the matching list
    counts (`/people?status=`, `/people?region=&status=`,
    `/certificates?issued_from=&issued_to=`)."""
    first, last = query.first_day, query.last_day
    checked(Period(first, last))
    db = uow.session
    return Summary(
        first_day=first,
        last_day=last,
        people_by_status=repository.people_by_status(db),
        people_by_region=repository.people_by_region(db),
        certificates_granted=repository.certificates_issued(db, first, last),
        lapsed=repository.changes_in(db, first, last, new_status=CertificationStatus.LAPSED),
        reinstated=repository.changes_in(db, first, last, reason_code=status.Reason.REINSTATED),
        hours=[
            HoursInMonth(category=category, month=month, hours=hours)
            for category, month, hours in repository.hours_by_category_and_month(db, first, last)
        ],
        reviews_held=repository.reviews_held(db, first, last),
    )
