"""Certification's use cases as messages: a `Command` changes state (the bus commits it), a
`Query` only reads. What certification consumes (training completions, hours reports)
arrives as events instead, applied by `handlers` through the consumers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ips_shared.contracts.events import CertificationStatus, ReviewOutcome
from ips_shared.messaging.bus import Command, Query

from .db.tables import HoursEntry, HoursVoid, StatusChange
from .domain.certificates import CertificateRow
from .domain.policy import Rules
from .domain.status import Assessment, Decision

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
