"""What the directory knows of a certificate, from certification's
`CertificationStatusChanged` events alone, and what verification answers about it.

Dates kept (the event carries the status, its effective date, the certificate number once
issued and, when a person is short of hours near a year's end, `year_ends_on`):

- `certified_since`: the effective date of the change that began the person's current
  unbroken run in `certified` or `at_risk` (the first certification, or the reinstatement
  after a lapse, suspension or withdrawal); none outside such a run.
- `anniversary`: the date of the first certification, from which certification years
  are counted (every year runs from one anniversary to the next). A year that ends with
  its requirements met brings no event, so the year a certified person is in is computed
  from it on the day asked.
- `year_ends_on`: for a person at risk, the end of the year in which they became at risk:
  the event's `year_ends_on` when it has one, else the anniversary that closes the year
  holding the day before the change (a year that just ended unmet is the one shown).
- `lapsed_since`: the effective date of the lapse.

So "valid through" is, for a certified person, the next anniversary after the day asked;
for a person at risk, the end of the year at risk. A certificate imported with a status
other than `certified` has no known first certification: its anniversary is taken to be
the effective date of the first listed status the directory sees.
Pure: no I/O."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from ips_shared.contracts.events import CertificationStatus, CertificationStatusChanged

Status = CertificationStatus

LISTED = frozenset({Status.CERTIFIED, Status.AT_RISK})
"""The statuses under which a certified specialist may appear in the directory."""


@dataclass(frozen=True)
class Certificate:
    person_id: str
    status: Status
    status_since: date
    number: str | None = None
    certified_since: date | None = None
    anniversary: date | None = None
    year_ends_on: date | None = None
    lapsed_since: date | None = None

    @property
    def listable(self) -> bool:
        """Whether the person's opted-in profile may be shown: certified or at risk, with a
        certificate issued (a first year at risk has none)."""
        return self.status in LISTED and self.number is not None


@dataclass(frozen=True)
class Verification:
    """All that verification says: the status and its dates, nothing about the person."""

    certificate_number: str
    status: Status
    certified_since: date | None = None
    valid_through: date | None = None
    lapsed_since: date | None = None


def add_years(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes the last day of February."""
    year = day.year + years
    return day.replace(year=year, day=min(day.day, calendar.monthrange(year, day.month)[1]))


def year_end(anniversary: date, on: date) -> date:
    """The anniversary ending the certification year that holds `on` (the first one after
    `on`; on an anniversary itself a new year has begun)."""
    years = max(1, on.year - anniversary.year)
    while add_years(anniversary, years) <= on:
        years += 1
    while years > 1 and add_years(anniversary, years - 1) > on:
        years -= 1
    return add_years(anniversary, years)


def apply(current: Certificate | None, change: CertificationStatusChanged) -> Certificate:
    """The certificate after one status change (changes come in order per person)."""
    new, on = change.new_status, change.effective_date
    number = change.certificate_number or (current.number if current else None)
    was = current if current is not None and current.listable else None
    anniversary = current.anniversary if current else None
    certified_since = None
    if new in LISTED and number is not None:
        certified_since = was.certified_since if was else on
        anniversary = anniversary or on
    year_ends_on = None
    if new == Status.AT_RISK:
        if change.year_ends_on is not None:
            year_ends_on = change.year_ends_on
        elif current is not None and current.status == Status.AT_RISK:
            year_ends_on = current.year_ends_on
        elif anniversary is not None:
            year_ends_on = year_end(anniversary, on - timedelta(days=1))
    lapsed_since = None
    if new == Status.LAPSED:
        kept = current.lapsed_since if current and current.status == Status.LAPSED else None
        lapsed_since = kept or on
    return Certificate(
        person_id=change.person_id,
        status=new,
        status_since=on,
        number=number,
        certified_since=certified_since,
        anniversary=anniversary,
        year_ends_on=year_ends_on,
        lapsed_since=lapsed_since,
    )


def valid_through(certificate: Certificate, today: date) -> date | None:
    """The date the current certification year runs to, for a listed certificate."""
    if not certificate.listable:
        return None
    if certificate.status == Status.AT_RISK and certificate.year_ends_on is not None:
        return certificate.year_ends_on
    if certificate.anniversary is not None:
        return year_end(certificate.anniversary, today)
    return certificate.year_ends_on


def verify(certificate: Certificate, today: date) -> Verification:
    """Status and dates only; `certificate` has a number (verification looks it up by it)."""
    assert certificate.number is not None
    return Verification(
        certificate_number=certificate.number,
        status=certificate.status,
        certified_since=certificate.certified_since if certificate.listable else None,
        valid_through=valid_through(certificate, today),
        lapsed_since=certificate.lapsed_since,
    )
