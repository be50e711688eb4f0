"""Certificates a state granted before this system, as CSV from its spreadsheet, read row
by row for import.

Columns: person_id, certificate_number, certified_on (required), trained_on (default: the
first year of the default rules before certified_on), cohort (default `imported`),
last_review_on (the latest affirmed review of commitment, if any), status (`lapsed`,
`suspended` or `withdrawn`, if the certificate is not in good standing) with status_since
(the date that status began). One row per person; dates are ISO (YYYY-MM-DD). Whether a
date lies in the future is the service's question (its clock says what today is):
`check_dates` asks it on import.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from enum import StrEnum
from typing import Annotated, TextIO

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ips_shared.contracts.events import Ident
from ips_shared.csv_import import BadRow, read_rows

from .errors import InvalidCertificate
from .policy import MAINE_2026, CertificationPolicy
from .requirements import add_months
from .status import HOLDS, Decision, Status

COLUMNS = (
    "person_id",
    "certificate_number",
    "certified_on",
    "trained_on",
    "cohort",
    "last_review_on",
    "status",
    "status_since",
)
REQUIRED_COLUMNS = {"person_id", "certificate_number", "certified_on"}
IMPORTED_COHORT = "imported"
FIRST_YEAR_MONTHS = MAINE_2026.first_year_months  # of the default rules

CertificateNumber = Annotated[
    str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$")
]
CohortId = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9-]+$")]


class ImportedStatus(StrEnum):
    """A certificate not in good standing when imported; the status it is in."""

    LAPSED = Status.LAPSED.value
    SUSPENDED = Status.SUSPENDED.value
    WITHDRAWN = Status.WITHDRAWN.value


# An imported suspension or withdrawal is an operator's hold, from the date it began.
HOLD_FOR = {ImportedStatus(held.value): decision for decision, (held, _) in HOLDS.items()}


class CertificateRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    person_id: Ident
    certificate_number: CertificateNumber
    certified_on: date
    trained_on: date | None = None
    cohort: CohortId = IMPORTED_COHORT
    last_review_on: date | None = None
    status: ImportedStatus | None = None
    status_since: date | None = None

    @model_validator(mode="after")
    def _consistent(self) -> CertificateRow:
        trained = self.trained_on or add_months(self.certified_on, -FIRST_YEAR_MONTHS)
        if trained > self.certified_on:
            raise ValueError("trained_on is after certified_on")
        if self.last_review_on is not None and self.last_review_on < trained:
            raise ValueError("last_review_on is before trained_on")
        if self.status is not None and self.status_since is None:
            raise ValueError("status_since is required with a status")
        if self.status is None and self.status_since is not None:
            raise ValueError("status_since is given without a status")
        if self.status_since is not None and self.status_since < self.certified_on:
            raise ValueError("status_since is before certified_on")
        object.__setattr__(self, "trained_on", trained)  # frozen: the default, filled in
        return self


def read_certificates(source: TextIO) -> Iterator[tuple[int, CertificateRow | BadRow]]:
    """(line number, parsed row or the reason it is refused), in file order."""
    return read_rows(source, CertificateRow, COLUMNS, REQUIRED_COLUMNS)


def check_dates(row: CertificateRow, *, today: date, record_began: date | None) -> None:
    """No date in the future; for a person known from their training completion (on
    `record_began`), none before it: that record stands."""
    if row.certified_on > today:
        raise InvalidCertificate("certified_on is in the future.")
    if row.last_review_on is not None and row.last_review_on > today:
        raise InvalidCertificate("last_review_on is in the future.")
    if row.status_since is not None and row.status_since > today:
        raise InvalidCertificate("status_since is in the future.")
    if record_began is None:
        return
    if row.certified_on < record_began:
        raise InvalidCertificate("certified_on is before this person's training completed.")
    if row.last_review_on is not None and row.last_review_on < record_began:
        raise InvalidCertificate("last_review_on is before this person's training completed.")


def vouched_until(
    row: CertificateRow,
    *,
    trained_on: date,
    cohort_id: str,
    policy: CertificationPolicy,
    today: date,
) -> date:
    """Until when the import vouches that the certificate was kept: the certification years
    ended by then count as met and, without a `last_review_on`, the reviews due by then as
    kept. From then on the rules take over, and find the person in the status imported.

    In good standing or held (an operator's hold, lifted by an operator): until the
    import. Lapsed: until the start of the last year whose end and grace period had passed
    when the lapse began; that year went unmet, so the person is lapsed from then on, and
    reinstated as the rules say (by the missing hours, or a later year kept)."""
    if row.status is None or row.status in HOLD_FOR:
        return today
    assert row.status_since is not None  # the row requires it with a status
    unmet_year_start = None
    years = 1
    while (year_end := add_months(row.certified_on, 12 * years)) <= row.status_since:
        grace = policy.rules_for(trained_on, cohort_id, year_end).grace_days
        if year_end + timedelta(days=grace) <= row.status_since:
            unmet_year_start = add_months(row.certified_on, 12 * (years - 1))
        years += 1
    if unmet_year_start is None:
        raise InvalidCertificate(
            "status_since is too early for a lapse: no certification year and its grace "
            "period had passed by then."
        )
    return unmet_year_start


def hold_of(row: CertificateRow) -> Decision | None:
    """The operator's hold an imported status stands for, if it is one."""
    return HOLD_FOR.get(row.status) if row.status is not None else None


def certificate_number(prefix: str, issued_on: date, serial: int) -> str:
    """A number issued here: kept for life (an imported one is kept as it is)."""
    return f"{prefix}-{issued_on.year}-{serial:06d}"
