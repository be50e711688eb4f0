"""The enrollment part of the versioned program policy.

The policy file (TOML) holds every rule a state may change without touching code; each
service reads its own section and ignores the others. Defaults reproduce Maine's program.
"""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ips_shared.settings import TimeZoneName

Season = Literal["spring", "summer", "fall", "winter"]


class IntakeDeadline(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    season: Season
    month: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31)

    @model_validator(mode="after")
    def _real_date(self) -> IntakeDeadline:
        date(2028, self.month, self.day)  # a leap year, so Feb 29 is allowed
        return self


MAINE_DEADLINES = (
    IntakeDeadline(season="spring", month=1, day=15),
    IntakeDeadline(season="summer", month=5, day=1),
    IntakeDeadline(season="fall", month=8, day=1),
    IntakeDeadline(season="winter", month=11, day=1),
)


class EnrollmentPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: TimeZoneName = "America/New_York"
    intakes: tuple[IntakeDeadline, ...] = Field(default=MAINE_DEADLINES, min_length=1)
    cohort_capacity: int = Field(default=20, ge=1)
    makeup_window_months: int = Field(
        default=12, ge=0, description="A missed training day may be made up within this"
    )

    @field_validator("intakes")
    @classmethod
    def _calendar_order(cls, value: tuple[IntakeDeadline, ...]) -> tuple[IntakeDeadline, ...]:
        keys = [(deadline.month, deadline.day) for deadline in value]
        if keys != sorted(set(keys)) or len({d.season for d in value}) != len(value):
            raise ValueError("intakes must be distinct seasons in calendar order")
        return value


class Policy(BaseModel):
    """A policy version. Sections of other services pass through unread."""

    model_config = ConfigDict(frozen=True, extra="allow")

    version: str = Field(min_length=1, max_length=32)
    effective_from: date
    enrollment: EnrollmentPolicy = EnrollmentPolicy()


def read_policy(path: Path) -> Policy:
    with path.open("rb") as handle:
        return Policy.model_validate(tomllib.load(handle))
