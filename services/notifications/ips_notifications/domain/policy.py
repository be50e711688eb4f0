"""The notifications part of the program policy file (TOML).

Notifications reads its own section, `[notifications]`, and, read-only, the intake calendar
from `[enrollment]` (its time zone and each intake's application deadline), so the file
states the deadlines once and the reminders fall before the deadlines enrollment applies.
Other sections pass through unread. Without a file, the defaults reproduce Maine's program
(the same deadlines as enrollment's defaults)."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ips_shared.settings import TimeZoneName


class IntakeDeadline(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    season: str = Field(min_length=1, max_length=16)
    month: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31)


MAINE_DEADLINES = (
    IntakeDeadline(season="spring", month=1, day=15),
    IntakeDeadline(season="summer", month=5, day=1),
    IntakeDeadline(season="fall", month=8, day=1),
    IntakeDeadline(season="winter", month=11, day=1),
)


class IntakeCalendar(BaseModel):
    """What notifications reads of enrollment's section (enrollment validates the rest)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    timezone: TimeZoneName = "America/New_York"
    intakes: tuple[IntakeDeadline, ...] = Field(default=MAINE_DEADLINES, min_length=1)


class NotificationsPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    deadline_reminder_days: tuple[int, ...] = Field(
        default=(30, 7),
        description="Days before each intake's application deadline that people who"
        " completed Peer Support 101 and have not applied are reminded",
    )

    @field_validator("deadline_reminder_days")
    @classmethod
    def _distinct_and_in_a_year(cls, days: tuple[int, ...]) -> tuple[int, ...]:
        if len(set(days)) != len(days) or not all(0 <= day <= 365 for day in days):
            raise ValueError("deadline_reminder_days must be distinct, from 0 to 365")
        return tuple(sorted(days, reverse=True))


class Policy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")

    version: str = Field(min_length=1, max_length=32)
    effective_from: date
    enrollment: IntakeCalendar = IntakeCalendar()
    notifications: NotificationsPolicy = NotificationsPolicy()


DEFAULT_POLICY = Policy(version="default", effective_from=date(2026, 1, 1))


def read_policy(path: Path) -> Policy:
    with path.open("rb") as handle:
        return Policy.model_validate(tomllib.load(handle))
