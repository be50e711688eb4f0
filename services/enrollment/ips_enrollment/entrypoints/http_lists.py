"""Enrollment's HTTP API for what operators read every day (and trainers, for their own
cohorts and sessions): people and one person's whole record, applications, cohorts and
their rosters, Peer Support 101 sessions, the trainers an operator assigns to cohorts and
sessions, and enrollment's part of the statewide report; each list paged and filtered,
with `?format=csv` for every matching row. Split from `http` (registering, applying,
scheduling, attendance) along the seam between changing the records and reading them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from ips_shared.auth import ApiTokens, Principal, Role, TokenName
from ips_shared.http import (
    ListFormat,
    PageNumber,
    PageSize,
    bearer_principal,
    csv_response,
    requested_page,
    require,
)
from ips_shared.listing import Paged
from ips_shared.messaging.bus import MessageBus

from ..commands import (
    AssignCohortTrainers,
    AssignSessionTrainers,
    CohortRoster,
    GetRecord,
    ListApplications,
    ListCohorts,
    ListPeople,
    ListSessions,
    SummaryReport,
)
from ..domain.applications import ApplicationStatus
from ..domain.errors import UnknownTrainer
from ..domain.intakes import INTAKE_ID_PATTERN
from ..domain.listings import (
    ApplicationsFilter,
    ApplicationSummary,
    CohortsFilter,
    CohortSummary,
    Days,
    EnrollmentRecord,
    PeopleFilter,
    Period,
    PersonSummary,
    RosterEntry,
    RosterFilter,
    SessionsFilter,
    SessionSummary,
    Summary,
)
from .http import CohortId, for_self


class TrainersIn(BaseModel):
    """Every trainer of the cohort or session (their tokens' names); those left out are
    unassigned, an empty list unassigns all."""

    model_config = ConfigDict(extra="forbid")

    trainers: list[TokenName] = Field(max_length=20)


# -- filters, and the columns of the CSV exports ----------------------------------------------

Text = Annotated[str | None, Query(min_length=1, max_length=200)]
Region = Annotated[str | None, Query(min_length=1, max_length=100, description="Region or county")]
Day = Annotated[date | None, Query(description="A day in the program's time zone, included")]
Year = Annotated[int | None, Query(ge=1, le=9999)]
Season = Annotated[str | None, Query(pattern=r"^[a-z]{1,16}$", examples=["spring"])]
Trainer = Annotated[str | None, Query(min_length=1, max_length=100, description="A token's name")]

PEOPLE_COLUMNS = (
    "person_id",
    "name",
    "region",
    "email",
    "phone",
    "preferred_channel",
    "language",
    "registered_at",
    "ps101_completed_on",
    "applications",
    "latest_intake",
    "training_completed_on",
)
APPLICATION_COLUMNS = (
    "application_id",
    "person_id",
    "name",
    "region",
    "intake",
    "status",
    "submitted_at",
    "decided_at",
    "transport",
    "offers_ride",
    "keyed_by",
)
COHORT_COLUMNS = (
    "cohort_id",
    "year",
    "season",
    "deadline",
    "capacity",
    "seats_taken",
    "waitlist",
    "applications",
    "place",
    "first_day",
    "last_day",
    "trainers",
)
ROSTER_COLUMNS = (
    "person_id",
    "name",
    "region",
    "accepted",
    *(f"day_{day}" for day in range(1, 9)),
    "training_completed_on",
    "needs_makeup",
    "missed_days",
    "makeup_due_by",
)
SESSION_COLUMNS = (
    "session_id",
    "starts_at",
    "place",
    "online",
    "capacity",
    "registrations",
    "completions",
    "trainers",
)
SUMMARY_COLUMNS = ("section", "intake", "region", "measure", "value")


def _plain(item: object) -> dict[str, Any]:
    """A row for CSV: a dataclass's fields, lists joined with `;`."""
    row = {field.name: getattr(item, field.name) for field in dataclasses.fields(item)}  # type: ignore[arg-type]
    return {
        name: "; ".join(map(str, value)) if isinstance(value, tuple) else value
        for name, value in row.items()
    }


def _roster_row(entry: RosterEntry) -> dict[str, Any]:
    row = _plain(entry)
    for attended in entry.days:  # the first date each day was attended, in any cohort
        row.setdefault(f"day_{attended.day}", attended.attended_on)
    row.update(
        needs_makeup=entry.make_up.needed,
        missed_days="; ".join(map(str, entry.make_up.missed_days)),
        makeup_due_by=entry.make_up.due_by,
    )
    return row


def _summary_rows(summary: Summary) -> Iterable[Mapping[str, Any]]:
    for counts in summary.applications:
        for measure in ("received", "accepted", "waitlisted", "declined", "withdrawn", "submitted"):
            yield {
                "section": "applications",
                "intake": counts.intake,
                "measure": measure,
                "value": getattr(counts, measure),
            }
    yield {
        "section": "trainings",
        "measure": "completed",
        "value": summary.trainings_completed,
    }
    for region in summary.people_by_region:
        for measure in ("registered", "trained"):
            yield {
                "section": "people",
                "region": region.region,
                "measure": measure,
                "value": getattr(region, measure),
            }


def router(bus: MessageBus, tokens: ApiTokens) -> APIRouter:
    principal = bearer_principal(tokens)
    operator = Depends(require(principal, Role.OPERATOR))
    staff = Depends(require(principal, Role.OPERATOR, Role.TRAINER))
    anyone = Depends(require(principal, Role.OPERATOR, Role.PERSON))
    api = APIRouter()

    def check_trainers(names: Iterable[str]) -> None:
        """Each name is a configured trainer's token (the message names none of them)."""
        for name in names:
            token = tokens.get(name)
            if token is None or token.role != Role.TRAINER:
                raise UnknownTrainer("A name given is not a trainer's token.")

    @api.get("/people", tags=["people"], response_model=Paged[PersonSummary])
    async def list_people(
        name: Text = None,
        region: Region = None,
        completed_ps101: bool | None = None,
        applied: bool | None = None,
        trained: bool | None = None,
        registered_from: Day = None,
        registered_to: Day = None,
        trained_from: Day = None,
        trained_to: Day = None,
        page: PageNumber = 1,
        page_size: PageSize = 50,
        format: ListFormat = "json",
        _: Principal = operator,
    ) -> Any:
        """People, by name then id: `name` is any part of the name (whatever its case),
        `region` the region or county; whether they completed Peer Support 101, applied to
        any intake, completed the training; the days their record was made and their
        training completed (program's time zone, both ends included). `format=csv`:
        every matching row."""
        wanted = PeopleFilter(
            name=name,
            region=region,
            completed_ps101=completed_ps101,
            applied=applied,
            trained=trained,
            registered=Days(registered_from, registered_to),
            trained_on=Days(trained_from, trained_to),
        )
        found = await bus.dispatch(ListPeople(wanted, requested_page(format, page, page_size)))
        if format == "csv":
            return csv_response(map(_plain, found.items), PEOPLE_COLUMNS, "people.csv")
        return found

    @api.get("/people/{person_id}/record", tags=["people"])
    async def person_record(person_id: str, who: Principal = anyone) -> EnrollmentRecord:
        """One person's whole enrollment record: contact, Peer Support 101 registrations
        and completions, applications (status, intake, who keyed a paper one), training
        days attended in any cohort, the training's completion, and the days still to
        make up and by when. An operator, or the person themself."""
        for_self(who, person_id)
        return await bus.dispatch(GetRecord(person_id))

    @api.get("/ps101/sessions", tags=["peer support 101"], response_model=Paged[SessionSummary])
    async def list_sessions(
        starts_from: Day = None,
        starts_to: Day = None,
        online: bool | None = None,
        place: Text = None,
        trainer: Trainer = None,
        page: PageNumber = 1,
        page_size: PageSize = 50,
        format: ListFormat = "json",
        who: Principal = staff,
    ) -> Any:
        """Peer Support 101 sessions by start, with their capacity, registrations and
        completions: starting on those days (program's time zone), online or not, `place`
        any part of it, `trainer` a trainer's token name. A trainer sees the sessions
        they are assigned to. `format=csv`: every matching row."""
        if who.role == Role.TRAINER:
            trainer = who.name
        wanted = SessionsFilter(Days(starts_from, starts_to), online, place, trainer)
        found = await bus.dispatch(ListSessions(wanted, requested_page(format, page, page_size)))
        if format == "csv":
            return csv_response(map(_plain, found.items), SESSION_COLUMNS, "ps101-sessions.csv")
        return found

    @api.put("/ps101/sessions/{session_id}/trainers", tags=["peer support 101"])
    async def assign_session_trainers(
        session_id: str, body: TrainersIn, _: Principal = operator
    ) -> TrainersIn:
        """Assign the session's trainers (their tokens' names), all of them each time."""
        check_trainers(body.trainers)
        assigned = await bus.dispatch(AssignSessionTrainers(session_id, tuple(body.trainers)))
        return TrainersIn(trainers=list(assigned))

    @api.get("/applications", tags=["applications"], response_model=Paged[ApplicationSummary])
    async def list_applications(
        intake: Annotated[str | None, Query(pattern=INTAKE_ID_PATTERN)] = None,
        status: ApplicationStatus | None = None,
        region: Region = None,
        received_from: Day = None,
        received_to: Day = None,
        person_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
        page: PageNumber = 1,
        page_size: PageSize = 50,
        format: ListFormat = "json",
        _: Principal = operator,
    ) -> Any:
        """Applications in submission order: to an intake, by status, the applicant's
        region or county, received on those days (program's time zone, both ends
        included). `format=csv`: every matching row."""
        wanted = ApplicationsFilter(
            intake, status, region, Days(received_from, received_to), person_id
        )
        found = await bus.dispatch(
            ListApplications(wanted, requested_page(format, page, page_size))
        )
        if format == "csv":
            return csv_response(map(_plain, found.items), APPLICATION_COLUMNS, "applications.csv")
        return found

    @api.get("/cohorts", tags=["cohorts"], response_model=Paged[CohortSummary])
    async def list_cohorts(
        year: Year = None,
        season: Season = None,
        trainer: Trainer = None,
        page: PageNumber = 1,
        page_size: PageSize = 50,
        format: ListFormat = "json",
        who: Principal = staff,
    ) -> Any:
        """Cohorts in the order their intakes run (an intake with applications, or one an
        operator set up), with the intake's deadline, capacity, seats taken, waitlist
        length, applications, place and first and last training day, and trainers. A
        trainer sees the cohorts they are assigned to. `format=csv`: every matching row."""
        if who.role == Role.TRAINER:
            trainer = who.name
        wanted = CohortsFilter(year, season, trainer)
        found = await bus.dispatch(ListCohorts(wanted, requested_page(format, page, page_size)))
        if format == "csv":
            return csv_response(map(_plain, found.items), COHORT_COLUMNS, "cohorts.csv")
        return found

    @api.get("/cohorts/{cohort_id}/roster", tags=["cohorts"], response_model=Paged[RosterEntry])
    async def cohort_roster(
        cohort_id: CohortId,
        needs_makeup: bool | None = None,
        page: PageNumber = 1,
        page_size: PageSize = 50,
        format: ListFormat = "json",
        who: Principal = staff,
    ) -> Any:
        """Those accepted to the cohort and those making up a day in it, by name: the days
        they attended (in any cohort), their training's completion, and the days they
        missed with the last day to make them up (`make_up`; the policy's make-up window
        from the first day of their training). `needs_makeup` filters on it. Operators,
        and the cohort's trainers (403 `not_assigned` for others). `format=csv`: every
        matching row, a column per training day."""
        trainer = who.name if who.role == Role.TRAINER else None
        query = CohortRoster(
            cohort_id, RosterFilter(needs_makeup), requested_page(format, page, page_size), trainer
        )
        found = await bus.dispatch(query)
        if format == "csv":
            return csv_response(
                map(_roster_row, found.items), ROSTER_COLUMNS, f"roster-{cohort_id}.csv"
            )
        return found

    @api.put("/cohorts/{cohort_id}/trainers", tags=["cohorts"])
    async def assign_cohort_trainers(
        cohort_id: CohortId, body: TrainersIn, _: Principal = operator
    ) -> TrainersIn:
        """Assign the cohort's trainers (their tokens' names), all of them each time: they
        see the cohort in `GET /cohorts` and its roster."""
        check_trainers(body.trainers)
        assigned = await bus.dispatch(AssignCohortTrainers(cohort_id, tuple(body.trainers)))
        return TrainersIn(trainers=list(assigned))

    @api.get("/reports/summary", tags=["reports"], response_model=Summary)
    async def summary_report(
        first: Annotated[date, Query(alias="from", description="First day, included")],
        last: Annotated[date, Query(alias="to", description="Last day, included")],
        format: ListFormat = "json",
        _: Principal = operator,
    ) -> Any:
        """Enrollment's part of the statewide report for the days `from` to `to` (program's
        time zone): applications received per intake by their status today, trainings
        completed, people registered and trained by region. Each number is the `total` of
        a list with the same filters: `GET /applications?intake=&status=&received_from=
        &received_to=`, `GET /people?trained_from=&trained_to=` (and `&region=`),
        `GET /people?registered_from=&registered_to=&region=`. `format=csv`: one row per
        number (section, intake, region, measure, value)."""
        summary = await bus.dispatch(SummaryReport(Period(first, last)))
        if format == "csv":
            name = f"enrollment-summary-{first.isoformat()}-{last.isoformat()}.csv"
            return csv_response(_summary_rows(summary), SUMMARY_COLUMNS, name)
        return summary

    return api
