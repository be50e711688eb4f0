"""Enrollment's persistence for what operators read: people and one person's whole record,
applications, cohorts and their rosters, Peer Support 101 sessions and the trainers
assigned to cohorts and sessions, each filtered, counted and paged in SQL (`page=None`
reads every matching row, a CSV export, in the same order); and the numbers of the
statewide report, each the `total` of the matching list. Split from `repository` (the
rows the use cases write and read) along the seam between what is recorded and how
operators read it."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import ColumnElement, delete
from sqlmodel import Session, col, func, select

from ips_shared.listing import PageRequest

from ..domain.applications import ApplicationStatus
from ..domain.listings import (
    ApplicationEntry,
    ApplicationsFilter,
    ApplicationSummary,
    AttendanceEntry,
    CohortsFilter,
    CohortSummary,
    IntakeCounts,
    PeopleFilter,
    PersonSummary,
    Ps101Entry,
    RegionCounts,
    RosterFilter,
    SessionsFilter,
    SessionSummary,
    TrainingEntry,
    Window,
    intake_counts,
)
from ..domain.training import TRAINING_DAYS
from .repository import IMPORTED_SESSION, applications_of
from .tables import (
    Application,
    Attendance,
    Cohort,
    CohortSchedule,
    CohortTrainer,
    CohortTrainingDay,
    Person,
    Ps101Registration,
    Ps101Session,
    Ps101SessionTrainer,
    TrainingCompletion,
)

# -- operators' lists: filters, counts and pages in SQL ---------------------------------------


def _paged(session: Session, statement: Any, page: PageRequest | None) -> list[Any]:
    if page is not None:
        statement = statement.offset(page.offset).limit(page.page_size)
    return list(session.execute(statement).all())


def _count(session: Session, conditions: Sequence[ColumnElement[bool]], source: Any) -> int:
    statement = sa.select(func.count()).select_from(source)
    return int(session.execute(statement.where(*conditions)).scalar_one())


def _within(column: Any, window: Window) -> list[ColumnElement[bool]]:
    found = []
    if window.since is not None:
        found.append(column >= window.since)
    if window.until is not None:
        found.append(column < window.until)
    return found


def _contains(column: Any, text: str) -> ColumnElement[bool]:
    """Case-insensitive substring; `%` and `_` in `text` are themselves."""
    return func.lower(column).contains(text.lower(), autoescape=True)  # type: ignore[no-any-return]


def _is(condition: ColumnElement[bool], wanted: bool) -> ColumnElement[bool]:
    return condition if wanted else sa.not_(condition)


def _completed_ps101(person_id: Any) -> ColumnElement[bool]:
    return sa.exists().where(
        col(Ps101Registration.person_id) == person_id,
        col(Ps101Registration.completed_on).is_not(None),
    )


def _trained(person_id: Any) -> ColumnElement[bool]:
    return sa.exists().where(col(TrainingCompletion.person_id) == person_id)


def _people_conditions(wanted: PeopleFilter, timezone: ZoneInfo) -> list[ColumnElement[bool]]:
    person_id = col(Person.id)
    found: list[ColumnElement[bool]] = []
    if wanted.name:
        found.append(_contains(Person.name, wanted.name))
    if wanted.region:
        found.append(func.lower(Person.region) == wanted.region.lower())
    if wanted.completed_ps101 is not None:
        found.append(_is(_completed_ps101(person_id), wanted.completed_ps101))
    if wanted.applied is not None:
        applied = sa.exists().where(col(Application.person_id) == person_id)
        found.append(_is(applied, wanted.applied))
    if wanted.trained is not None:
        found.append(_is(_trained(person_id), wanted.trained))
    found.extend(_within(col(Person.created_at), wanted.registered.window(timezone)))
    trained_on = wanted.trained_on
    if trained_on.first is not None or trained_on.last is not None:
        when = [col(TrainingCompletion.person_id) == person_id]
        if trained_on.first is not None:
            when.append(col(TrainingCompletion.completed_on) >= trained_on.first)
        if trained_on.last is not None:
            when.append(col(TrainingCompletion.completed_on) <= trained_on.last)
        found.append(sa.exists().where(*when))
    return found


def people(
    session: Session, wanted: PeopleFilter, timezone: ZoneInfo, page: PageRequest | None
) -> tuple[list[PersonSummary], int]:
    """The people matching `wanted`, by name then id, and how many match in all."""
    conditions = _people_conditions(wanted, timezone)
    total = _count(session, conditions, Person)
    person_id = col(Person.id)
    ps101_on = (
        sa.select(func.min(Ps101Registration.completed_on))
        .where(col(Ps101Registration.person_id) == person_id)
        .scalar_subquery()
    )
    applications = (
        sa.select(func.count())
        .select_from(Application)
        .where(col(Application.person_id) == person_id)
        .scalar_subquery()
    )
    latest_intake = (
        sa.select(Application.intake)
        .where(col(Application.person_id) == person_id)
        .order_by(col(Application.submitted_at).desc(), col(Application.id).desc())
        .limit(1)
        .scalar_subquery()
    )
    trained_on = (
        sa.select(TrainingCompletion.completed_on)
        .where(col(TrainingCompletion.person_id) == person_id)
        .scalar_subquery()
    )
    statement = (
        sa.select(Person, ps101_on, applications, latest_intake, trained_on)
        .where(*conditions)
        .order_by(func.lower(Person.name), col(Person.name), person_id)
    )
    return [
        PersonSummary(
            person_id=person.id,
            name=person.name,
            region=person.region,
            email=person.email,
            phone=person.phone,
            preferred_channel=person.preferred_channel,
            language=person.language,
            registered_at=person.created_at,
            ps101_completed_on=ps101,
            applications=count,
            latest_intake=intake,
            training_completed_on=trained,
        )
        for person, ps101, count, intake, trained in _paged(session, statement, page)
    ], total


def ps101_of(session: Session, person_id: str) -> list[Ps101Entry]:
    rows = session.execute(
        sa.select(Ps101Registration, Ps101Session)
        .join(Ps101Session, col(Ps101Session.id) == col(Ps101Registration.session_id))
        .where(col(Ps101Registration.person_id) == person_id)
        .order_by(col(Ps101Session.starts_at), col(Ps101Session.id))
    ).all()
    return [
        Ps101Entry(
            session_id=ps101.id,
            starts_at=ps101.starts_at,
            place=ps101.place,
            registered_at=registered.registered_at,
            completed_on=registered.completed_on,
        )
        for registered, ps101 in rows
    ]


def application_entries(session: Session, person_id: str) -> list[ApplicationEntry]:
    return [
        ApplicationEntry(
            application_id=a.id,
            intake=a.intake,
            status=a.status,
            submitted_at=a.submitted_at,
            decided_at=a.decided_at,
            decline_reason=a.decline_reason,
            transport=a.transport,
            offers_ride=a.offers_ride,
            work_settings=tuple(a.work_settings),
            keyed_by=a.keyed_by,
        )
        for a in applications_of(session, person_id)
    ]


def attendance_entries(
    session: Session, person_ids: Collection[str]
) -> dict[str, list[AttendanceEntry]]:
    """Person -> every training day they attended, in any cohort, by date then day."""
    found: dict[str, list[AttendanceEntry]] = {person_id: [] for person_id in person_ids}
    if not person_ids:
        return found
    rows = session.exec(
        select(Attendance)
        .where(col(Attendance.person_id).in_(list(person_ids)))
        .order_by(col(Attendance.attended_on), col(Attendance.day), col(Attendance.cohort_id))
    )
    for row in rows:
        found[row.person_id].append(AttendanceEntry(row.cohort_id, row.day, row.attended_on))
    return found


def training_of(session: Session, person_id: str) -> TrainingEntry | None:
    found = session.get(TrainingCompletion, person_id)
    return None if found is None else TrainingEntry(found.cohort_id, found.completed_on)


def _held_before(person_id: Any, day: Any, now: datetime) -> ColumnElement[bool]:
    """A cohort the person was accepted to held this training day before `now`."""
    return sa.exists().where(
        col(CohortTrainingDay.cohort_id) == col(Application.intake),
        col(Application.person_id) == person_id,
        col(Application.status) == ApplicationStatus.ACCEPTED,
        col(CohortTrainingDay.day) == day,
        col(CohortTrainingDay.ends_at) < now,
    )


def passed_days(
    session: Session, person_ids: Collection[str], now: datetime
) -> dict[str, set[int]]:
    """Person -> the training days a cohort they were accepted to held before `now`."""
    found: dict[str, set[int]] = {person_id: set() for person_id in person_ids}
    if not person_ids:
        return found
    rows = session.execute(
        sa.select(Application.person_id, CohortTrainingDay.day)
        .join(CohortTrainingDay, col(CohortTrainingDay.cohort_id) == col(Application.intake))
        .where(
            col(Application.person_id).in_(list(person_ids)),
            col(Application.status) == ApplicationStatus.ACCEPTED,
            col(CohortTrainingDay.ends_at) < now,
        )
        .distinct()
    ).all()
    for person_id, day in rows:
        found[person_id].add(day)
    return found


def _needs_make_up(person_id: Any, now: datetime) -> ColumnElement[bool]:
    """`training.make_up` as SQL: not completed, some day attended, and a day missed (not
    attended anywhere although held already, or although a later day was attended)."""

    def attended(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
        return sa.exists().where(col(Attendance.person_id) == person_id, *conditions)

    missed = [
        sa.and_(
            sa.not_(attended(col(Attendance.day) == day)),
            sa.or_(_held_before(person_id, day, now), attended(col(Attendance.day) > day)),
        )
        for day in range(1, TRAINING_DAYS + 1)
    ]
    return sa.and_(sa.not_(_trained(person_id)), attended(), sa.or_(*missed))


def roster(
    session: Session, cohort_id: str, wanted: RosterFilter, now: datetime, page: PageRequest | None
) -> tuple[list[tuple[Person, bool, date | None]], int]:
    """(person, accepted to the cohort, training completed on) of those accepted to the
    cohort or attending a day of it, by name then id; and how many match in all."""
    members = sa.union(
        sa.select(col(Application.person_id).label("person_id")).where(
            col(Application.intake) == cohort_id,
            col(Application.status) == ApplicationStatus.ACCEPTED,
        ),
        sa.select(col(Attendance.person_id).label("person_id")).where(
            col(Attendance.cohort_id) == cohort_id
        ),
    ).subquery()
    person_id = col(Person.id)
    source = sa.join(members, Person, person_id == members.c.person_id)
    conditions: list[ColumnElement[bool]] = []
    if wanted.needs_makeup is not None:
        conditions.append(_is(_needs_make_up(person_id, now), wanted.needs_makeup))
    total = _count(session, conditions, source)
    accepted = sa.exists().where(
        col(Application.person_id) == person_id,
        col(Application.intake) == cohort_id,
        col(Application.status) == ApplicationStatus.ACCEPTED,
    )
    trained_on = (
        sa.select(TrainingCompletion.completed_on)
        .where(col(TrainingCompletion.person_id) == person_id)
        .scalar_subquery()
    )
    statement = (
        sa.select(Person, accepted, trained_on)
        .select_from(source)
        .where(*conditions)
        .order_by(func.lower(Person.name), col(Person.name), person_id)
    )
    return [(p, bool(a), t) for p, a, t in _paged(session, statement, page)], total


def applications(
    session: Session, wanted: ApplicationsFilter, timezone: ZoneInfo, page: PageRequest | None
) -> tuple[list[ApplicationSummary], int]:
    """Applications matching `wanted`, in submission order, and how many match in all."""
    conditions: list[ColumnElement[bool]] = []
    if wanted.intake:
        conditions.append(col(Application.intake) == wanted.intake)
    if wanted.status:
        conditions.append(col(Application.status) == wanted.status)
    if wanted.region:
        conditions.append(func.lower(Person.region) == wanted.region.lower())
    if wanted.person_id:
        conditions.append(col(Application.person_id) == wanted.person_id)
    conditions.extend(_within(col(Application.submitted_at), wanted.received.window(timezone)))
    source = sa.join(Application, Person, col(Person.id) == col(Application.person_id))
    total = _count(session, conditions, source)
    statement = (
        sa.select(Application, Person.name, Person.region)
        .select_from(source)
        .where(*conditions)
        .order_by(col(Application.submitted_at), col(Application.id))
    )
    return [
        ApplicationSummary(
            application_id=a.id,
            person_id=a.person_id,
            name=name,
            region=region,
            intake=a.intake,
            status=a.status,
            submitted_at=a.submitted_at,
            decided_at=a.decided_at,
            transport=a.transport,
            offers_ride=a.offers_ride,
            keyed_by=a.keyed_by,
        )
        for a, name, region in _paged(session, statement, page)
    ], total


def _season_order(column: Any, seasons: Sequence[str]) -> Any:
    season = func.substr(column, 6)
    return sa.case({name: order for order, name in enumerate(seasons)}, value=season, else_=99)


def cohorts(
    session: Session,
    wanted: CohortsFilter,
    *,
    seasons: Sequence[str],
    default_capacity: int,
    page: PageRequest | None,
) -> tuple[list[CohortSummary], int]:
    """Cohorts (set up by an operator, or an intake with applications) matching `wanted`,
    in the order they run; and how many match in all. `deadline` is left empty here."""
    ids = sa.union(
        sa.select(col(Cohort.id).label("cohort_id")),
        sa.select(col(Application.intake).label("cohort_id")),
    ).subquery()
    cohort_id = ids.c.cohort_id
    conditions: list[ColumnElement[bool]] = []
    if wanted.year is not None:
        conditions.append(cohort_id.like(f"{wanted.year:04d}-%"))
    if wanted.season:
        conditions.append(func.substr(cohort_id, 6) == wanted.season)
    if wanted.trainer is not None:
        conditions.append(
            sa.exists().where(
                col(CohortTrainer.cohort_id) == cohort_id,
                col(CohortTrainer.trainer) == wanted.trainer,
            )
        )
    total = _count(session, conditions, ids)

    def applications_with(*status: ApplicationStatus) -> Any:
        statement = sa.select(func.count()).select_from(Application)
        statement = statement.where(col(Application.intake) == cohort_id)
        if status:
            statement = statement.where(col(Application.status).in_(status))
        return statement.scalar_subquery()

    first_day, last_day = (
        sa.select(bound(CohortTrainingDay.starts_at))
        .where(col(CohortTrainingDay.cohort_id) == cohort_id)
        .scalar_subquery()
        for bound in (func.min, func.max)
    )
    statement = (
        sa.select(
            cohort_id,
            func.coalesce(Cohort.capacity, default_capacity),
            applications_with(ApplicationStatus.ACCEPTED),
            applications_with(ApplicationStatus.WAITLISTED),
            applications_with(),
            CohortSchedule.place,
            first_day,
            last_day,
        )
        .select_from(ids)
        .outerjoin(Cohort, col(Cohort.id) == cohort_id)
        .outerjoin(CohortSchedule, col(CohortSchedule.cohort_id) == cohort_id)
        .where(*conditions)
        .order_by(func.substr(cohort_id, 1, 4), _season_order(cohort_id, seasons), cohort_id)
    )
    rows = _paged(session, statement, page)
    trainers = cohort_trainers(session, [row[0] for row in rows])
    return [
        CohortSummary(
            cohort_id=key,
            year=int(key[:4]),
            season=key[5:],
            deadline=None,
            capacity=capacity,
            seats_taken=taken,
            waitlist=waiting,
            applications=count,
            place=place,
            first_day=_aware(first),
            last_day=_aware(last),
            trainers=tuple(trainers.get(key, ())),
        )
        for key, capacity, taken, waiting, count, place, first, last in rows
    ], total


def _aware(value: datetime | str | None) -> datetime | None:
    """A UTC instant read through an aggregate (which loses the column's type on SQLite)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def cohort_trainers(session: Session, cohort_ids: Collection[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    if not cohort_ids:
        return found
    rows = session.exec(
        select(CohortTrainer)
        .where(col(CohortTrainer.cohort_id).in_(list(cohort_ids)))
        .order_by(col(CohortTrainer.trainer))
    )
    for row in rows:
        found.setdefault(row.cohort_id, []).append(row.trainer)
    return found


def is_cohort_trainer(session: Session, cohort_id: str, trainer: str) -> bool:
    return session.get(CohortTrainer, (cohort_id, trainer)) is not None


def replace_cohort_trainers(session: Session, cohort_id: str, trainers: Sequence[str]) -> None:
    session.execute(delete(CohortTrainer).where(col(CohortTrainer.cohort_id) == cohort_id))
    session.add_all(CohortTrainer(cohort_id=cohort_id, trainer=name) for name in trainers)


def session_trainers(session: Session, session_ids: Collection[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    if not session_ids:
        return found
    rows = session.exec(
        select(Ps101SessionTrainer)
        .where(col(Ps101SessionTrainer.session_id).in_(list(session_ids)))
        .order_by(col(Ps101SessionTrainer.trainer))
    )
    for row in rows:
        found.setdefault(row.session_id, []).append(row.trainer)
    return found


def replace_session_trainers(session: Session, session_id: str, trainers: Sequence[str]) -> None:
    session.execute(
        delete(Ps101SessionTrainer).where(col(Ps101SessionTrainer.session_id) == session_id)
    )
    session.add_all(Ps101SessionTrainer(session_id=session_id, trainer=name) for name in trainers)


def sessions(
    session: Session, wanted: SessionsFilter, timezone: ZoneInfo, page: PageRequest | None
) -> tuple[list[SessionSummary], int]:
    """Peer Support 101 sessions matching `wanted` (not the one standing for completions
    imported from before the system), by start; and how many match in all."""
    session_id = col(Ps101Session.id)
    conditions: list[ColumnElement[bool]] = [session_id != IMPORTED_SESSION]
    conditions.extend(_within(col(Ps101Session.starts_at), wanted.starts.window(timezone)))
    if wanted.online is not None:
        conditions.append(col(Ps101Session.online) == wanted.online)
    if wanted.place:
        conditions.append(_contains(Ps101Session.place, wanted.place))
    if wanted.trainer is not None:
        conditions.append(
            sa.exists().where(
                col(Ps101SessionTrainer.session_id) == session_id,
                col(Ps101SessionTrainer.trainer) == wanted.trainer,
            )
        )
    total = _count(session, conditions, Ps101Session)

    def registrations(*conditions: ColumnElement[bool]) -> Any:
        return (
            sa.select(func.count())
            .select_from(Ps101Registration)
            .where(col(Ps101Registration.session_id) == session_id, *conditions)
            .scalar_subquery()
        )

    statement = (
        sa.select(
            Ps101Session,
            registrations(),
            registrations(col(Ps101Registration.completed_on).is_not(None)),
        )
        .where(*conditions)
        .order_by(col(Ps101Session.starts_at), session_id)
    )
    rows = _paged(session, statement, page)
    trainers = session_trainers(session, [row[0].id for row in rows])
    return [
        SessionSummary(
            session_id=ps101.id,
            starts_at=ps101.starts_at,
            place=ps101.place,
            online=ps101.online,
            capacity=ps101.capacity,
            registrations=registered,
            completions=completed,
            trainers=tuple(trainers.get(ps101.id, ())),
        )
        for ps101, registered, completed in rows
    ], total


# -- the statewide report ---------------------------------------------------------------------


def applications_received(session: Session, received: Window) -> list[IntakeCounts]:
    """Per intake, the applications received within `received`, by their status today."""
    rows = session.execute(
        sa.select(Application.intake, Application.status, func.count())
        .where(*_within(col(Application.submitted_at), received))
        .group_by(col(Application.intake), col(Application.status))
    ).all()
    by_intake: dict[str, dict[ApplicationStatus, int]] = {}
    for intake, status, count in rows:
        by_intake.setdefault(intake, {})[ApplicationStatus(status)] = count
    return [intake_counts(intake, counts) for intake, counts in by_intake.items()]


def trainings_completed(session: Session, first: date, last: date) -> int:
    return int(
        session.execute(
            sa.select(func.count())
            .select_from(TrainingCompletion)
            .where(
                col(TrainingCompletion.completed_on) >= first,
                col(TrainingCompletion.completed_on) <= last,
            )
        ).scalar_one()
    )


def people_by_region(
    session: Session, registered: Window, first: date, last: date
) -> list[RegionCounts]:
    """Per region, people registered within `registered` and people who completed the
    training from `first` to `last`; by region."""
    new = session.execute(
        sa.select(Person.region, func.count())
        .where(*_within(col(Person.created_at), registered))
        .group_by(col(Person.region))
    ).all()
    trained = session.execute(
        sa.select(Person.region, func.count())
        .join(TrainingCompletion, col(TrainingCompletion.person_id) == col(Person.id))
        .where(
            col(TrainingCompletion.completed_on) >= first,
            col(TrainingCompletion.completed_on) <= last,
        )
        .group_by(col(Person.region))
    ).all()
    regions: dict[str, dict[str, int]] = {}
    for region, count in new:
        regions.setdefault(region, {})["registered"] = count
    for region, count in trained:
        regions.setdefault(region, {})["trained"] = count
    return [RegionCounts(region, **regions[region]) for region in sorted(regions)]
