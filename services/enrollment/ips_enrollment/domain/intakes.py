"""Which intake an application joins, and the order intakes run in.

An application received on or before an intake's deadline (the end of that day in the
program's time zone) joins that intake; after it, the next one. Nothing is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .policy import EnrollmentPolicy, IntakeDeadline

SEASON_ORDER = {"spring": 0, "summer": 1, "fall": 2, "winter": 3}


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


def intake_order(intake_id: str) -> tuple[int, int]:
    """Sort key of an intake id such as 2027-spring: by year, then by season."""
    year, _, season = intake_id.partition("-")
    return int(year), SEASON_ORDER.get(season, 0)


def runs_before(intake_id: str, other: str) -> bool:
    return intake_order(intake_id) < intake_order(other)
