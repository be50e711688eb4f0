"""Who needs outreach, and for what: the operators' worklist.

An evaluation keeps, beside the status, the dates the worklist reads (`Outlook`), so that
the list is chosen, counted and paged by the database; what each person on a page is
missing is worked out from their facts (`needs`).

Categories (a person may be in more than one):
- `at_risk`: the status; days left until `act_by`: the year's end while hours or a review
  due by then are missing, else the day they would lapse (the grace period's end);
- `lapsed`: the status, since the day it began; what would reinstate them: the hours
  missing from the year that ended unmet (dated in that year), or a review;
- `review_due`: a review falls due within the review notice (60 days) and is not overdue;
- `first_year_unmet`: in the first year, within the at-risk lead (60 days) of its end,
  with its requirements not met yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from .policy import CertificationPolicy
from .requirements import Progress, add_months, progress
from .status import Assessment, Facts, Reason, Shortfall, Status, certification_year


class Category(StrEnum):
    AT_RISK = "at_risk"
    LAPSED = "lapsed"
    REVIEW_DUE = "review_due"
    FIRST_YEAR_UNMET = "first_year_unmet"


class Sort(StrEnum):
    DAYS_LEFT = "days_left"  # fewest first; lapsed (no days left) last
    DAYS_LEFT_DESC = "-days_left"
    PERSON = "person_id"


@dataclass(frozen=True)
class Outlook:
    """The dates of a standing the worklist reads, as of its evaluation."""

    period_ends_on: date  # the day after the first or certification year's last day
    lead_from: date  # the at-risk lead before that end begins
    review_due_on: date | None
    review_notice_from: date | None
    act_by: date | None  # at risk: the day by which what is missing must be done
    unmet: bool  # the period's requirements are not all met


def outlook(found: Assessment) -> Outlook:
    lead = timedelta(days=found.rules.at_risk_lead_days)
    grace = timedelta(days=found.rules.grace_days)
    act_by: date | None = None
    if found.status is Status.AT_RISK:
        if found.reason is Reason.REVIEW_OVERDUE and found.next_review_due is not None:
            act_by = found.next_review_due + grace
        elif found.reason is Reason.YEAR_ENDED_UNMET:
            act_by = found.period_start + grace
        else:
            act_by = found.period_end
    return Outlook(
        period_ends_on=found.period_end,
        lead_from=found.period_end - lead,
        review_due_on=found.next_review_due,
        review_notice_from=found.review_notice_from,
        act_by=act_by,
        unmet=not all(p.met for p in found.progress),
    )


REVIEW = Shortfall("review", Decimal(1), "review")


def needs(facts: Facts, policy: CertificationPolicy, found: Assessment) -> tuple[Shortfall, ...]:
    """What is missing: for someone lapsed after a year ended unmet, what that year lacks
    (hours dated in it reinstate them); else what the current period lacks, and a review
    when one is due by the year's end or overdue."""
    review = (
        (REVIEW,)
        if found.next_review_due is not None
        and found.next_review_due <= found.period_end
        and found.status in (Status.AT_RISK, Status.LAPSED)
        and found.reason in (Reason.REVIEW_OVERDUE, Reason.REVIEW_DUE_BY_YEAR_END)
        else ()
    )
    if found.reason is Reason.YEAR_ENDED_UNMET and found.certified_on is not None:
        return _short(_previous_year(facts, policy, found)) + review
    return _short(found.progress) + review


def _previous_year(
    facts: Facts, policy: CertificationPolicy, found: Assessment
) -> tuple[Progress, ...]:
    assert found.certified_on is not None
    index, _, _ = certification_year(found.certified_on, found.on)
    start = add_months(found.certified_on, 12 * (index - 2))
    end = add_months(found.certified_on, 12 * (index - 1))
    rules = policy.rules_for(facts.trained_on, facts.cohort_id, start)
    credits = facts.credits(found.on)
    return tuple(progress(r, credits, start, end) for r in rules.yearly)


def _short(period: tuple[Progress, ...]) -> tuple[Shortfall, ...]:
    return tuple(Shortfall(p.name, p.missing, p.unit) for p in period if not p.met)


def days_left(due_on: date | None, today: date) -> int | None:
    return None if due_on is None else (due_on - today).days


def missing_for(
    category: Category, facts: Facts, policy: CertificationPolicy, found: Assessment
) -> tuple[Shortfall, ...]:
    """What a worklist row names as missing: a review for `review_due`, else `needs`."""
    if category is Category.REVIEW_DUE:
        return (REVIEW,)
    return needs(facts, policy, found)
