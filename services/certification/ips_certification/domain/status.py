"""A person's certification status on a date, and how it moves as time and facts arrive.

`assess` answers from what was known on a date: hours recorded by then (and not voided by
then), reviews recorded by then, operator decisions taken by then. `advance` is the
incremental path the service runs: from the stored standing it steps through every date on
which time alone may change the status (the boundaries `assess` names), then to the date
of the new fact. Stepping and assessing from scratch agree (property tests show it).

The rules (policy defaults from DOMAIN.md):
- trained from training completion; certified when the first year (12 months) has passed
  and its requirements are met, on that date or the day late hours for it are recorded;
- every certification year (from the certification date) has its requirements, and a
  review of commitment falls due every 24 months, counted from the certification date or
  the latest affirmed review;
- at risk from 60 days before a year ends with requirements unmet (a review falling due by
  the year's end is one of them), while a review is overdue, and during the grace period
  after a year that ended unmet;
- lapsed when the grace period (30 days) after an unmet year, or after an overdue review,
  has passed; reinstated when the missing hours (dated in that year) or the review arrive;
- suspended or withdrawn by an operator until an operator reinstates.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from ips_shared.contracts.events import CertificationStatus, HoursCategory

from .policy import CertificationPolicy, Rules
from .requirements import Credit, Progress, add_months, all_met, progress

Status = CertificationStatus


class Decision(StrEnum):
    SUSPEND = "suspend"
    WITHDRAW = "withdraw"
    REINSTATE = "reinstate"


class Reason(StrEnum):
    TRAINING_COMPLETED = "training_completed"
    FIRST_YEAR_IN_PROGRESS = "first_year_in_progress"
    FIRST_YEAR_UNMET = "first_year_unmet"
    FIRST_YEAR_MET = "first_year_met"
    REQUIREMENTS_MET = "requirements_met"
    HOURS_SHORT_NEAR_YEAR_END = "hours_short_near_year_end"
    REVIEW_DUE_BY_YEAR_END = "review_due_by_year_end"
    REVIEW_OVERDUE = "review_overdue"
    YEAR_ENDED_UNMET = "year_ended_unmet"
    REINSTATED = "reinstated"
    OPERATOR_SUSPENDED = "operator_suspended"
    OPERATOR_WITHDREW = "operator_withdrew"
    OPERATOR_REINSTATED = "operator_reinstated"
    CERTIFICATE_IMPORTED = "certificate_imported"


# What an operator's hold puts a person in, and why; reinstating lifts it.
HOLDS = {
    Decision.SUSPEND: (Status.SUSPENDED, Reason.OPERATOR_SUSPENDED),
    Decision.WITHDRAW: (Status.WITHDRAWN, Reason.OPERATOR_WITHDREW),
}
HELD = frozenset(status for status, _ in HOLDS.values())


@dataclass(frozen=True)
class Entry:
    """A ledger entry and when it became known (and, if so, voided)."""

    event_id: str
    activity_date: date
    category: HoursCategory
    hours: Decimal
    known_on: date
    voided_on: date | None = None


@dataclass(frozen=True)
class Review:
    event_id: str
    reviewed_on: date
    affirmed: bool
    known_on: date


@dataclass(frozen=True)
class OperatorDecision:
    decision: Decision
    on: date


@dataclass(frozen=True)
class Facts:
    """Everything certification knows about one person."""

    trained_on: date
    cohort_id: str
    entries: tuple[Entry, ...] = ()
    reviews: tuple[Review, ...] = ()
    decisions: tuple[OperatorDecision, ...] = ()
    certified_on: date | None = None  # granted outside the ledger (an imported certificate)
    vouched_until: date | None = None  # imported: years ended by then count as met

    def credits(self, on: date) -> tuple[Credit, ...]:
        return tuple(
            Credit(e.activity_date, e.category, e.hours)
            for e in self.entries
            if e.known_on <= on and (e.voided_on is None or e.voided_on > on)
        )

    def last_affirmed_review(self, on: date) -> date | None:
        return max(
            (
                r.reviewed_on
                for r in self.reviews
                if r.affirmed and r.known_on <= on and r.reviewed_on <= on
            ),
            default=None,
        )

    def decision_in_force(self, on: date) -> Decision | None:
        taken = sorted((d for d in self.decisions if d.on <= on), key=lambda d: d.on)
        return taken[-1].decision if taken else None  # same day: the later one stands


@dataclass(frozen=True)
class Assessment:
    status: Status
    reason: Reason
    rules: Rules
    on: date
    certified_on: date | None
    period_start: date  # the first year, or the current certification year
    period_end: date
    next_review_due: date | None
    review_notice_from: date | None
    progress: tuple[Progress, ...]
    boundaries: tuple[date, ...] = field(repr=False)

    def hours_may_change_it(self) -> bool:
        """Whether more hours could change this status before its next boundary: they only
        ever help, so not for someone certified, held, or in their first year."""
        if self.status is Status.TRAINED:
            return self.on >= self.period_end
        return self.status in (Status.AT_RISK, Status.LAPSED)

    def next_boundary(self) -> date | None:
        return min((b for b in self.boundaries if b > self.on), default=None)


def first_year(facts: Facts, policy: CertificationPolicy) -> tuple[Rules, date]:
    rules = policy.rules_for(facts.trained_on, facts.cohort_id, facts.trained_on)
    return rules, add_months(facts.trained_on, rules.first_year_months)


def certified_on(facts: Facts, policy: CertificationPolicy, on: date) -> date | None:
    """The first date, by `on`, on which the first year had passed and was met as known then."""
    if facts.certified_on is not None:
        return facts.certified_on if facts.certified_on <= on else None
    rules, first_year_end = first_year(facts, policy)
    if on < first_year_end:
        return None
    news = {e.known_on for e in facts.entries} | {e.voided_on for e in facts.entries if e.voided_on}
    for candidate in sorted({first_year_end} | {d for d in news if first_year_end < d <= on}):
        if all_met(rules.first_year, facts.credits(candidate), facts.trained_on, first_year_end):
            return candidate
    return None


def assess(
    facts: Facts, policy: CertificationPolicy, on: date, *, known_certified_on: date | None = None
) -> Assessment:
    """The status on `on`. `known_certified_on` (stored once granted) spares the search."""
    anchor = known_certified_on or certified_on(facts, policy, on)
    credits = facts.credits(on)
    assessment = (
        _in_first_year(facts, policy, on, credits)
        if anchor is None
        else _certified(facts, policy, on, anchor, credits)
    )
    decision = facts.decision_in_force(on)
    if decision in HOLDS:
        held, reason = HOLDS[decision]
        return replace(assessment, status=held, reason=reason)
    return assessment


def _in_first_year(
    facts: Facts, policy: CertificationPolicy, on: date, credits: tuple[Credit, ...]
) -> Assessment:
    rules, end = first_year(facts, policy)
    lead = timedelta(days=rules.at_risk_lead_days)
    return Assessment(
        status=Status.TRAINED,
        reason=Reason.FIRST_YEAR_IN_PROGRESS if on < end else Reason.FIRST_YEAR_UNMET,
        rules=rules,
        on=on,
        certified_on=None,
        period_start=facts.trained_on,
        period_end=end,
        next_review_due=None,
        review_notice_from=None,
        progress=tuple(progress(r, credits, facts.trained_on, end) for r in rules.first_year),
        # The lead before the end changes no status; the worklist reads the first year's
        # progress as of then (`worklist.outlook`).
        boundaries=(end - lead, end),
    )


def certification_year(anchor: date, on: date) -> tuple[int, date, date]:
    """Which certification year `on` falls in (1 from the certification date), and its bounds."""
    index = max(1, (on.year - anchor.year) + 1)
    while add_months(anchor, 12 * (index - 1)) > on:
        index -= 1
    while add_months(anchor, 12 * index) <= on:
        index += 1
    return index, add_months(anchor, 12 * (index - 1)), add_months(anchor, 12 * index)


def _certified(
    facts: Facts, policy: CertificationPolicy, on: date, anchor: date, credits: tuple[Credit, ...]
) -> Assessment:
    index, start, end = certification_year(anchor, on)
    rules = policy.rules_for(facts.trained_on, facts.cohort_id, start)
    lead, grace = timedelta(days=rules.at_risk_lead_days), timedelta(days=rules.grace_days)
    year = tuple(progress(r, credits, start, end) for r in rules.yearly)
    review_due = _review_due(facts, anchor, rules.review_interval_months, on)

    previous_unmet = _year_unmet(facts, policy, anchor, index - 1, credits)
    # Grace follows a year that was kept: someone already lapsed stays lapsed.
    already_lapsed = previous_unmet and _year_unmet(facts, policy, anchor, index - 2, credits)

    if previous_unmet and (on >= start + grace or already_lapsed):
        status, reason = Status.LAPSED, Reason.YEAR_ENDED_UNMET
    elif on >= review_due + grace:
        status, reason = Status.LAPSED, Reason.REVIEW_OVERDUE
    elif previous_unmet:
        status, reason = Status.AT_RISK, Reason.YEAR_ENDED_UNMET
    elif on >= review_due:
        status, reason = Status.AT_RISK, Reason.REVIEW_OVERDUE
    elif on >= end - lead and not all(p.met for p in year):
        status, reason = Status.AT_RISK, Reason.HOURS_SHORT_NEAR_YEAR_END
    elif on >= end - lead and review_due <= end:
        status, reason = Status.AT_RISK, Reason.REVIEW_DUE_BY_YEAR_END
    else:
        status, reason = Status.CERTIFIED, Reason.REQUIREMENTS_MET
    notice_from = review_due - timedelta(days=rules.review_notice_days)
    return Assessment(
        status=status,
        reason=reason,
        rules=rules,
        on=on,
        certified_on=anchor,
        period_start=start,
        period_end=end,
        next_review_due=review_due,
        review_notice_from=notice_from,
        progress=year,
        boundaries=(
            end - lead,
            end,
            start + grace,
            end + grace,
            review_due - lead,
            review_due,
            review_due + grace,
            notice_from,
        ),
    )


def _review_due(facts: Facts, anchor: date, interval: int, on: date) -> date:
    """Due `interval` months after the certification or the latest affirmed review. An
    import that shows no review vouches for those that fell due by the import."""
    last_review = facts.last_affirmed_review(on)
    if last_review is not None:
        return add_months(max(anchor, last_review), interval)
    cycles = 1
    while facts.vouched_until is not None and add_months(anchor, interval * cycles) <= (
        facts.vouched_until
    ):
        cycles += 1
    return add_months(anchor, interval * cycles)


def _year_unmet(
    facts: Facts, policy: CertificationPolicy, anchor: date, index: int, credits: tuple[Credit, ...]
) -> bool:
    """Whether certification year `index` (from 1) ended with its requirements unmet; the
    first year before it was met by definition, and years an import vouches for count."""
    if index < 1:
        return False
    start, end = add_months(anchor, 12 * (index - 1)), add_months(anchor, 12 * index)
    if facts.vouched_until is not None and end <= facts.vouched_until:
        return False
    year_rules = policy.rules_for(facts.trained_on, facts.cohort_id, start)
    return not all_met(year_rules.yearly, credits, start, end)


@dataclass(frozen=True)
class Standing:
    """What the service keeps per person between events: the incremental state."""

    status: Status | None = None
    evaluated_on: date | None = None
    certified_on: date | None = None
    review_noticed_for: date | None = None  # the due date of the last ReviewDue sent


@dataclass(frozen=True)
class Shortfall:
    """One requirement of the year not met yet: what is missing of it."""

    requirement: str
    missing: Decimal
    unit: str


@dataclass(frozen=True)
class StatusChanged:
    old: Status | None
    new: Status
    reason: Reason
    effective: date
    policy_version: str
    first_certification: bool
    # For a person at risk for hours: what is missing, and the day the year ends (they are
    # told, so that they know what to do and by when).
    shortfall: tuple[Shortfall, ...] = ()
    year_ends_on: date | None = None


def _shortfall(year: tuple[Progress, ...]) -> tuple[Shortfall, ...]:
    return tuple(Shortfall(p.name, p.missing, p.unit) for p in year if not p.met)


@dataclass(frozen=True)
class ReviewNoticed:
    due: date
    effective: date


Occasion = StatusChanged | ReviewNoticed


def advance(
    standing: Standing, facts: Facts, policy: CertificationPolicy, to: date
) -> tuple[Standing, list[Occasion], Assessment]:
    """Step from the stored standing through every boundary up to `to`, then to `to`.

    A step on a date the standing already covers changes nothing, so a redelivered fact
    or a restarted scheduler never emits an occasion twice."""
    occasions: list[Occasion] = []
    current = standing
    if current.evaluated_on is None:
        # A record begins with its training; an imported one on the date its import gives
        # (the day of the import, or the day the status it brings began).
        begins = to if facts.certified_on is not None else facts.trained_on
        current = _step(current, facts, policy, min(begins, to), occasions)
    if current.evaluated_on is not None:
        while (
            step := _assess(current, facts, policy, current.evaluated_on).next_boundary()
        ) and step < to:
            current = _step(current, facts, policy, step, occasions)
    if current.evaluated_on is None or current.evaluated_on <= to:
        current = _step(current, facts, policy, to, occasions)
    return current, occasions, _assess(current, facts, policy, max(to, current.evaluated_on or to))


def _assess(standing: Standing, facts: Facts, policy: CertificationPolicy, on: date) -> Assessment:
    return assess(facts, policy, on, known_certified_on=standing.certified_on)


def _step(
    standing: Standing,
    facts: Facts,
    policy: CertificationPolicy,
    on: date,
    occasions: list[Occasion],
) -> Standing:
    found = _assess(standing, facts, policy, on)
    # While an operator holds someone, a certification reached is kept for the return,
    # where it is announced (and its certificate issued) as the first one.
    held = found.status in HELD
    certified_on = standing.certified_on if held else found.certified_on
    if found.status != standing.status:
        reason = _reason_for_change(standing, found, facts)
        short = reason == Reason.HOURS_SHORT_NEAR_YEAR_END
        occasions.append(
            StatusChanged(
                old=standing.status,
                new=found.status,
                reason=reason,
                effective=on,
                policy_version=found.rules.version,
                first_certification=standing.certified_on is None and certified_on is not None,
                shortfall=_shortfall(found.progress) if short else (),
                year_ends_on=found.period_end if short else None,
            )
        )
    noticed = standing.review_noticed_for
    if (
        found.status in (Status.CERTIFIED, Status.AT_RISK, Status.LAPSED)
        and found.review_notice_from is not None
        and found.review_notice_from <= on
        and found.next_review_due is not None
        # A later rule version may bring a due date forward, never back to one noticed.
        and (noticed is None or found.next_review_due > noticed)
    ):
        occasions.append(ReviewNoticed(due=found.next_review_due, effective=on))
        noticed = found.next_review_due
    return Standing(found.status, on, certified_on, noticed)


def _reason_for_change(standing: Standing, found: Assessment, facts: Facts) -> Reason:
    old, new = standing.status, found.status
    first_certified = standing.certified_on is None and found.certified_on is not None
    if first_certified and facts.certified_on is not None and old not in HELD:
        return Reason.CERTIFICATE_IMPORTED  # whatever status the import brings
    if new in HELD:
        return found.reason
    if old in HELD:
        return Reason.OPERATOR_REINSTATED
    if first_certified:
        return Reason.FIRST_YEAR_MET
    if old is None and new is Status.TRAINED:
        return Reason.TRAINING_COMPLETED
    if old is Status.LAPSED:
        return Reason.REINSTATED
    return found.reason
