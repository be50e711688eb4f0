"""Which intake an application joins.

An application received on or before an intake's deadline (end of that day in the
program's time zone) joins that intake; after it, the next one. Nothing is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# (season, month, day) in calendar order: Maine's published deadlines.
DEFAULT_DEADLINES: tuple[tuple[str, int, int], ...] = (
    ("spring", 1, 15),
    ("summer", 5, 1),
    ("fall", 8, 1),
    ("winter", 11, 1),
)


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
    deadlines: tuple[tuple[str, int, int], ...] = DEFAULT_DEADLINES

    def intake_for(self, received_at: datetime) -> Intake:
        if received_at.tzinfo is None:
            raise ValueError("received_at must be time-zone aware")
        local = received_at.astimezone(self.timezone)
        for year in (local.year, local.year + 1):
            for season, month, day in self.deadlines:
                deadline = date(year, month, day)
                closes = datetime.combine(deadline + timedelta(days=1), time(), self.timezone)
                if local < closes:
                    return Intake(year, season, deadline)
        raise AssertionError("every date precedes some deadline within a year")
