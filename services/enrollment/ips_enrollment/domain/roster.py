"""The roster a state keeps today, as CSV, read row by row for import.

Columns: person_id, name, region, email, phone, preferred_channel, sms_consent,
ps101_completed_on, training_cohort, training_completed_on. One row per person; the two
completions are optional, a training completion needs its cohort (an intake id such as
2024-fall). Dates are ISO (YYYY-MM-DD).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Annotated, TextIO

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from ips_shared.contracts.events import Channel, Ident, IntakeId
from ips_shared.csv_import import BadRow, read_rows

from .people import check_channel

COLUMNS = (
    "person_id",
    "name",
    "region",
    "email",
    "phone",
    "preferred_channel",
    "sms_consent",
    "ps101_completed_on",
    "training_cohort",
    "training_completed_on",
)
REQUIRED_COLUMNS = {"person_id", "name", "region"}


class RosterRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    person_id: Ident
    name: Annotated[str, Field(min_length=1, max_length=200)]
    region: Annotated[str, Field(min_length=1, max_length=100)]
    email: EmailStr | None = None
    phone: Annotated[str | None, Field(max_length=32, pattern=r"^\+?[0-9 ()-]{7,32}$")] = None
    preferred_channel: Channel = Channel.EMAIL
    sms_consent: bool = False
    ps101_completed_on: date | None = None
    training_cohort: IntakeId | None = None
    training_completed_on: date | None = None

    @model_validator(mode="after")
    def _consistent(self) -> RosterRow:
        if (self.training_cohort is None) != (self.training_completed_on is None):
            raise ValueError("training_cohort and training_completed_on go together")
        check_channel(
            self.preferred_channel, email=self.email, phone=self.phone, sms_consent=self.sms_consent
        )
        return self


def read_roster(source: TextIO) -> Iterator[tuple[int, RosterRow | BadRow]]:
    """(line number, parsed row or the reason it is refused), in file order."""
    return read_rows(source, RosterRow, COLUMNS, REQUIRED_COLUMNS)
