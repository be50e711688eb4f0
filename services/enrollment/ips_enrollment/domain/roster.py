"""The roster a state keeps today, as CSV, read row by row for import.

Columns: person_id, name, region, email, phone, preferred_channel, sms_consent,
ps101_completed_on, training_cohort, training_completed_on, and optionally language (en or
es; en by default). Phone numbers are kept as E.164 (without a country code: North
American). One row per person; the two
completions are optional, a training completion needs its cohort (an intake id such as
2024-fall). Dates are ISO (YYYY-MM-DD).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Annotated, TextIO

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from ips_shared.contracts.events import Channel, Ident, IntakeId, Language
from ips_shared.csv_import import BadRow, read_rows

from .errors import FutureDate
from .intakes import IntakeCalendar
from .people import Phone, check_channel

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
    "language",
)
REQUIRED_COLUMNS = {"person_id", "name", "region"}


class RosterRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    person_id: Ident
    name: Annotated[str, Field(min_length=1, max_length=200)]
    region: Annotated[str, Field(min_length=1, max_length=100)]
    email: EmailStr | None = None
    phone: Phone | None = None
    preferred_channel: Channel = Channel.EMAIL
    sms_consent: bool = False
    ps101_completed_on: date | None = None
    training_cohort: IntakeId | None = None
    training_completed_on: date | None = None
    language: Language = Language.ENGLISH

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


def check_row_in_calendar(row: RosterRow, today: date, intakes: IntakeCalendar) -> None:
    """What the row's own validation cannot know: completions that have happened (by the
    program's today) and a training cohort that is an intake of the program's calendar."""
    for column, on in (
        ("ps101_completed_on", row.ps101_completed_on),
        ("training_completed_on", row.training_completed_on),
    ):
        if on is not None and on > today:
            raise FutureDate(f"{column} is after today.")
    if row.training_cohort:
        intakes.check_cohort(row.training_cohort)
