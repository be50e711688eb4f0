"""Certificates a state granted before this system, as CSV from its spreadsheet, read row
by row for import.

Columns: person_id, certificate_number, certified_on (required), trained_on (default: the
first year of the default rules before certified_on), cohort (default `imported`),
last_review_on (the latest affirmed review of commitment, if any). One row per person;
dates are ISO (YYYY-MM-DD). Whether a date lies in the future is the service's question
(its clock says what today is): `check_dates` asks it on import.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Annotated, TextIO

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ips_shared.contracts.events import Ident
from ips_shared.csv_import import BadRow, read_rows

from .errors import InvalidCertificate
from .policy import MAINE_2026
from .requirements import add_months

COLUMNS = (
    "person_id",
    "certificate_number",
    "certified_on",
    "trained_on",
    "cohort",
    "last_review_on",
)
REQUIRED_COLUMNS = {"person_id", "certificate_number", "certified_on"}
IMPORTED_COHORT = "imported"
FIRST_YEAR_MONTHS = MAINE_2026.first_year_months  # of the default rules

CertificateNumber = Annotated[
    str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$")
]
CohortId = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9-]+$")]


class CertificateRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    person_id: Ident
    certificate_number: CertificateNumber
    certified_on: date
    trained_on: date | None = None
    cohort: CohortId = IMPORTED_COHORT
    last_review_on: date | None = None

    @model_validator(mode="after")
    def _consistent(self) -> CertificateRow:
        trained = self.trained_on or add_months(self.certified_on, -FIRST_YEAR_MONTHS)
        if trained > self.certified_on:
            raise ValueError("trained_on is after certified_on")
        if self.last_review_on is not None and self.last_review_on < trained:
            raise ValueError("last_review_on is before trained_on")
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
    if record_began is None:
        return
    if row.certified_on < record_began:
        raise InvalidCertificate("certified_on is before this person's training completed.")
    if row.last_review_on is not None and row.last_review_on < record_began:
        raise InvalidCertificate("last_review_on is before this person's training completed.")


def certificate_number(prefix: str, issued_on: date, serial: int) -> str:
    """A number issued here: kept for life (an imported one is kept as it is)."""
    return f"{prefix}-{issued_on.year}-{serial:06d}"
