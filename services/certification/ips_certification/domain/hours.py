"""Whether reported hours enter the ledger.

Every source is held to the same rules: the person is known, hours are positive (in
hundredths), at most 24 per person per day per source, not in the future and not before
the person's record began. What breaks a rule is answered to the source, never counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ips_shared.contracts.events import HoursRejectionCode

HUNDREDTH = Decimal("0.01")


@dataclass(frozen=True)
class Claim:
    person_id: str
    source: str
    hours: Decimal
    activity_date: date


@dataclass(frozen=True)
class Rejection:
    code: HoursRejectionCode
    reason: str


def bad_report(code: str, reason: str) -> Rejection:
    """A report the consumer could not read (or that came on another source's subject),
    answered with the code a partner can act on: an unknown category is named as such."""
    rejection_code = HoursRejectionCode(code)
    if rejection_code == HoursRejectionCode.INVALID_PAYLOAD and "data.category" in reason:
        rejection_code = HoursRejectionCode.UNKNOWN_CATEGORY
    return Rejection(rejection_code, reason)


def check(
    claim: Claim,
    *,
    record_began: date | None,
    already_that_day: Decimal,
    today: date,
    max_per_day: Decimal,
) -> Rejection | None:
    """`already_that_day`: hours this source already has in the ledger for the person and day."""
    if record_began is None:
        return Rejection(HoursRejectionCode.UNKNOWN_PERSON, "No person with this id is known here.")
    if not claim.hours.is_finite() or claim.hours <= 0:
        return Rejection(HoursRejectionCode.NON_POSITIVE_HOURS, "Hours must be more than zero.")
    if claim.hours != claim.hours.quantize(HUNDREDTH):
        return Rejection(
            HoursRejectionCode.INVALID_PAYLOAD, "Hours are counted to the hundredth at most."
        )
    if claim.activity_date > today:
        return Rejection(HoursRejectionCode.FUTURE_DATE, "The activity date is in the future.")
    if claim.activity_date < record_began:
        return Rejection(
            HoursRejectionCode.BEFORE_RECORD_BEGAN,
            "The activity date is before this person's record began.",
        )
    if already_that_day + claim.hours > max_per_day:
        return Rejection(
            HoursRejectionCode.DAILY_LIMIT_EXCEEDED,
            f"More than {max_per_day} hours for one person on one day from one source.",
        )
    return None
