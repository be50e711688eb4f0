"""The certification part of the versioned program policy (the `[certification]` section
of the policy file). Defaults reproduce the program's rules; requirements, review and
at-risk rules join this model with the status work."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ips_shared.settings import TimeZoneName


class CertificationPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: TimeZoneName = Field(default="America/New_York", description="What 'today' means")
    max_hours_per_day_per_source: Decimal = Field(default=Decimal(24), gt=0, le=24)


class Policy(BaseModel):
    """A policy version; the sections of other services pass through unread."""

    model_config = ConfigDict(frozen=True, extra="allow")

    version: str = Field(min_length=1, max_length=32)
    certification: CertificationPolicy = CertificationPolicy()


def read_policy(path: Path) -> Policy:
    with path.open("rb") as handle:
        return Policy.model_validate(tomllib.load(handle))
