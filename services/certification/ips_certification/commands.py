"""Certification's use cases as messages: a `Command` changes state (the bus commits it), a
`Query` only reads. What certification consumes (training completions, hours reports)
arrives as events instead, applied by `handlers` through the consumers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from ips_shared.contracts.events import CertificationStatus, HoursCategory, ReviewOutcome
from ips_shared.listing import Paged, PageRequest
from ips_shared.messaging.bus import Command, Query

from .db.tables import HoursEntry, HoursVoid, StatusChange
from .domain.certificates import CertificateRow
from .domain.policy import Rules
from .domain.status import Assessment, Decision
from .domain.worklist import Category, Sort

REGION = "Region or county, as the training completion said (`null`: it did not say)"

# -- operators ---------------------------------------------------------------------------


@dataclass(frozen=True)
class VoidHours(Command[str]):
    """Correct the ledger: the entry stays and stops counting from now on. `source` may be
    left out while one source alone has used the event id; the result is the entry's."""

    event_id: str
    source: str | None
    actor: str
    reason: str


@dataclass(frozen=True)
class RecordReview(Command[str]):
    """The result is the id of the ReviewCompleted announced."""

    person_id: str
    reviewed_on: date
    outcome: ReviewOutcome
    actor: str
    reason: str


@dataclass(frozen=True)
class Decide(Command[CertificationStatus]):
    """Suspend, withdraw or reinstate from today; the result is the status it leads to."""

    person_id: str
    decision: Decision
    actor: str
    reason: str


@dataclass(frozen=True)
class ImportCertificate(Command[bool]):
    """One row of a state's certificates; the result says whether anything was new."""

    row: CertificateRow
    file_name: str


# -- the scheduler -----------------------------------------------------------------------


@dataclass(frozen=True)
class AdvanceDueStandings(Command[int]):
    """Bring up to `limit` people whose check has come up to today; the result is how
    many were due."""

    limit: int


@dataclass(frozen=True)
class BringUpToDate(Command[None]):
    person_id: str


@dataclass(frozen=True)
class PostponeCheck(Command[None]):
    """Check a person again tomorrow (their evaluation failed today)."""

    person_id: str


# -- reading -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Explanation:
    person_id: str
    status: CertificationStatus | None
    certificate_number: str | None
    trained_on: date
    assessment: Assessment
    history: list[StatusChange]


@dataclass(frozen=True)
class ExplainStatus(Query[Explanation]):
    """Status, dates, progress toward this period's requirements, and the history."""

    person_id: str


@dataclass(frozen=True)
class HoursOf(Query[list[tuple[HoursEntry, HoursVoid | None]]]):
    """A person's ledger entries, each with its void if it has one."""

    person_id: str


@dataclass(frozen=True)
class WouldChange:
    person_id: str
    current: CertificationStatus
    would_be: CertificationStatus
    reason_code: str


@dataclass(frozen=True)
class WhatIf(Query[tuple[date, list[WouldChange]]]):
    """Whose status would differ under a draft rule version, and how, on the date the
    result names."""

    draft: Rules


# -- operators' lists and the report -----------------------------------------------------
# Each list query takes a page (`None`: every matching row, for a CSV export) and answers
# a `Paged` of rows; the rows are the answers' models too.


class ShortfallOut(BaseModel):
    requirement: str
    missing: Decimal
    unit: str


class WorklistRow(BaseModel):
    person_id: str
    cohort_id: str
    region: str | None = Field(description=REGION)
    category: Category
    status: CertificationStatus | None
    due_on: date | None = Field(description="The day that `days_left` counts to")
    days_left: int | None
    since: date | None = Field(description="The day the current status began")
    review_due_on: date | None
    missing: list[ShortfallOut] = Field(
        description="What is missing; for someone lapsed, what would reinstate them"
    )


@dataclass(frozen=True)
class Worklist(Query[Paged[WorklistRow]]):
    """People who need outreach (`domain.worklist`), as of today."""

    categories: frozenset[Category]
    cohort_id: str | None
    region: str | None  # matched whatever the case
    sort: Sort
    page: PageRequest | None


class PersonRow(BaseModel):
    person_id: str
    cohort_id: str
    region: str | None = Field(description=REGION)
    trained_on: date
    status: CertificationStatus | None
    since: date | None
    certified_on: date | None
    certificate_number: str | None


@dataclass(frozen=True)
class People(Query[Paged[PersonRow]]):
    status: CertificationStatus | None
    cohort_id: str | None
    region: str | None  # matched whatever the case
    page: PageRequest | None


class RefusalRow(BaseModel):
    received_at: datetime
    source: str = Field(description="The source's subject token (`smhc`, `trainer-t-1`)")
    event_id: str
    reason_code: str
    reason: str
    person_id: str | None
    category: str | None
    hours: Decimal | None
    activity_date: date | None


class RefusalCount(BaseModel):
    source: str
    reason_code: str
    count: int


class RefusedPage(Paged[RefusalRow]):
    counts: list[RefusalCount] = Field(description="Every matching refusal, per source and reason")


@dataclass(frozen=True)
class Period:
    """Days in the program's time zone, both included."""

    first: date | None
    last: date | None


@dataclass(frozen=True)
class RefusedReports(Query[RefusedPage]):
    source_token: str | None
    reason_code: str | None
    received: Period
    page: PageRequest | None


@dataclass(frozen=True)
class RefusalsOf(Query[list[RefusalRow]]):
    """A person's refused reports (those whose person could be read), oldest first."""

    person_id: str


class CertificateListed(BaseModel):
    number: str
    person_id: str
    region: str | None = Field(description=REGION)
    status: CertificationStatus | None
    issued_on: date
    imported: bool


@dataclass(frozen=True)
class Certificates(Query[Paged[CertificateListed]]):
    number_prefix: str | None
    status: CertificationStatus | None
    region: str | None  # matched whatever the case
    issued: Period
    page: PageRequest | None


class HoursInMonth(BaseModel):
    category: HoursCategory
    month: str = Field(examples=["2027-01"])
    hours: Decimal


class RegionCount(BaseModel):
    region: str | None = Field(description=REGION)
    people_by_status: dict[str, int]


class Summary(BaseModel):
    """Certification's part of the statewide report for a period."""

    first_day: date
    last_day: date
    people_by_status: dict[str, int] = Field(description="Now, not as of the period")
    people_by_region: list[RegionCount] = Field(
        description="Now, per region (as `/people?region=` matches it, whatever the case; "
        "`null`, last: not known) and status"
    )
    certificates_granted: int = Field(description="Certificates issued in the period")
    lapsed: int = Field(description="Changes to lapsed effective in the period")
    reinstated: int = Field(description="Lapsed people certified again, in the period")
    hours: list[HoursInMonth] = Field(description="Accepted hours, not voided, by activity date")
    reviews_held: dict[str, int] = Field(description="Reviews dated in the period, by outcome")


@dataclass(frozen=True)
class Summarize(Query[Summary]):
    first_day: date
    last_day: date
