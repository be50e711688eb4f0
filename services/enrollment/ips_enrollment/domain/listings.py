"""What operators' lists and the statewide report are made of: their filters and their
rows, as plain values (the queries that fill them are in `db/repository.py`), and the
rules they follow: a report's period in the program's time zone, the order of intakes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ips_shared.contracts.events import Channel, Language, Transport

from .applications import ApplicationStatus
from .errors import InvalidPeriod

# -- a period -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Days `first` to `last`, both included, in the program's time zone."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise InvalidPeriod("A period's end cannot come before its start.")

    def window(self, timezone: ZoneInfo) -> Window:
        """The period as instants: from the start of its first day to that of the day
        after its last."""
        return day_window(self.first, self.last, timezone)


@dataclass(frozen=True)
class Window:
    """An optional period: either end may be open. Instants are [since, until)."""

    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Days:
    """Days `first` to `last` (both included; either end may be open) in the program's
    time zone: a filter on when something happened."""

    first: date | None = None
    last: date | None = None

    def __post_init__(self) -> None:
        if self.first is not None and self.last is not None and self.last < self.first:
            raise InvalidPeriod("A period's end cannot come before its start.")

    def window(self, timezone: ZoneInfo) -> Window:
        return day_window(self.first, self.last, timezone)


def day_window(first: date | None, last: date | None, timezone: ZoneInfo) -> Window:
    """Days `first` to `last` (both included, either may be open) as instants."""
    return Window(
        datetime.combine(first, time(), timezone) if first else None,
        datetime.combine(last + timedelta(days=1), time(), timezone) if last else None,
    )


# -- people ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeopleFilter:
    """Every filter given must hold. `name`: part of the name, whatever its case;
    `region`: the region or county, whatever its case; the booleans: whether the person
    completed Peer Support 101, applied (to any intake), completed the training.
    `registered`: the days the record was made; `trained_on`: the days the training was
    completed."""

    name: str | None = None
    region: str | None = None
    completed_ps101: bool | None = None
    applied: bool | None = None
    trained: bool | None = None
    registered: Days = Days()
    trained_on: Days = Days()


@dataclass(frozen=True)
class PersonSummary:
    person_id: str
    name: str
    region: str
    email: str | None
    phone: str | None
    preferred_channel: Channel
    language: Language
    registered_at: datetime
    ps101_completed_on: date | None
    applications: int
    latest_intake: str | None
    training_completed_on: date | None


@dataclass(frozen=True)
class Ps101Entry:
    session_id: str
    starts_at: datetime
    place: str
    registered_at: datetime
    completed_on: date | None


@dataclass(frozen=True)
class ApplicationEntry:
    application_id: str
    intake: str
    status: ApplicationStatus
    submitted_at: datetime
    decided_at: datetime | None
    decline_reason: str | None
    transport: Transport
    offers_ride: bool
    work_settings: tuple[str, ...]
    keyed_by: str | None = None


@dataclass(frozen=True)
class AttendanceEntry:
    cohort_id: str
    day: int
    attended_on: date


@dataclass(frozen=True)
class TrainingEntry:
    cohort_id: str
    completed_on: date


@dataclass(frozen=True)
class MakeUp:
    """The training days a trainee missed (see `training.make_up`) and the last day they
    may be made up on (`None` when nothing is missed)."""

    missed_days: tuple[int, ...] = ()
    due_by: date | None = None
    needed: bool = False  # some day missed: `of` sets it

    @classmethod
    def of(cls, missed_days: tuple[int, ...], due_by: date | None) -> MakeUp:
        return cls(missed_days, due_by, bool(missed_days))


@dataclass(frozen=True)
class EnrollmentRecord:
    """One person's whole enrollment record: contact, Peer Support 101, applications,
    training days attended (in any cohort), the training's completion and any make-up
    days still needed."""

    person_id: str
    name: str
    region: str
    email: str | None
    phone: str | None
    preferred_channel: Channel
    sms_consent: bool
    language: Language
    registered_at: datetime
    ps101: tuple[Ps101Entry, ...]
    applications: tuple[ApplicationEntry, ...]
    attendance: tuple[AttendanceEntry, ...]
    training: TrainingEntry | None
    make_up: MakeUp


# -- applications ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplicationsFilter:
    intake: str | None = None
    status: ApplicationStatus | None = None
    region: str | None = None
    received: Days = Days()
    person_id: str | None = None


@dataclass(frozen=True)
class ApplicationSummary:
    application_id: str
    person_id: str
    name: str
    region: str
    intake: str
    status: ApplicationStatus
    submitted_at: datetime
    decided_at: datetime | None
    transport: Transport
    offers_ride: bool
    keyed_by: str | None


# -- cohorts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortsFilter:
    """`trainer`: only the cohorts this trainer (a token's name) is assigned to."""

    year: int | None = None
    season: str | None = None
    trainer: str | None = None


@dataclass(frozen=True)
class CohortSummary:
    cohort_id: str
    year: int
    season: str
    deadline: date | None
    capacity: int
    seats_taken: int
    waitlist: int
    applications: int
    place: str | None
    first_day: datetime | None
    last_day: datetime | None
    trainers: tuple[str, ...] = ()


@dataclass(frozen=True)
class RosterFilter:
    """`needs_makeup`: whether the trainee has missed a day and not completed the training."""

    needs_makeup: bool | None = None


@dataclass(frozen=True)
class RosterEntry:
    """A trainee of the cohort (accepted to it) or someone making up a day in it."""

    person_id: str
    name: str
    region: str
    accepted: bool
    days: tuple[AttendanceEntry, ...]
    training_completed_on: date | None
    make_up: MakeUp = field(default_factory=MakeUp)


# -- Peer Support 101 sessions --------------------------------------------------------------


@dataclass(frozen=True)
class SessionsFilter:
    """`starts`: sessions starting within; `trainer`: sessions this trainer is assigned to."""

    starts: Days = Days()
    online: bool | None = None
    place: str | None = None
    trainer: str | None = None


@dataclass(frozen=True)
class SessionSummary:
    session_id: str
    starts_at: datetime
    place: str
    online: bool
    capacity: int
    registrations: int
    completions: int
    trainers: tuple[str, ...] = ()


# -- the statewide report -------------------------------------------------------------------


@dataclass(frozen=True)
class IntakeCounts:
    intake: str
    received: int = 0
    submitted: int = 0
    accepted: int = 0
    waitlisted: int = 0
    declined: int = 0
    withdrawn: int = 0


@dataclass(frozen=True)
class RegionCounts:
    region: str
    registered: int = 0
    trained: int = 0


@dataclass(frozen=True)
class Summary:
    """Enrollment's part of the statewide report for a period. `applications`: those
    received in the period, per intake, by their status today; `trainings_completed`:
    trainings completed in the period; `people_by_region`: people registered, and people
    who completed the training, in the period."""

    first: date
    last: date
    applications: tuple[IntakeCounts, ...]
    trainings_completed: int
    people_by_region: tuple[RegionCounts, ...]


def intake_counts(intake: str, by_status: dict[ApplicationStatus, int]) -> IntakeCounts:
    return IntakeCounts(
        intake=intake,
        received=sum(by_status.values()),
        **{status.value: by_status.get(status, 0) for status in ApplicationStatus},
    )
