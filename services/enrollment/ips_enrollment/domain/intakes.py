"""Which intake an application joins, which intakes (and so cohorts) exist, and the order
intakes run in.

An application received on or before an intake's deadline (the end of that day in the
program's time zone) joins that intake; after it, the next one. Nothing is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .errors import InvalidCohort, UnknownCohort
from .policy import EnrollmentPolicy, IntakeDeadline

SEASON_ORDER = {"spring": 0, "summer": 1, "fall": 2, "winter": 3}
# A well-formed intake id: year and season. One of a season the calendar lacks is unknown.
INTAKE_ID_PATTERN = r"^([0-9]{4})-([a-z]{1,16})$"
_INTAKE_ID = re.compile(INTAKE_ID_PATTERN)


@dataclass(frozen=True)
class Intake:
    year: int
    season: str
    deadline: date

    @property
    def id(self) -> str:
        return f"{self.year}-{self.season}"


@dataclass(frozen=True)
class IntakeCalendar:
    timezone: ZoneInfo
    deadlines: tuple[IntakeDeadline, ...]

    @classmethod
    def from_policy(cls, policy: EnrollmentPolicy) -> IntakeCalendar:
        return cls(ZoneInfo(policy.timezone), policy.intakes)

    def check_cohort(self, cohort_id: str) -> None:
        """A cohort is an intake of this calendar: one of its seasons, in a year that exists."""
        year, season = _parts(cohort_id)
        if year < 1 or season not in {deadline.season for deadline in self.deadlines}:
            raise UnknownCohort("No intake of the program's calendar has this cohort id.")

    @property
    def seasons(self) -> tuple[str, ...]:
        """The calendar's seasons in the order their intakes run within a year."""
        return tuple(deadline.season for deadline in self.deadlines)

    def intake(self, cohort_id: str) -> Intake | None:
        """The intake of this id (its deadline), or None if the calendar has none such."""
        year, season = _parts(cohort_id)
        for deadline in self.deadlines:
            if deadline.season == season and year >= 1:
                day = date(year, deadline.month, min(deadline.day, _last_day(year, deadline.month)))
                return Intake(year, season, day)
        return None

    def today(self, now: datetime) -> date:
        """The date `now` falls on in the program's time zone."""
        return now.astimezone(self.timezone).date()

    def intake_for(self, received_at: datetime) -> Intake:
        if received_at.tzinfo is None:
            raise ValueError("received_at must be time-zone aware")
        local = received_at.astimezone(self.timezone)
        for year in (local.year, local.year + 1):
            for deadline in self.deadlines:
                day = date(year, deadline.month, min(deadline.day, _last_day(year, deadline.month)))
                closes = datetime.combine(day + timedelta(days=1), time(), self.timezone)
                if local < closes:
                    return Intake(year, deadline.season, day)
        raise AssertionError("every date precedes some deadline within a year")


def _last_day(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


def _parts(intake_id: str) -> tuple[int, str]:
    """(year, season) of a well-formed intake id such as 2027-spring."""
    match = _INTAKE_ID.fullmatch(intake_id)
    if match is None:
        raise InvalidCohort("A cohort id is an intake's year and season, such as 2027-spring.")
    return int(match[1]), match[2]


def intake_order(intake_id: str) -> tuple[int, int]:
    """Sort key of an intake id such as 2027-spring: by year, then by season."""
    year, season = _parts(intake_id)
    if season not in SEASON_ORDER:
        raise UnknownCohort("No intake of the program's calendar has this cohort id.")
    return year, SEASON_ORDER[season]


def runs_before(intake_id: str, other: str) -> bool:
    return intake_order(intake_id) < intake_order(other)
