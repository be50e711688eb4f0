"""Enrollment's use cases as messages: a `Command` changes state (the bus commits it), a
`Query` only reads. Results are the service's rows, readable after their unit of work."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from ips_shared.contracts.events import Channel, Language, Transport
from ips_shared.listing import Paged, PageRequest
from ips_shared.messaging.bus import Command, Query

from .db.tables import Application, Cohort, Person, Ps101Registration, Ps101Session
from .domain.listings import (
    ApplicationsFilter,
    ApplicationSummary,
    CohortsFilter,
    CohortSummary,
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
from .domain.rides import RideListing
from .domain.roster import RosterRow
from .domain.schedule import ScheduledDay

# -- people and Peer Support 101 --------------------------------------------------------


@dataclass(frozen=True)
class RegisterPerson(Command[Person]):
    name: str
    region: str
    email: str | None = None
    phone: str | None = None
    preferred_channel: Channel = Channel.EMAIL
    sms_consent: bool = False
    language: Language = Language.ENGLISH
    person_id: str | None = None  # keeps an id the state already uses; a new one otherwise


@dataclass(frozen=True)
class GetPerson(Query[Person]):
    person_id: str


@dataclass(frozen=True)
class ChangeContact(Command[Person]):
    """Change some of a person's contact details: `changes` maps the fields named (name,
    email, phone, preferred_channel, sms_consent, language) to their new values."""

    person_id: str
    changes: Mapping[str, object]


@dataclass(frozen=True)
class EraseContact(Command[Person]):
    """Erase a person's contact details (email, phone, consent to texts): gone from this
    database, from the events waiting to be published, and from the contact stream, where
    the erasure replaces them on the person's subject. Their enrollment record stays."""

    person_id: str


@dataclass(frozen=True)
class CreatePs101Session(Command[Ps101Session]):
    starts_at: datetime
    place: str
    online: bool
    capacity: int


@dataclass(frozen=True)
class RegisterForSession(Command[Ps101Registration]):
    session_id: str
    person_id: str


@dataclass(frozen=True)
class CompletePs101(Command[Ps101Registration]):
    session_id: str
    person_id: str
    completed_on: date


@dataclass(frozen=True)
class ImportRosterRow(Command[bool]):
    """One person of a state's roster with their past completions; the result says whether
    anything was new (importing the same row again changes nothing and emits nothing)."""

    row: RosterRow


# -- applications and cohorts ------------------------------------------------------------


@dataclass(frozen=True)
class SubmitApplication(Command[Application]):
    person_id: str
    transport: Transport
    offers_ride: bool
    work_settings: tuple[str, ...]
    received_at: datetime  # decides the intake
    # A paper application: the operator who keys it in (their token's name). Its
    # `received_at` is the date and time the paper arrived, never after now.
    keyed_by: str | None = None


@dataclass(frozen=True)
class GetApplication(Query[Application]):
    application_id: str


@dataclass(frozen=True)
class ApplicationsOf(Query[list[Application]]):
    """A person's applications, oldest first."""

    person_id: str


@dataclass(frozen=True)
class ApplicationsTo(Query[list[Application]]):
    """Every application to an intake, in submission order (the waitlist's order)."""

    cohort_id: str


@dataclass(frozen=True)
class AcceptApplication(Command[Application]):
    application_id: str


@dataclass(frozen=True)
class DeclineApplication(Command[Application]):
    application_id: str
    reason_code: str


@dataclass(frozen=True)
class WithdrawApplication(Command[Application]):
    application_id: str


@dataclass(frozen=True)
class SetCohortCapacity(Command[Cohort]):
    cohort_id: str
    capacity: int


@dataclass(frozen=True)
class Schedule:
    """A cohort's schedule as it reads: its place and days, in day order."""

    cohort_id: str
    place: str
    days: tuple[ScheduledDay, ...]


@dataclass(frozen=True)
class ScheduleCohort(Command[Schedule]):
    """Set a cohort's whole schedule (again: the new one replaces the old)."""

    cohort_id: str
    place: str
    days: tuple[ScheduledDay, ...]


@dataclass(frozen=True)
class GetSchedule(Query[Schedule]):
    cohort_id: str


# -- training -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordAttendance(Command[bool]):
    """The result says whether this attendance completed the training."""

    cohort_id: str
    person_id: str
    day: int
    attended_on: date


@dataclass(frozen=True)
class RideSharing(Query[list[RideListing]]):
    """Who needs a ride and who offered one, by region, among those accepted."""

    cohort_id: str


# -- operators' lists and the statewide report ----------------------------------------------
# `page=None`: every matching row (a CSV export).


@dataclass(frozen=True)
class ListPeople(Query[Paged[PersonSummary]]):
    """People matching every filter, by name (then id)."""

    filter: PeopleFilter = field(default_factory=PeopleFilter)
    page: PageRequest | None = field(default_factory=PageRequest)


@dataclass(frozen=True)
class GetRecord(Query[EnrollmentRecord]):
    person_id: str


@dataclass(frozen=True)
class ListApplications(Query[Paged[ApplicationSummary]]):
    """Applications matching every filter, in submission order."""

    filter: ApplicationsFilter = field(default_factory=ApplicationsFilter)
    page: PageRequest | None = field(default_factory=PageRequest)


@dataclass(frozen=True)
class ListCohorts(Query[Paged[CohortSummary]]):
    """Cohorts (an intake with applications, or one an operator set up), in the order
    their intakes run."""

    filter: CohortsFilter = field(default_factory=CohortsFilter)
    page: PageRequest | None = field(default_factory=PageRequest)


@dataclass(frozen=True)
class CohortRoster(Query[Paged[RosterEntry]]):
    """A cohort's trainees and those making up a day in it, by name. `trainer`: the
    trainer asking (refused unless assigned to the cohort); None for an operator."""

    cohort_id: str
    filter: RosterFilter = field(default_factory=RosterFilter)
    page: PageRequest | None = field(default_factory=PageRequest)
    trainer: str | None = None


@dataclass(frozen=True)
class AssignCohortTrainers(Command[tuple[str, ...]]):
    """The trainers of a cohort, all of them (those left out are unassigned)."""

    cohort_id: str
    trainers: tuple[str, ...]


@dataclass(frozen=True)
class ListSessions(Query[Paged[SessionSummary]]):
    """Peer Support 101 sessions, by start."""

    filter: SessionsFilter = field(default_factory=SessionsFilter)
    page: PageRequest | None = field(default_factory=PageRequest)


@dataclass(frozen=True)
class AssignSessionTrainers(Command[tuple[str, ...]]):
    session_id: str
    trainers: tuple[str, ...]


@dataclass(frozen=True)
class SummaryReport(Query[Summary]):
    period: Period
