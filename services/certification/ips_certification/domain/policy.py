"""The certification part of the versioned program policy (the `[certification]` section
of the policy file). Defaults reproduce the program's rules; requirements, review and
at-risk rules join this model with the status work."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator


class CertificationPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str = Field(default="America/New_York", description="What 'today' means for dates")
    max_hours_per_day_per_source: Decimal = Field(default=Decimal(24), gt=0, le=24)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
        return value


class Policy(BaseModel):
    """A policy version; the sections of other services pass through unread."""

    model_config = ConfigDict(frozen=True, extra="allow")

    version: str = Field(min_length=1, max_length=32)
    certification: CertificationPolicy = CertificationPolicy()


def read_policy(path: Path) -> Policy:
    with path.open("rb") as handle:
        return Policy.model_validate(tomllib.load(handle))
