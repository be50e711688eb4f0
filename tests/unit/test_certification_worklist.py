"""The worklist's rules (`domain.worklist`): the dates a standing keeps for it, what each
person is missing, and the first year's lead as a date the scheduler stops on."""

from datetime import date, timedelta
from decimal import Decimal

from ips_certification.domain.policy import CertificationPolicy
from ips_certification.domain.status import (
    Entry,
    Facts,
    Review,
    Shortfall,
    Standing,
    advance,
    assess,
)
from ips_certification.domain.worklist import (
    REVIEW,
    Category,
    days_left,
    missing_for,
    needs,
    outlook,
)
from ips_shared.contracts.events import CertificationStatus, HoursCategory

S = CertificationStatus
CE = HoursCategory.CONTINUING_EDUCATION
SB = HoursCategory.SKILL_BUILDING
POLICY = CertificationPolicy()
DAY = timedelta(days=1)
TRAINED_ON = date(2026, 3, 10)
FIRST_YEAR_END = date(2027, 3, 10)
YEAR_1_END = date(2028, 3, 10)
YEAR_2_END = date(2029, 3, 10)  # also the first review's due date (24 months)


def entry(on: date, category: HoursCategory, hours: int) -> Entry:
    return Entry(f"hours-{on}-{category}-{hours}", on, category, Decimal(hours), on)


def facts(*entries: Entry, reviews: tuple[Review, ...] = ()) -> Facts:
    return Facts(TRAINED_ON, "2026-spring", tuple(entries), reviews)


def certified(*more: Entry, reviews: tuple[Review, ...] = ()) -> Facts:
    """Certified on FIRST_YEAR_END, plus whatever else."""
    first = (entry(TRAINED_ON + DAY, CE, 8), entry(TRAINED_ON + DAY, SB, 12))
    return facts(*first, *more, reviews=reviews)


LEAD = timedelta(days=60)
GRACE = timedelta(days=30)


def shortfalls(*pairs: tuple[str, int]) -> tuple[Shortfall, ...]:
    return tuple(Shortfall(name, Decimal(missing), "hours") for name, missing in pairs)


def test_the_first_years_lead_is_a_date_the_scheduler_stops_on_changing_nothing():
    first_year = facts(entry(TRAINED_ON, CE, 8))
    found = assess(first_year, POLICY, TRAINED_ON)
    assert found.next_boundary() == FIRST_YEAR_END - LEAD
    at_lead = assess(first_year, POLICY, FIRST_YEAR_END - LEAD)
    assert (at_lead.status, at_lead.next_boundary()) == (S.TRAINED, FIRST_YEAR_END)
    _, occasions, _ = advance(Standing(), first_year, POLICY, FIRST_YEAR_END - DAY)
    assert [o.new for o in occasions] == [S.TRAINED]  # no change at the lead's start


def test_a_first_year_short_of_hours_is_unmet_from_its_lead_with_what_is_missing():
    short = facts(entry(TRAINED_ON, CE, 8), entry(TRAINED_ON, SB, 4))
    found = assess(short, POLICY, FIRST_YEAR_END - LEAD)
    seen = outlook(found)
    assert (seen.unmet, seen.lead_from, seen.period_ends_on) == (
        True,
        FIRST_YEAR_END - LEAD,
        FIRST_YEAR_END,
    )
    assert seen.act_by is None  # not at risk: the first year has no grace
    assert needs(short, POLICY, found) == shortfalls(("skill_building", 8))
    met = facts(entry(TRAINED_ON, CE, 8), entry(TRAINED_ON, SB, 12))
    assert not outlook(assess(met, POLICY, FIRST_YEAR_END - LEAD)).unmet


def test_at_risk_for_hours_acts_by_the_years_end_and_needs_the_years_hours():
    short = certified(entry(FIRST_YEAR_END + DAY, SB, 12))
    found = assess(short, POLICY, YEAR_1_END - LEAD)
    assert found.status is S.AT_RISK
    seen = outlook(found)
    assert (seen.act_by, seen.unmet) == (YEAR_1_END, True)
    assert days_left(seen.act_by, YEAR_1_END - LEAD) == 60
    assert needs(short, POLICY, found) == shortfalls(("continuing_education", 8))


def test_in_the_grace_period_and_lapsed_the_unkept_year_says_what_reinstates():
    unkept = certified(entry(FIRST_YEAR_END + DAY, CE, 3))
    in_grace = assess(unkept, POLICY, YEAR_1_END + DAY)
    assert in_grace.status is S.AT_RISK
    assert outlook(in_grace).act_by == YEAR_1_END + GRACE  # the day they would lapse
    lapsed = assess(unkept, POLICY, YEAR_1_END + GRACE + DAY)
    assert lapsed.status is S.LAPSED
    assert outlook(lapsed).act_by is None
    # The year that ended unmet, not the current one.
    expected = shortfalls(("continuing_education", 5), ("skill_building", 12))
    assert needs(unkept, POLICY, lapsed) == expected
    assert missing_for(Category.LAPSED, unkept, POLICY, lapsed) == expected


def test_a_review_due_is_kept_with_its_notice_and_named_when_overdue():
    kept_years = certified(
        entry(FIRST_YEAR_END + DAY, CE, 8),
        entry(FIRST_YEAR_END + DAY, SB, 12),
        entry(YEAR_1_END + DAY, CE, 8),
        entry(YEAR_1_END + DAY, SB, 12),
    )
    found = assess(kept_years, POLICY, YEAR_2_END - LEAD)
    seen = outlook(found)
    assert (seen.review_due_on, seen.review_notice_from) == (YEAR_2_END, YEAR_2_END - LEAD)
    assert found.status is S.AT_RISK  # a review due by the year's end
    assert needs(kept_years, POLICY, found) == (REVIEW,)  # the year's hours are kept
    overdue = assess(kept_years, POLICY, YEAR_2_END + DAY)
    assert outlook(overdue).act_by == YEAR_2_END + GRACE
    assert REVIEW in needs(kept_years, POLICY, overdue)
    assert missing_for(Category.REVIEW_DUE, kept_years, POLICY, found) == (REVIEW,)


def test_a_review_held_mid_cycle_moves_the_due_date_past_the_year_end():
    held_on = FIRST_YEAR_END + timedelta(days=100)
    kept = certified(
        entry(FIRST_YEAR_END + DAY, CE, 8),
        entry(FIRST_YEAR_END + DAY, SB, 12),
        reviews=(Review("r-1", held_on, True, held_on),),
    )
    found = assess(kept, POLICY, YEAR_1_END)
    assert found.status is S.CERTIFIED
    assert outlook(found).review_due_on == date(2029, 6, 18)  # 24 months after the review
