"""The certification part of the versioned program policy (the `[certification]` section
of the policy file). The defaults reproduce the program's published rules (DOMAIN.md).

Requirements are data: a sum of hours over categories, minimums per category, or "any N
of" a list of them, each over the certification year (anniversary window) or over the
months up to the year's end (rolling window). Rules come in versions with effective dates;
a version may leave people of earlier cohorts on the rules they started under.
"""

from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ips_shared.contracts.events import HoursCategory
from ips_shared.settings import TimeZoneName

from .errors import InvalidDraft

Hours = Annotated[Decimal, Field(gt=0, le=10_000, decimal_places=2)]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_\-]+$")]


class _Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Windowed(_Rule):
    window_months: int | None = Field(
        default=None,
        ge=1,
        le=120,
        description="None: the certification year itself; N: the N months up to its end",
    )


class SumOf(_Windowed):
    """At least `hours` in total over `categories`."""

    kind: Literal["sum"] = "sum"
    name: Name
    categories: frozenset[HoursCategory] = Field(min_length=1)
    hours: Hours


class Minimums(_Windowed):
    """At least the given hours in each category."""

    kind: Literal["minimums"] = "minimums"
    name: Name
    minimums: dict[HoursCategory, Hours] = Field(min_length=1)


class AnyOf(_Rule):
    """At least `needed` of the listed requirements."""

    kind: Literal["any_of"] = "any_of"
    name: Name
    needed: int = Field(ge=1)
    of: tuple[SumOf | Minimums, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _enough_choices(self) -> AnyOf:
        if self.needed > len(self.of):
            raise ValueError("needs more of the listed requirements than it lists")
        return self


Requirement = Annotated[SumOf | Minimums | AnyOf, Field(discriminator="kind")]

CONTINUING_EDUCATION = SumOf(
    name="continuing_education",
    categories=frozenset({HoursCategory.CONTINUING_EDUCATION}),
    hours=Decimal(8),
)
SKILL_BUILDING = SumOf(
    name="skill_building", categories=frozenset({HoursCategory.SKILL_BUILDING}), hours=Decimal(12)
)


class Rules(_Rule):
    """One version of the certification rules, in force from `effective_from`."""

    version: str = Field(min_length=1, max_length=32)
    effective_from: date
    first_year_months: int = Field(default=12, ge=1, le=60)
    first_year: tuple[Requirement, ...] = (CONTINUING_EDUCATION, SKILL_BUILDING)
    yearly: tuple[Requirement, ...] = (CONTINUING_EDUCATION, SKILL_BUILDING)
    review_interval_months: int = Field(default=24, ge=1, le=120)
    review_notice_days: int = Field(
        default=60, ge=0, le=365, description="ReviewDue goes out this many days before"
    )
    at_risk_lead_days: int = Field(default=60, ge=0, le=365)
    grace_days: int = Field(default=30, ge=0, le=365)
    grandfather_trained_before: date | None = Field(
        default=None,
        description="People whose training cohort completed before this date keep the "
        "rules that applied to them before this version",
    )
    grandfather_cohorts: frozenset[str] = Field(
        default=frozenset(), description="Cohorts that keep the earlier rules"
    )

    @model_validator(mode="after")
    def _unique_names(self) -> Rules:
        for part in ("first_year", "yearly"):
            names = [requirement.name for requirement in getattr(self, part)]
            if len(names) != len(set(names)):
                raise ValueError(f"requirement names repeat in {part}")
        return self

    def grandfathers(self, trained_on: date, cohort_id: str) -> bool:
        before = self.grandfather_trained_before
        return cohort_id in self.grandfather_cohorts or (before is not None and trained_on < before)


MAINE_2026 = Rules(version="maine-2026.1", effective_from=date(2026, 1, 1))


class CertificationPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: TimeZoneName = Field(default="America/New_York", description="What 'today' means")
    max_hours_per_day_per_source: Decimal = Field(default=Decimal(24), gt=0, le=24)
    certificate_prefix: str = Field(default="ME", pattern=r"^[A-Z]{2,8}$")
    rules: tuple[Rules, ...] = Field(default=(MAINE_2026,), min_length=1)

    @model_validator(mode="after")
    def _ordered_versions(self) -> CertificationPolicy:
        versions = [rules.version for rules in self.rules]
        if len(versions) != len(set(versions)):
            raise ValueError("rule versions repeat")
        starts = [rules.effective_from for rules in self.rules]
        if starts != sorted(set(starts)):
            raise ValueError("rule versions must be listed by strictly increasing effective_from")
        return self

    def rules_for(self, trained_on: date, cohort_id: str, on: date) -> Rules:
        """The version in force on `on` for this person, grandfathering applied.

        Before the first version's effective date the first version applies (records
        imported from before the system existed)."""
        index = max(
            (i for i, rules in enumerate(self.rules) if rules.effective_from <= on), default=0
        )
        while index > 0 and self.rules[index].grandfathers(trained_on, cohort_id):
            index -= 1
        return self.rules[index]

    def with_draft(self, draft: Rules) -> CertificationPolicy:
        """This policy with a draft version added (for what-if questions)."""
        kept = tuple(rules for rules in self.rules if rules.effective_from < draft.effective_from)
        if any(rules.version == draft.version for rules in kept):
            raise InvalidDraft("The draft's version name belongs to a rule version in force.")
        return CertificationPolicy.model_validate({**dict(self), "rules": (*kept, draft)})


class Policy(BaseModel):
    """A policy version; the sections of other services pass through unread."""

    model_config = ConfigDict(frozen=True, extra="allow")

    version: str = Field(min_length=1, max_length=32)
    certification: CertificationPolicy = CertificationPolicy()


def read_policy(path: Path) -> Policy:
    with path.open("rb") as handle:
        return Policy.model_validate(tomllib.load(handle))
