"""The certification rules (DOMAIN.md, "The path to certification" and "Hours") at their
boundaries, with the default policy (Maine) unless a test is about a custom one."""

import itertools
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from ips_certification.domain.policy import (
    CONTINUING_EDUCATION,
    MAINE_2026,
    SKILL_BUILDING,
    AnyOf,
    CertificationPolicy,
    Minimums,
    Rules,
    SumOf,
)
from ips_certification.domain.requirements import Credit, add_months, progress
from ips_certification.domain.status import (
    Decision,
    Entry,
    Facts,
    OperatorDecision,
    Reason,
    Review,
    ReviewNoticed,
    Shortfall,
    Standing,
    StatusChanged,
    advance,
    assess,
    certification_year,
    certified_on,
)
from ips_shared.contracts.events import CertificationStatus, HoursCategory

S = CertificationStatus
CE = HoursCategory.CONTINUING_EDUCATION
SB = HoursCategory.SKILL_BUILDING
CO = HoursCategory.CO_REFLECTION
VOL = HoursCategory.VOLUNTEER_SERVICE
POLICY = CertificationPolicy()
DAY = timedelta(days=1)

TRAINED_ON = date(2026, 3, 10)
FIRST_YEAR_END = date(2027, 3, 10)  # the certification date when the first year is met
YEAR_1_END = date(2028, 3, 10)  # certification year 1 is [2027-03-10, 2028-03-10)
YEAR_2_END = date(2029, 3, 10)  # also the first review's due date (24 months)
COHORT = "2026-spring"

_ids = itertools.count()


def entry(
    activity_date: date,
    category: HoursCategory,
    hours: str | int,
    known_on: date | None = None,
    voided_on: date | None = None,
) -> Entry:
    return Entry(
        event_id=f"hours-{next(_ids)}",
        activity_date=activity_date,
        category=category,
        hours=Decimal(hours),
        known_on=known_on or activity_date,
        voided_on=voided_on,
    )


def year_met(start: date, known_on: date | None = None) -> tuple[Entry, ...]:
    """The default hours for a year starting on `start`, dated a week in."""
    on = start + timedelta(days=7)
    return entry(on, CE, 8, known_on), entry(on, SB, 12, known_on)


def review(reviewed_on: date, affirmed: bool = True, known_on: date | None = None) -> Review:
    return Review(f"review-{next(_ids)}", reviewed_on, affirmed, known_on or reviewed_on)


def facts(
    *entries: Entry,
    reviews: tuple[Review, ...] = (),
    decisions: tuple[OperatorDecision, ...] = (),
    trained_on: date = TRAINED_ON,
    cohort_id: str = COHORT,
) -> Facts:
    return Facts(trained_on, cohort_id, tuple(entries), tuple(reviews), tuple(decisions))


def certified(*more: Entry, **kwargs) -> Facts:
    """Certified on FIRST_YEAR_END, plus whatever else."""
    return facts(*year_met(TRAINED_ON), *more, **kwargs)


def status_on(history: Facts, on: date, policy: CertificationPolicy = POLICY) -> S:
    return assess(history, policy, on).status


def fact_dates(history: Facts) -> list[date]:
    """The days on which facts became known: the service advances on each of them."""
    return sorted(
        {e.known_on for e in history.entries}
        | {e.voided_on for e in history.entries if e.voided_on}
        | {r.known_on for r in history.reviews}
        | {d.on for d in history.decisions}
    )


def changes(history: Facts, until: date, policy: CertificationPolicy = POLICY) -> list:
    """Every status change from training to `until`, as (effective, old, new, reason),
    advancing as the service does: at training, on each fact's day, then to `until`."""
    standing, occasions = Standing(), []
    for on in [history.trained_on, *(d for d in fact_dates(history) if d < until), until]:
        standing, more, _ = advance(standing, history, policy, on)
        occasions += more
    return [
        (o.effective, o.old, o.new, o.reason) for o in occasions if isinstance(o, StatusChanged)
    ]


# -- the first year ----------------------------------------------------------------------


def test_exactly_eight_ce_and_twelve_skill_building_hours_certify_when_the_first_year_ends():
    history = facts(entry(date(2026, 5, 1), CE, "8.00"), entry(date(2026, 6, 1), SB, "12"))

    found = assess(history, POLICY, FIRST_YEAR_END)

    assert found.status == S.CERTIFIED
    assert found.certified_on == FIRST_YEAR_END
    assert found.reason == Reason.REQUIREMENTS_MET


def test_the_first_year_is_twelve_months_from_training_completion():
    found = assess(facts(), POLICY, TRAINED_ON)

    assert (found.period_start, found.period_end) == (TRAINED_ON, FIRST_YEAR_END)


def test_met_hours_do_not_certify_before_the_first_year_has_passed():
    found = assess(certified(), POLICY, FIRST_YEAR_END - DAY)

    assert found.status == S.TRAINED
    assert found.reason == Reason.FIRST_YEAR_IN_PROGRESS
    assert found.certified_on is None
    assert all(p.met for p in found.progress)


def test_hours_split_over_many_entries_add_up():
    history = facts(
        *(entry(date(2026, 4, 1) + timedelta(days=i), CE, "0.25") for i in range(32)),
        *(entry(date(2026, 9, 1), SB, h) for h in ("5.5", "6.5")),
    )

    assert status_on(history, FIRST_YEAR_END) == S.CERTIFIED


@pytest.mark.parametrize(
    ("ce", "sb", "short"),
    [("7.99", "12", "continuing_education"), ("8", "11.5", "skill_building"), ("0", "0", None)],
)
def test_a_first_year_short_of_hours_does_not_certify(ce, sb, short):
    history = facts(entry(date(2026, 5, 1), CE, ce), entry(date(2026, 5, 1), SB, sb))

    found = assess(history, POLICY, FIRST_YEAR_END + timedelta(days=400))

    assert found.status == S.TRAINED
    assert found.reason == Reason.FIRST_YEAR_UNMET
    assert found.certified_on is None
    unmet = {p.name for p in found.progress if not p.met}
    assert unmet == ({short} if short else {"continuing_education", "skill_building"})


def test_progress_says_how_much_is_missing():
    history = facts(entry(date(2026, 5, 1), CE, "7.99"), entry(date(2026, 5, 1), SB, "11.5"))

    found = assess(history, POLICY, FIRST_YEAR_END)

    assert [(p.name, p.counted, p.required, p.missing) for p in found.progress] == [
        ("continuing_education", Decimal("7.99"), 8, Decimal("0.01")),
        ("skill_building", Decimal("11.5"), 12, Decimal("0.5")),
    ]


def test_hours_on_the_last_day_of_the_first_year_count_for_it():
    history = facts(
        entry(FIRST_YEAR_END - DAY, CE, 8), entry(FIRST_YEAR_END - DAY, SB, 12, FIRST_YEAR_END)
    )

    assert status_on(history, FIRST_YEAR_END) == S.CERTIFIED


def test_hours_on_the_day_the_first_year_ends_do_not_count_for_it():
    history = facts(entry(date(2026, 5, 1), CE, 8), entry(FIRST_YEAR_END, SB, 12))

    found = assess(history, POLICY, FIRST_YEAR_END + timedelta(days=30))

    assert found.status == S.TRAINED
    assert found.progress[1].counted == 0


def test_hours_before_training_completion_do_not_count():
    the_day_before = facts(entry(TRAINED_ON - DAY, CE, 8), entry(TRAINED_ON, SB, 12))
    the_day_itself = facts(entry(TRAINED_ON, CE, 8), entry(TRAINED_ON, SB, 12))

    assert status_on(the_day_before, FIRST_YEAR_END) == S.TRAINED
    assert status_on(the_day_itself, FIRST_YEAR_END) == S.CERTIFIED


@pytest.mark.parametrize("category", [CO, VOL])
def test_co_reflection_and_volunteer_service_count_toward_nothing_by_default(category):
    history = facts(entry(date(2026, 5, 1), category, 24), entry(date(2026, 5, 2), category, 24))

    found = assess(history, POLICY, FIRST_YEAR_END)

    assert found.status == S.TRAINED
    assert [p.counted for p in found.progress] == [0, 0]


def test_co_reflection_does_not_stand_in_for_skill_building_by_default():
    history = facts(entry(date(2026, 5, 1), CE, 8), entry(date(2026, 5, 1), CO, 12))

    assert status_on(history, FIRST_YEAR_END) == S.TRAINED


def co_reflection_counts() -> CertificationPolicy:
    skill_building = SumOf(name="skill_building", categories=frozenset({SB, CO}), hours=Decimal(12))
    rules = Rules(
        version="co-reflection",
        effective_from=date(2026, 1, 1),
        first_year=(CONTINUING_EDUCATION, skill_building),
        yearly=(CONTINUING_EDUCATION, skill_building),
    )
    return CertificationPolicy(rules=(rules,))


def test_a_policy_may_count_co_reflection_toward_skill_building():
    history = facts(
        entry(date(2026, 5, 1), CE, 8),
        entry(date(2026, 5, 1), SB, 6),
        entry(date(2026, 6, 1), CO, 6),
    )

    assert status_on(history, FIRST_YEAR_END, co_reflection_counts()) == S.CERTIFIED
    assert status_on(history, FIRST_YEAR_END) == S.TRAINED


def test_a_policy_counting_co_reflection_still_ignores_volunteer_service():
    history = facts(
        entry(date(2026, 5, 1), CE, 8),
        entry(date(2026, 5, 1), CO, 6),
        entry(date(2026, 6, 1), VOL, 6),
    )

    found = assess(history, co_reflection_counts(), FIRST_YEAR_END)

    assert found.status == S.TRAINED
    assert found.progress[1].counted == 6


# -- leap days ---------------------------------------------------------------------------


LEAP_TRAINED = date(2028, 2, 29)
LEAP_FIRST_YEAR_END = date(2029, 2, 28)


def test_a_first_year_from_a_leap_day_ends_on_the_28th_of_february():
    found = assess(facts(trained_on=LEAP_TRAINED), POLICY, LEAP_TRAINED)

    assert found.period_end == LEAP_FIRST_YEAR_END == add_months(LEAP_TRAINED, 12)


def test_hours_on_the_last_day_of_a_first_year_from_a_leap_day_count_for_it():
    last_day = LEAP_FIRST_YEAR_END - DAY  # 2029-02-27: the period is [2028-02-29, 2029-02-28)
    history = facts(
        entry(last_day, CE, 8), entry(date(2028, 2, 29), SB, 12), trained_on=LEAP_TRAINED
    )

    found = assess(history, POLICY, LEAP_FIRST_YEAR_END)

    assert found.status == S.CERTIFIED
    assert found.certified_on == LEAP_FIRST_YEAR_END


def test_hours_on_the_28th_of_february_after_a_leap_day_training_count_for_the_next_year():
    history = facts(
        *year_met(LEAP_TRAINED),
        entry(LEAP_FIRST_YEAR_END, CE, 8),
        entry(LEAP_FIRST_YEAR_END, SB, 12),
        trained_on=LEAP_TRAINED,
    )

    first = assess(history, POLICY, LEAP_FIRST_YEAR_END - DAY)
    year_one = assess(history, POLICY, LEAP_FIRST_YEAR_END)

    assert [p.counted for p in first.progress] == [8, 12]
    assert (year_one.period_start, year_one.period_end) == (LEAP_FIRST_YEAR_END, date(2030, 2, 28))
    assert [p.counted for p in year_one.progress] == [8, 12]


def test_certification_years_from_a_leap_day_anchor_never_leave_a_gap():
    anchor = date(2028, 2, 29)
    expected = [
        (1, date(2028, 2, 29), date(2029, 2, 28)),
        (2, date(2029, 2, 28), date(2030, 2, 28)),
        (3, date(2030, 2, 28), date(2031, 2, 28)),
        (4, date(2031, 2, 28), date(2032, 2, 29)),
        (5, date(2032, 2, 29), date(2033, 2, 28)),
    ]

    for index, start, end in expected:
        assert certification_year(anchor, start) == (index, start, end)
        assert certification_year(anchor, end - DAY) == (index, start, end)


def test_a_certification_granted_on_a_leap_day_runs_its_years_from_it():
    trained = date(2027, 2, 15)
    late = date(2028, 2, 29)
    history = facts(*year_met(trained, known_on=late), trained_on=trained)

    on_the_day = assess(history, POLICY, late)
    next_year = assess(history, POLICY, date(2029, 2, 28))

    assert on_the_day.certified_on == late
    assert (on_the_day.period_start, on_the_day.period_end) == (late, date(2029, 2, 28))
    assert (next_year.period_start, next_year.period_end) == (date(2029, 2, 28), date(2030, 2, 28))
    assert on_the_day.next_review_due == date(2030, 2, 28)


# -- certification granted late ----------------------------------------------------------


def test_first_year_hours_recorded_late_certify_on_the_day_they_are_recorded():
    recorded = FIRST_YEAR_END + timedelta(days=45)
    history = facts(entry(date(2026, 5, 1), CE, 8), entry(date(2027, 3, 1), SB, 12, recorded))

    before = assess(history, POLICY, recorded - DAY)
    after = assess(history, POLICY, recorded)

    assert (before.status, before.reason, before.certified_on) == (
        S.TRAINED,
        Reason.FIRST_YEAR_UNMET,
        None,
    )
    assert (after.status, after.certified_on) == (S.CERTIFIED, recorded)
    assert certified_on(history, POLICY, recorded + timedelta(days=900)) == recorded


def test_a_late_certification_anchors_the_certification_years_and_the_review():
    recorded = date(2027, 5, 20)
    history = facts(*year_met(TRAINED_ON, known_on=recorded))

    found = assess(history, POLICY, recorded)

    assert (found.period_start, found.period_end) == (recorded, date(2028, 5, 20))
    assert found.next_review_due == date(2029, 5, 20)


def test_a_late_certification_is_announced_as_the_first_certification():
    recorded = FIRST_YEAR_END + timedelta(days=45)
    history = facts(*year_met(TRAINED_ON, known_on=recorded))

    standing, _, _ = advance(Standing(), history, POLICY, TRAINED_ON)
    standing, occasions, _ = advance(standing, history, POLICY, recorded)

    assert occasions == [
        StatusChanged(S.TRAINED, S.CERTIFIED, Reason.FIRST_YEAR_MET, recorded, "maine-2026.1", True)
    ]
    assert standing.certified_on == recorded


def test_hours_dated_after_the_first_year_never_complete_it():
    history = facts(entry(date(2026, 5, 1), CE, 8), entry(FIRST_YEAR_END + DAY, SB, 12))

    assert status_on(history, FIRST_YEAR_END + timedelta(days=500)) == S.TRAINED


# -- hours short near the year's end, lapse and reinstatement ---------------------------


@pytest.mark.parametrize(
    ("days_before", "expected"),
    [(61, S.CERTIFIED), (60, S.AT_RISK), (59, S.AT_RISK), (1, S.AT_RISK)],
)
def test_a_year_short_of_hours_is_at_risk_from_sixty_days_before_it_ends(days_before, expected):
    history = certified(entry(date(2027, 6, 1), CE, 8), entry(date(2027, 6, 1), SB, "11.75"))

    found = assess(history, POLICY, YEAR_1_END - timedelta(days=days_before))

    assert found.status == expected
    if expected == S.AT_RISK:
        assert found.reason == Reason.HOURS_SHORT_NEAR_YEAR_END


@pytest.mark.parametrize("days_before", [61, 60, 59, 1])
def test_a_year_with_its_hours_is_certified_up_to_its_end(days_before):
    history = certified(*year_met(FIRST_YEAR_END))

    assert status_on(history, YEAR_1_END - timedelta(days=days_before)) == S.CERTIFIED


def test_the_year_after_a_met_year_begins_certified():
    history = certified(*year_met(FIRST_YEAR_END))

    found = assess(history, POLICY, YEAR_1_END)

    assert (found.status, found.period_start, found.period_end) == (
        S.CERTIFIED,
        YEAR_1_END,
        YEAR_2_END,
    )


def test_hours_on_the_last_day_of_a_certification_year_count_for_it():
    history = certified(entry(YEAR_1_END - DAY, CE, 8), entry(YEAR_1_END - DAY, SB, 12))

    assert status_on(history, YEAR_1_END - DAY) == S.CERTIFIED
    assert status_on(history, YEAR_1_END + timedelta(days=30)) == S.CERTIFIED


def test_hours_on_a_certification_years_end_count_for_the_next_year():
    history = certified(entry(YEAR_1_END, CE, 8), entry(YEAR_1_END, SB, 12))

    assert [p.counted for p in assess(history, POLICY, YEAR_1_END - DAY).progress] == [0, 0]
    assert [p.counted for p in assess(history, POLICY, YEAR_1_END).progress] == [8, 12]
    assert status_on(history, YEAR_1_END) == S.AT_RISK


@pytest.mark.parametrize(
    ("days_after", "expected"),
    [(0, S.AT_RISK), (1, S.AT_RISK), (29, S.AT_RISK), (30, S.LAPSED), (31, S.LAPSED)],
)
def test_a_year_ended_unmet_is_at_risk_for_the_grace_period_then_lapsed(days_after, expected):
    history = certified(entry(date(2027, 6, 1), CE, 8))

    found = assess(history, POLICY, YEAR_1_END + timedelta(days=days_after))

    assert (found.status, found.reason) == (expected, Reason.YEAR_ENDED_UNMET)


def test_hours_of_the_next_year_do_not_make_up_for_an_unmet_year():
    history = certified(*year_met(YEAR_1_END))

    assert status_on(history, YEAR_1_END + timedelta(days=30)) == S.LAPSED


def test_late_hours_dated_in_the_unmet_year_reinstate_a_lapsed_specialist():
    recorded = YEAR_1_END + timedelta(days=50)
    history = certified(
        entry(date(2027, 6, 1), CE, 8), entry(YEAR_1_END - DAY, SB, 12, known_on=recorded)
    )

    assert status_on(history, recorded - DAY) == S.LAPSED
    assert status_on(history, recorded) == S.CERTIFIED
    assert changes(history, recorded)[-3:] == [
        (YEAR_1_END - timedelta(days=60), S.CERTIFIED, S.AT_RISK, Reason.HOURS_SHORT_NEAR_YEAR_END),
        (YEAR_1_END + timedelta(days=30), S.AT_RISK, S.LAPSED, Reason.YEAR_ENDED_UNMET),
        (recorded, S.LAPSED, S.CERTIFIED, Reason.REINSTATED),
    ]


def test_reinstatement_is_announced_with_its_reason():
    recorded = YEAR_1_END + timedelta(days=50)
    history = certified(
        entry(date(2027, 6, 1), CE, 8), entry(YEAR_1_END - DAY, SB, 12, known_on=recorded)
    )
    standing, _, _ = advance(Standing(), history, POLICY, TRAINED_ON)
    standing, _, _ = advance(standing, history, POLICY, recorded - DAY)

    standing, occasions, _ = advance(standing, history, POLICY, recorded)

    assert occasions == [
        StatusChanged(S.LAPSED, S.CERTIFIED, Reason.REINSTATED, recorded, "maine-2026.1", False)
    ]
    assert standing.status == S.CERTIFIED


def test_late_hours_recorded_during_the_grace_period_clear_the_risk():
    recorded = YEAR_1_END + timedelta(days=10)
    history = certified(
        entry(date(2027, 6, 1), CE, 8), entry(date(2027, 7, 1), SB, 12, known_on=recorded)
    )

    assert status_on(history, recorded - DAY) == S.AT_RISK
    assert status_on(history, recorded) == S.CERTIFIED
    assert status_on(history, YEAR_1_END + timedelta(days=30)) == S.CERTIFIED


def test_a_lapsed_specialist_who_records_nothing_stays_lapsed_into_the_next_year():
    history = certified(entry(date(2027, 6, 1), CE, 8))  # year 1 unmet, nothing ever after

    assert status_on(history, YEAR_1_END + timedelta(days=30)) == S.LAPSED
    for on in [YEAR_2_END, YEAR_2_END + timedelta(days=29), YEAR_2_END + timedelta(days=400)]:
        assert status_on(history, on) == S.LAPSED
    assert [c for c in changes(history, YEAR_2_END + timedelta(days=400)) if c[1] == S.LAPSED] == []


def test_a_lapsed_specialist_who_keeps_the_next_year_is_certified_when_it_ends():
    history = certified(
        entry(date(2027, 6, 1), CE, 8),
        *year_met(YEAR_1_END),
        reviews=(review(YEAR_1_END + timedelta(days=10)),),
    )

    assert status_on(history, YEAR_2_END - DAY) == S.LAPSED
    assert changes(history, YEAR_2_END)[-1] == (
        YEAR_2_END,
        S.LAPSED,
        S.CERTIFIED,
        Reason.REINSTATED,
    )


# -- the review of commitment ------------------------------------------------------------


def two_years_met(**kwargs) -> Facts:
    return certified(*year_met(FIRST_YEAR_END), *year_met(YEAR_1_END), **kwargs)


def test_the_first_review_falls_due_24_months_after_certification_at_the_end_of_year_two():
    found = assess(two_years_met(), POLICY, FIRST_YEAR_END)

    assert found.next_review_due == YEAR_2_END == add_months(FIRST_YEAR_END, 24)
    assert found.review_notice_from == YEAR_2_END - timedelta(days=60)


@pytest.mark.parametrize(
    ("days_before", "expected"),
    [(61, S.CERTIFIED), (60, S.AT_RISK), (59, S.AT_RISK), (1, S.AT_RISK)],
)
def test_a_review_due_at_the_years_end_puts_the_year_at_risk_from_sixty_days_before(
    days_before, expected
):
    found = assess(two_years_met(), POLICY, YEAR_2_END - timedelta(days=days_before))

    assert found.status == expected
    if expected == S.AT_RISK:
        assert found.reason == Reason.REVIEW_DUE_BY_YEAR_END


def test_an_affirmed_review_clears_the_risk_and_moves_the_next_due_date():
    reviewed = YEAR_2_END - timedelta(days=90)
    history = two_years_met(reviews=(review(reviewed),))

    found = assess(history, POLICY, YEAR_2_END - timedelta(days=30))

    assert found.status == S.CERTIFIED
    assert found.next_review_due == add_months(reviewed, 24)


def test_a_review_recorded_during_the_at_risk_window_clears_it_from_that_day():
    recorded = YEAR_2_END - timedelta(days=20)
    history = two_years_met(reviews=(review(recorded - timedelta(days=5), known_on=recorded),))

    assert status_on(history, recorded - DAY) == S.AT_RISK
    assert status_on(history, recorded) == S.CERTIFIED


def test_a_review_not_affirmed_does_not_clear_the_risk():
    history = two_years_met(reviews=(review(YEAR_2_END - timedelta(days=90), affirmed=False),))

    found = assess(history, POLICY, YEAR_2_END - timedelta(days=30))

    assert (found.status, found.reason) == (S.AT_RISK, Reason.REVIEW_DUE_BY_YEAR_END)
    assert found.next_review_due == YEAR_2_END


@pytest.mark.parametrize(
    ("days_after", "expected"),
    [(0, S.AT_RISK), (29, S.AT_RISK), (30, S.LAPSED), (200, S.LAPSED)],
)
def test_an_overdue_review_is_at_risk_for_the_grace_period_then_lapsed(days_after, expected):
    history = certified(*year_met(FIRST_YEAR_END), *year_met(YEAR_1_END), *year_met(YEAR_2_END))

    found = assess(history, POLICY, YEAR_2_END + timedelta(days=days_after))

    assert (found.status, found.reason) == (expected, Reason.REVIEW_OVERDUE)


def test_recording_the_overdue_review_reinstates():
    recorded = YEAR_2_END + timedelta(days=45)
    history = certified(
        *year_met(FIRST_YEAR_END),
        *year_met(YEAR_1_END),
        *year_met(YEAR_2_END),
        reviews=(review(recorded),),
    )
    standing, _, _ = advance(Standing(), history, POLICY, TRAINED_ON)
    standing, _, _ = advance(standing, history, POLICY, recorded - DAY)
    assert standing.status == S.LAPSED

    standing, occasions, found = advance(standing, history, POLICY, recorded)

    assert [o for o in occasions if isinstance(o, StatusChanged)] == [
        StatusChanged(S.LAPSED, S.CERTIFIED, Reason.REINSTATED, recorded, "maine-2026.1", False)
    ]
    assert found.next_review_due == add_months(recorded, 24)


def test_a_review_counts_only_from_the_day_it_is_known():
    history = two_years_met(
        reviews=(review(YEAR_2_END - timedelta(days=90), known_on=YEAR_2_END + timedelta(days=3)),)
    )

    assert status_on(history, YEAR_2_END + timedelta(days=2)) == S.AT_RISK
    assert status_on(history, YEAR_2_END + timedelta(days=3)) == S.CERTIFIED


def test_a_six_month_review_interval_is_overdue_mid_year():
    rules = MAINE_2026.model_copy(update={"review_interval_months": 6})
    policy = CertificationPolicy(rules=(rules,))
    due = add_months(FIRST_YEAR_END, 6)

    assert status_on(certified(), due - DAY, policy) == S.CERTIFIED
    assert assess(certified(), policy, due).reason == Reason.REVIEW_OVERDUE
    assert status_on(certified(), due + timedelta(days=30), policy) == S.LAPSED


# -- review notices ----------------------------------------------------------------------


def notices(occasions) -> list[ReviewNoticed]:
    return [o for o in occasions if isinstance(o, ReviewNoticed)]


def test_the_review_notice_goes_out_sixty_days_before_the_review_falls_due():
    history = two_years_met()
    standing, _, _ = advance(Standing(), history, POLICY, TRAINED_ON)

    _, occasions, _ = advance(standing, history, POLICY, YEAR_2_END + timedelta(days=10))

    assert notices(occasions) == [ReviewNoticed(YEAR_2_END, YEAR_2_END - timedelta(days=60))]


def test_the_review_notice_goes_out_once_however_often_advance_runs():
    history = two_years_met()
    notice_day = YEAR_2_END - timedelta(days=60)
    standing, _, _ = advance(Standing(), history, POLICY, TRAINED_ON)
    standing, before, _ = advance(standing, history, POLICY, notice_day - DAY)
    standing, first, _ = advance(standing, history, POLICY, notice_day)

    later = []
    for on in [notice_day, notice_day, notice_day - timedelta(days=5), notice_day + DAY]:
        standing, occasions, _ = advance(standing, history, POLICY, on)
        later += occasions

    assert notices(before) == []
    assert notices(first) == [ReviewNoticed(YEAR_2_END, notice_day)]
    assert notices(later) == []
    assert standing.review_noticed_for == YEAR_2_END


def test_a_new_due_date_gets_its_own_notice():
    reviewed = YEAR_2_END - timedelta(days=30)
    history = two_years_met(reviews=(review(reviewed),))
    next_due = add_months(reviewed, 24)
    standing, _, _ = advance(Standing(), history, POLICY, TRAINED_ON)

    _, occasions, _ = advance(standing, history, POLICY, next_due)

    assert notices(occasions) == [
        ReviewNoticed(YEAR_2_END, YEAR_2_END - timedelta(days=60)),
        ReviewNoticed(next_due, next_due - timedelta(days=60)),
    ]


def test_a_review_notice_is_never_repeated_when_versions_move_the_due_date_back_and_forth():
    policy = CertificationPolicy(
        rules=(
            MAINE_2026,
            Rules(version="six-months", effective_from=date(2028, 6, 1), review_interval_months=6),
            Rules(version="back-to-24", effective_from=date(2029, 6, 1)),
        )
    )
    history = certified(
        *(e for start in [FIRST_YEAR_END, YEAR_1_END, YEAR_2_END] for e in year_met(start))
    )
    standing, _, _ = advance(Standing(), history, policy, TRAINED_ON)

    _, occasions, _ = advance(standing, history, policy, date(2031, 1, 1))

    # Under "six-months" the due date moves back to 2027-09-10, already past: no notice
    # for a date earlier than one noticed, and 2029-03-10 is not noticed again under
    # "back-to-24"; the status still shows the overdue review.
    assert [notice.due for notice in notices(occasions)] == [YEAR_2_END]


def test_no_review_notice_before_certification():
    history = facts()
    standing, _, _ = advance(Standing(), history, POLICY, TRAINED_ON)

    _, occasions, _ = advance(standing, history, POLICY, TRAINED_ON + timedelta(days=2000))

    assert notices(occasions) == []


# -- voided hours ------------------------------------------------------------------------


def test_voided_hours_count_until_the_day_they_are_voided():
    voided = date(2026, 12, 1)
    history = facts(
        entry(date(2026, 5, 1), CE, 8, voided_on=voided), entry(date(2026, 5, 1), SB, 12)
    )

    assert assess(history, POLICY, voided - DAY).progress[0].counted == 8
    assert assess(history, POLICY, voided).progress[0].counted == 0
    assert status_on(history, FIRST_YEAR_END) == S.TRAINED


def test_hours_voided_on_the_first_years_end_do_not_certify():
    history = facts(
        entry(date(2026, 5, 1), CE, 8, voided_on=FIRST_YEAR_END), entry(date(2026, 5, 1), SB, 12)
    )

    assert status_on(history, FIRST_YEAR_END) == S.TRAINED


def test_hours_voided_after_certification_leave_the_certification_but_leave_the_year_short():
    voided = YEAR_1_END - timedelta(days=100)
    history = certified(
        entry(date(2027, 4, 1), CE, 8, voided_on=voided), entry(date(2027, 4, 1), SB, 12)
    )

    assert status_on(history, voided) == S.CERTIFIED
    assert assess(history, POLICY, voided).progress[0].counted == 0
    found = assess(history, POLICY, YEAR_1_END - timedelta(days=60))
    assert (found.status, found.certified_on) == (S.AT_RISK, FIRST_YEAR_END)


def test_a_corrected_entry_replaces_a_voided_one():
    fixed_on = date(2027, 12, 10)
    history = certified(
        entry(date(2027, 4, 1), CE, 8, voided_on=fixed_on),
        entry(date(2027, 4, 1), CE, "8.5", known_on=fixed_on),
        entry(date(2027, 4, 1), SB, 12),
    )

    assert assess(history, POLICY, fixed_on).progress[0].counted == Decimal("8.5")


# -- operator decisions ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("decision", "status", "reason"),
    [
        (Decision.SUSPEND, S.SUSPENDED, Reason.OPERATOR_SUSPENDED),
        (Decision.WITHDRAW, S.WITHDRAWN, Reason.OPERATOR_WITHDREW),
    ],
)
@pytest.mark.parametrize("on", [date(2026, 6, 1), date(2027, 6, 1), YEAR_1_END + timedelta(40)])
def test_an_operator_suspension_or_withdrawal_overrides_the_derived_status(
    decision, status, reason, on
):
    history = certified(decisions=(OperatorDecision(decision, on),))

    assert status_on(history, on - DAY) != status
    found = assess(history, POLICY, on)
    assert (found.status, found.reason) == (status, reason)
    assert status_on(history, on + timedelta(days=3000)) == status


@pytest.mark.parametrize("decision", [Decision.SUSPEND, Decision.WITHDRAW])
def test_an_operator_reinstatement_returns_to_the_derived_status(decision):
    held, back = date(2027, 6, 1), date(2028, 4, 1)  # back during the grace period
    history = certified(
        decisions=(OperatorDecision(decision, held), OperatorDecision(Decision.REINSTATE, back))
    )
    without = certified()

    for on in [back, back + timedelta(days=20)]:
        assert assess(history, POLICY, on) == assess(without, POLICY, on)
    assert status_on(history, back) == S.AT_RISK


def test_an_operator_reinstatement_is_announced_with_its_reason():
    held, back = date(2027, 6, 1), date(2027, 8, 1)
    history = certified(
        *year_met(FIRST_YEAR_END),
        decisions=(
            OperatorDecision(Decision.SUSPEND, held),
            OperatorDecision(Decision.REINSTATE, back),
        ),
    )

    assert changes(history, back) == [
        (TRAINED_ON, None, S.TRAINED, Reason.TRAINING_COMPLETED),
        (FIRST_YEAR_END, S.TRAINED, S.CERTIFIED, Reason.FIRST_YEAR_MET),
        (held, S.CERTIFIED, S.SUSPENDED, Reason.OPERATOR_SUSPENDED),
        (back, S.SUSPENDED, S.CERTIFIED, Reason.OPERATOR_REINSTATED),
    ]


def test_of_two_decisions_on_the_same_day_the_later_one_stands():
    on = date(2027, 6, 1)
    suspend, withdraw = (
        OperatorDecision(Decision.SUSPEND, on),
        OperatorDecision(Decision.WITHDRAW, on),
    )

    assert status_on(certified(decisions=(suspend, withdraw)), on) == S.WITHDRAWN
    assert status_on(certified(decisions=(withdraw, suspend)), on) == S.SUSPENDED


def test_a_suspended_trainee_is_certified_once_reinstated_if_the_first_year_was_met():
    history = certified(
        decisions=(
            OperatorDecision(Decision.SUSPEND, date(2026, 12, 1)),
            OperatorDecision(Decision.REINSTATE, date(2027, 4, 1)),
        )
    )

    assert status_on(history, FIRST_YEAR_END) == S.SUSPENDED
    assert assess(history, POLICY, FIRST_YEAR_END).certified_on == FIRST_YEAR_END
    assert status_on(history, date(2027, 4, 1)) == S.CERTIFIED


def test_a_certification_reached_while_suspended_is_announced_as_the_first_one_on_return():
    back = date(2027, 4, 1)
    history = certified(
        decisions=(
            OperatorDecision(Decision.SUSPEND, date(2026, 12, 1)),
            OperatorDecision(Decision.REINSTATE, back),
        )
    )
    standing, occasions = Standing(), []
    for on in [TRAINED_ON, *fact_dates(history)]:
        standing, more, _ = advance(standing, history, POLICY, on)
        occasions += more

    assert standing == Standing(S.CERTIFIED, back, FIRST_YEAR_END, None)
    assert [
        (o.effective, o.new, o.reason, o.first_certification)
        for o in occasions
        if isinstance(o, StatusChanged)
    ] == [
        (TRAINED_ON, S.TRAINED, Reason.TRAINING_COMPLETED, False),
        (date(2026, 12, 1), S.SUSPENDED, Reason.OPERATOR_SUSPENDED, False),
        (back, S.CERTIFIED, Reason.OPERATOR_REINSTATED, True),
    ]


@pytest.mark.parametrize(
    "decisions",
    [
        pytest.param(
            (
                OperatorDecision(Decision.SUSPEND, FIRST_YEAR_END),
                OperatorDecision(Decision.REINSTATE, date(2027, 4, 1)),
            ),
            id="suspended on the day of certification",
        ),
        pytest.param(
            (
                OperatorDecision(Decision.SUSPEND, date(2026, 12, 1)),
                OperatorDecision(Decision.WITHDRAW, date(2027, 3, 20)),
                OperatorDecision(Decision.REINSTATE, date(2027, 4, 1)),
            ),
            id="certified while suspended, then withdrawn",
        ),
    ],
)
def test_a_certification_reached_during_a_hold_is_announced_once_on_return(decisions):
    history = certified(decisions=decisions)
    standing, occasions = Standing(), []
    for on in [TRAINED_ON, *fact_dates(history)]:
        standing, more, _ = advance(standing, history, POLICY, on)
        occasions += more

    firsts = [o for o in occasions if isinstance(o, StatusChanged) and o.first_certification]
    assert [(o.effective, o.new) for o in firsts] == [(date(2027, 4, 1), S.CERTIFIED)]


def test_a_certification_kept_through_a_suspension_is_not_announced_as_a_first_one_again():
    held, back = date(2027, 6, 1), date(2027, 8, 1)
    history = certified(
        decisions=(
            OperatorDecision(Decision.SUSPEND, held),
            OperatorDecision(Decision.REINSTATE, back),
        )
    )
    standing, occasions = Standing(), []
    for on in [TRAINED_ON, *fact_dates(history)]:
        standing, more, _ = advance(standing, history, POLICY, on)
        occasions += more

    firsts = [
        o.effective for o in occasions if isinstance(o, StatusChanged) and o.first_certification
    ]
    assert firsts == [FIRST_YEAR_END]
    assert standing.certified_on == FIRST_YEAR_END


def test_years_an_imported_certificate_vouches_for_count_as_met():
    imported = Facts(
        trained_on=date(2023, 1, 1),
        cohort_id="imported",
        reviews=(Review("review-imported", date(2025, 12, 1), True, date(2025, 12, 1)),),
        certified_on=date(2024, 1, 1),
        vouched_until=date(2026, 6, 1),
    )

    assert status_on(imported, date(2026, 1, 1)) == S.CERTIFIED  # year 2 ended vouched for
    assert status_on(imported, date(2027, 1, 1)) == S.AT_RISK  # year 3 ended unmet
    assert status_on(imported, date(2027, 1, 31)) == S.LAPSED


# -- windows, minimums and "any of" ------------------------------------------------------

START, END = date(2027, 3, 10), date(2028, 3, 10)


def credit(on: date, category: HoursCategory, hours: str | int) -> Credit:
    return Credit(on, category, Decimal(hours))


def test_a_rolling_window_covers_the_months_up_to_the_periods_end():
    recent = SumOf(name="recent", categories=frozenset({CE}), hours=Decimal(4), window_months=6)
    edge = date(2027, 9, 10)
    credits = (credit(edge - DAY, CE, 10), credit(edge, CE, 2), credit(END - DAY, CE, 2))

    found = progress(recent, credits, START, END)

    assert (found.window_start, found.window_end) == (edge, END)
    assert found.counted == 4
    assert found.met


def test_a_rolling_window_longer_than_the_year_reaches_into_the_year_before():
    long = SumOf(name="long", categories=frozenset({CE}), hours=Decimal(8), window_months=18)
    credits = (credit(date(2026, 9, 10), CE, 5), credit(date(2026, 9, 9), CE, 5))

    found = progress(long, credits, START, END)

    assert found.window_start == date(2026, 9, 10)
    assert (found.counted, found.met) == (5, False)


def test_a_rolling_window_in_a_policy_decides_the_status():
    recent = SumOf(name="recent_ce", categories=frozenset({CE}), hours=Decimal(8), window_months=3)
    rules = MAINE_2026.model_copy(update={"first_year": (recent,)})
    policy = CertificationPolicy(rules=(rules,))
    early = facts(entry(date(2026, 5, 1), CE, 8))
    late = facts(entry(date(2026, 12, 10), CE, 8))

    assert status_on(early, FIRST_YEAR_END, policy) == S.TRAINED
    assert status_on(late, FIRST_YEAR_END, policy) == S.CERTIFIED


BOTH = Minimums(name="both", minimums={CE: Decimal(8), SB: Decimal(12)})


@pytest.mark.parametrize(
    ("ce", "sb", "counted", "met"),
    [(8, 12, 20, True), (30, 12, 20, True), (30, "11.75", "19.75", False), (0, 40, 12, False)],
)
def test_minimums_need_every_category_and_surplus_does_not_carry_over(ce, sb, counted, met):
    credits = (credit(date(2027, 4, 1), CE, ce), credit(date(2027, 4, 1), SB, sb))

    found = progress(BOTH, credits, START, END)

    assert (found.counted, found.required, found.met) == (Decimal(counted), 20, met)
    assert [(p.name, p.counted, p.required) for p in found.parts] == [
        ("continuing_education", Decimal(ce), 8),
        ("skill_building", Decimal(sb), 12),
    ]


def test_minimums_with_a_window_count_only_inside_it():
    recent = Minimums(name="recent", minimums={CE: Decimal(1)}, window_months=1)
    credits = (credit(date(2028, 2, 9), CE, 5),)

    assert not progress(recent, credits, START, END).met
    assert progress(recent, (credit(date(2028, 2, 10), CE, 1),), START, END).met


TWO_OF_THREE = AnyOf(
    name="two_of_three",
    needed=2,
    of=(
        CONTINUING_EDUCATION,
        SKILL_BUILDING,
        SumOf(name="recent_co", categories=frozenset({CO}), hours=Decimal(6), window_months=6),
    ),
)


@pytest.mark.parametrize(
    ("hours", "counted"),
    [
        ({CE: 8, SB: 12}, 2),
        ({CE: 8, CO: 6}, 2),
        ({SB: 12, CO: 6, CE: "7.75"}, 2),
        ({CE: 8, SB: 12, CO: 6}, 3),
        ({CE: 8, SB: "11.99", CO: "5.99"}, 1),
        ({VOL: 100}, 0),
    ],
)
def test_any_of_needs_the_given_number_of_its_requirements(hours, counted):
    credits = tuple(credit(date(2027, 12, 1), category, h) for category, h in hours.items())

    found = progress(TWO_OF_THREE, credits, START, END)

    assert (found.counted, found.required, found.unit) == (counted, 2, "requirements")
    assert found.met == (counted >= 2)
    assert [p.name for p in found.parts] == ["continuing_education", "skill_building", "recent_co"]
    assert (found.window_start, found.window_end) == (START, END)


def test_any_of_as_a_first_year_rule():
    rules = MAINE_2026.model_copy(update={"first_year": (TWO_OF_THREE,)})
    policy = CertificationPolicy(rules=(rules,))
    history = facts(entry(date(2026, 5, 1), CE, 8), entry(date(2027, 1, 5), CO, 6))

    assert status_on(history, FIRST_YEAR_END, policy) == S.CERTIFIED
    assert status_on(history, FIRST_YEAR_END) == S.TRAINED


# -- rule versions -----------------------------------------------------------------------


def stricter(effective_from: date, **kwargs) -> Rules:
    ce16 = SumOf(name="continuing_education", categories=frozenset({CE}), hours=Decimal(16))
    return Rules(
        version="maine-2028.1",
        effective_from=effective_from,
        yearly=(ce16, SKILL_BUILDING),
        **kwargs,
    )


def test_a_later_version_applies_to_years_that_start_after_it_takes_effect():
    policy = CertificationPolicy(rules=(MAINE_2026, stricter(date(2028, 1, 1))))
    history = certified(
        *year_met(FIRST_YEAR_END),
        *year_met(YEAR_1_END),
        reviews=(review(YEAR_1_END + timedelta(days=10)),),  # no review due in year 2
    )

    year_1 = assess(history, policy, YEAR_1_END - DAY)  # began 2027-03-10 under 2026 rules
    year_2 = assess(history, policy, YEAR_2_END - timedelta(days=60))

    assert (year_1.rules.version, year_1.status) == ("maine-2026.1", S.CERTIFIED)
    assert (year_2.rules.version, year_2.status) == ("maine-2028.1", S.AT_RISK)
    assert year_2.reason == Reason.HOURS_SHORT_NEAR_YEAR_END
    assert (year_2.progress[0].counted, year_2.progress[0].required) == (8, 16)
    assert status_on(history, YEAR_2_END - timedelta(days=60)) == S.CERTIFIED


@pytest.mark.parametrize(
    ("effective_from", "version"),
    [(YEAR_1_END - DAY, "maine-2028.1"), (YEAR_1_END, "maine-2028.1"), (YEAR_1_END + DAY, None)],
)
def test_a_year_starting_on_the_effective_date_is_under_the_new_version(effective_from, version):
    policy = CertificationPolicy(rules=(MAINE_2026, stricter(effective_from)))

    found = assess(certified(), policy, YEAR_1_END + timedelta(days=40))

    assert found.rules.version == (version or "maine-2026.1")


def test_the_first_year_is_under_the_version_in_force_at_training_completion():
    first_year_v2 = Rules(
        version="maine-2027.1", effective_from=date(2026, 6, 1), first_year=(CONTINUING_EDUCATION,)
    )
    policy = CertificationPolicy(rules=(MAINE_2026, first_year_v2))
    only_ce = (entry(date(2026, 8, 1), CE, 8),)

    assert status_on(facts(*only_ce), FIRST_YEAR_END, policy) == S.TRAINED
    later = facts(*only_ce, trained_on=date(2026, 6, 1))
    assert status_on(later, date(2027, 6, 1), policy) == S.CERTIFIED


def test_records_from_before_the_first_version_fall_under_it():
    assert POLICY.rules_for(date(2020, 1, 1), COHORT, date(2021, 1, 1)) is MAINE_2026


@pytest.mark.parametrize(
    ("trained_on", "grandfathered"),
    [(date(2026, 3, 10), True), (date(2026, 5, 31), True), (date(2026, 6, 1), False)],
)
def test_a_version_may_leave_those_trained_before_a_date_on_the_earlier_rules(
    trained_on, grandfathered
):
    policy = CertificationPolicy(
        rules=(MAINE_2026, stricter(date(2028, 1, 1), grandfather_trained_before=date(2026, 6, 1)))
    )

    found = policy.rules_for(trained_on, COHORT, date(2029, 1, 1))

    assert found.version == ("maine-2026.1" if grandfathered else "maine-2028.1")


def test_a_grandfathered_specialist_keeps_the_old_hours_in_later_years():
    policy = CertificationPolicy(
        rules=(MAINE_2026, stricter(date(2028, 1, 1), grandfather_trained_before=date(2026, 6, 1)))
    )
    history = certified(*year_met(FIRST_YEAR_END), *year_met(YEAR_1_END))

    found = assess(history, policy, YEAR_1_END + timedelta(days=100))

    assert (found.rules.version, found.status) == ("maine-2026.1", S.CERTIFIED)
    assert found.progress[0].required == 8


def test_a_version_may_leave_named_cohorts_on_the_earlier_rules():
    policy = CertificationPolicy(
        rules=(MAINE_2026, stricter(date(2028, 1, 1), grandfather_cohorts=frozenset({COHORT})))
    )

    assert policy.rules_for(TRAINED_ON, COHORT, date(2029, 1, 1)).version == "maine-2026.1"
    assert policy.rules_for(TRAINED_ON, "2026-fall", date(2029, 1, 1)).version == "maine-2028.1"


def test_grandfathering_falls_back_one_version_at_a_time():
    v2 = stricter(date(2028, 1, 1))
    v3 = Rules(
        version="maine-2030.1",
        effective_from=date(2030, 1, 1),
        grandfather_cohorts=frozenset({"old", "older"}),
    )
    v2_keeps_older = v2.model_copy(update={"grandfather_cohorts": frozenset({"older"})})
    policy = CertificationPolicy(rules=(MAINE_2026, v2_keeps_older, v3))
    on = date(2031, 1, 1)

    assert policy.rules_for(TRAINED_ON, "new", on).version == "maine-2030.1"
    assert policy.rules_for(TRAINED_ON, "old", on).version == "maine-2028.1"
    assert policy.rules_for(TRAINED_ON, "older", on).version == "maine-2026.1"
    assert policy.rules_for(TRAINED_ON, "older", date(2029, 1, 1)).version == "maine-2026.1"


def test_a_draft_version_replaces_those_from_its_effective_date_on():
    v2 = stricter(date(2028, 1, 1))
    policy = CertificationPolicy(rules=(MAINE_2026, v2))
    draft = Rules(version="draft", effective_from=date(2027, 6, 1))
    on_v2s_date = draft.model_copy(update={"effective_from": v2.effective_from})
    after_v2 = draft.model_copy(update={"effective_from": date(2029, 1, 1)})

    def versions(p: CertificationPolicy) -> list[str]:
        return [r.version for r in p.rules]

    assert versions(policy.with_draft(draft)) == ["maine-2026.1", "draft"]
    assert versions(policy.with_draft(on_v2s_date)) == ["maine-2026.1", "draft"]
    assert versions(policy.with_draft(after_v2)) == ["maine-2026.1", "maine-2028.1", "draft"]
    assert versions(policy) == ["maine-2026.1", "maine-2028.1"]


def test_a_draft_changes_the_status_of_those_it_would_apply_to():
    draft = stricter(date(2028, 1, 1))
    history = certified(
        *year_met(FIRST_YEAR_END),
        *year_met(YEAR_1_END),
        reviews=(review(YEAR_1_END + timedelta(days=10)),),
    )
    on = YEAR_2_END - timedelta(days=30)

    assert status_on(history, on) == S.CERTIFIED
    assert status_on(history, on, POLICY.with_draft(draft)) == S.AT_RISK
    grandfathered = draft.model_copy(update={"grandfather_cohorts": frozenset({COHORT})})
    assert status_on(history, on, POLICY.with_draft(grandfathered)) == S.CERTIFIED


@pytest.mark.parametrize(
    "rules",
    [
        pytest.param((stricter(date(2028, 1, 1)), MAINE_2026), id="versions out of order"),
        pytest.param(
            (MAINE_2026, stricter(MAINE_2026.effective_from)), id="two versions on one date"
        ),
        pytest.param(
            (MAINE_2026, MAINE_2026.model_copy(update={"effective_from": date(2028, 1, 1)})),
            id="repeated version name",
        ),
        pytest.param((), id="no version"),
    ],
)
def test_an_invalid_list_of_versions_is_refused(rules):
    with pytest.raises(ValidationError):
        CertificationPolicy(rules=rules)


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(
            lambda: Rules(
                version="x",
                effective_from=date(2026, 1, 1),
                yearly=(CONTINUING_EDUCATION, CONTINUING_EDUCATION),
            ),
            id="repeated requirement name",
        ),
        pytest.param(
            lambda: Rules(
                version="x",
                effective_from=date(2026, 1, 1),
                first_year=(SKILL_BUILDING, SKILL_BUILDING),
            ),
            id="repeated first-year requirement name",
        ),
        pytest.param(
            lambda: AnyOf(name="any", needed=3, of=(CONTINUING_EDUCATION, SKILL_BUILDING)),
            id="any_of needing more than it has",
        ),
        pytest.param(
            lambda: AnyOf(name="any", needed=0, of=(CONTINUING_EDUCATION,)), id="any_of of none"
        ),
        pytest.param(
            lambda: SumOf(name="ce", categories=frozenset({CE}), hours=Decimal(0)), id="zero hours"
        ),
        pytest.param(
            lambda: SumOf(name="ce", categories=frozenset(), hours=Decimal(1)), id="no category"
        ),
        pytest.param(
            lambda: SumOf(name="CE!", categories=frozenset({CE}), hours=Decimal(1)), id="bad name"
        ),
        pytest.param(lambda: Minimums(name="m", minimums={CE: Decimal(-1)}), id="negative minimum"),
        pytest.param(
            lambda: Rules.model_validate(
                {
                    "version": "x",
                    "effective_from": "2026-01-01",
                    "yearly": [
                        {
                            "kind": "any_of",
                            "name": "a",
                            "needed": 2,
                            "of": [
                                {
                                    "kind": "sum",
                                    "name": "ce",
                                    "categories": ["continuing_education"],
                                    "hours": 8,
                                }
                            ],
                        }
                    ],
                }
            ),
            id="any_of needing more than it has, from a policy file",
        ),
    ],
)
def test_an_invalid_rule_is_refused(build):
    with pytest.raises(ValidationError):
        build()


# -- advance -----------------------------------------------------------------------------


def test_advance_from_nothing_announces_the_training():
    standing, occasions, found = advance(Standing(), facts(), POLICY, TRAINED_ON)

    assert occasions == [
        StatusChanged(None, S.TRAINED, Reason.TRAINING_COMPLETED, TRAINED_ON, "maine-2026.1", False)
    ]
    assert standing == Standing(S.TRAINED, TRAINED_ON, None, None)
    assert found.status == S.TRAINED


@pytest.mark.parametrize(
    "on",
    [TRAINED_ON, FIRST_YEAR_END, YEAR_1_END - timedelta(days=60), YEAR_2_END, date(2031, 1, 1)],
)
def test_advance_twice_to_the_same_date_emits_nothing_the_second_time(on):
    history = certified(entry(date(2027, 6, 1), CE, 8))
    standing, _, _ = advance(Standing(), history, POLICY, TRAINED_ON)
    standing, _, _ = advance(standing, history, POLICY, on)

    again, occasions, _ = advance(standing, history, POLICY, on)

    assert occasions == []
    assert again == standing


def test_advance_steps_through_every_boundary_on_the_day_it_falls():
    history = certified(entry(date(2027, 6, 1), CE, 8))

    assert changes(history, YEAR_1_END + timedelta(days=100)) == [
        (TRAINED_ON, None, S.TRAINED, Reason.TRAINING_COMPLETED),
        (FIRST_YEAR_END, S.TRAINED, S.CERTIFIED, Reason.FIRST_YEAR_MET),
        (YEAR_1_END - timedelta(days=60), S.CERTIFIED, S.AT_RISK, Reason.HOURS_SHORT_NEAR_YEAR_END),
        (YEAR_1_END + timedelta(days=30), S.AT_RISK, S.LAPSED, Reason.YEAR_ENDED_UNMET),
    ]


def test_advance_to_an_earlier_date_changes_nothing():
    history = certified()
    standing, _, _ = advance(Standing(), history, POLICY, TRAINED_ON)
    standing, _, _ = advance(standing, history, POLICY, YEAR_1_END)

    again, occasions, found = advance(standing, history, POLICY, FIRST_YEAR_END)

    assert (again, occasions) == (standing, [])
    assert found.on == YEAR_1_END


def test_an_imported_certificate_is_announced_as_imported():
    imported = Facts(TRAINED_ON, COHORT, certified_on=date(2026, 9, 1))

    standing, occasions, _ = advance(Standing(), imported, POLICY, date(2026, 9, 1))

    assert occasions == [
        StatusChanged(
            None, S.CERTIFIED, Reason.CERTIFICATE_IMPORTED, date(2026, 9, 1), "maine-2026.1", True
        )
    ]
    assert standing.certified_on == date(2026, 9, 1)


# -- when new hours are worth an evaluation ----------------------------------------------


def test_new_hours_matter_only_where_they_could_change_the_status():
    """Hours only ever help: the ledger wakes the scheduler for no one else."""
    in_first_year = facts()
    assert not assess(in_first_year, POLICY, FIRST_YEAR_END - DAY).hours_may_change_it()
    assert assess(in_first_year, POLICY, FIRST_YEAR_END).hours_may_change_it()  # unmet

    kept = certified(*year_met(FIRST_YEAR_END))
    assert not assess(kept, POLICY, FIRST_YEAR_END).hours_may_change_it()
    short = certified()
    at_risk = YEAR_1_END - timedelta(days=60)
    assert assess(short, POLICY, at_risk - DAY).status is S.CERTIFIED
    assert not assess(short, POLICY, at_risk - DAY).hours_may_change_it()
    assert assess(short, POLICY, at_risk).hours_may_change_it()
    assert assess(short, POLICY, YEAR_1_END + timedelta(days=30)).hours_may_change_it()  # lapsed

    held = facts(decisions=(OperatorDecision(Decision.SUSPEND, TRAINED_ON),))
    assert not assess(held, POLICY, FIRST_YEAR_END).hours_may_change_it()


def test_the_contract_names_every_reason_a_change_can_carry():
    from ips_shared.contracts.events import CertificationStatusChanged

    described = CertificationStatusChanged.model_fields["reason_code"].description or ""
    assessment_only = {Reason.FIRST_YEAR_IN_PROGRESS, Reason.FIRST_YEAR_UNMET}  # trained
    assert all(reason.value in described for reason in set(Reason) - assessment_only)


def test_a_training_completion_learned_late_starts_the_record_on_its_date():
    """A roster import or a late event: the history begins at the training, not the day
    certification heard of it, and passes every date since."""
    late = facts(
        entry(date(2026, 5, 1), CE, 8, known_on=date(2026, 6, 1)),
        entry(date(2026, 5, 1), SB, 12, known_on=date(2026, 6, 1)),
    )

    _, occasions, _ = advance(Standing(), late, POLICY, FIRST_YEAR_END + timedelta(days=30))

    assert [(o.new, o.reason, o.effective) for o in occasions] == [
        (S.TRAINED, Reason.TRAINING_COMPLETED, TRAINED_ON),
        (S.CERTIFIED, Reason.FIRST_YEAR_MET, FIRST_YEAR_END),
    ]


def test_an_import_without_a_review_vouches_for_the_reviews_due_by_then():
    """The spreadsheet says current: reviews that fell due before the import count as
    kept; the next one falls due on the next 24-month date after it."""
    imported = Facts(
        date(2018, 1, 10), COHORT, certified_on=date(2019, 1, 10), vouched_until=date(2026, 6, 15)
    )
    found = assess(imported, POLICY, date(2026, 6, 15))
    assert (found.status, found.next_review_due) == (S.CERTIFIED, date(2027, 1, 10))

    with_review = replace(imported, reviews=(review(date(2021, 3, 1), known_on=date(2026, 6, 15)),))
    assert assess(with_review, POLICY, date(2026, 6, 15)).status is S.LAPSED  # as it shows


def test_the_committed_policy_file_holds_the_built_in_certification_defaults():
    from pathlib import Path

    from ips_certification.domain.policy import read_policy

    committed = Path(__file__).parents[2] / "deploy" / "policy" / "policy.toml"
    assert read_policy(committed).certification == CertificationPolicy()


def test_a_person_at_risk_for_hours_is_told_what_is_missing_and_when_the_year_ends():
    history = certified(entry(date(2027, 6, 1), CE, 5))
    at_risk_on = YEAR_1_END - timedelta(days=60)
    standing, _, _ = advance(Standing(), history, POLICY, TRAINED_ON)
    standing, _, _ = advance(standing, history, POLICY, at_risk_on - DAY)

    _, occasions, _ = advance(standing, history, POLICY, at_risk_on)

    [change] = occasions
    assert (change.new, change.reason) == (S.AT_RISK, Reason.HOURS_SHORT_NEAR_YEAR_END)
    assert change.year_ends_on == YEAR_1_END
    assert change.shortfall == (
        Shortfall("continuing_education", Decimal(3), "hours"),
        Shortfall("skill_building", Decimal(12), "hours"),
    )


def test_other_changes_carry_no_shortfall():
    recorded = YEAR_1_END + timedelta(days=50)
    history = certified(
        entry(date(2027, 6, 1), CE, 8), entry(YEAR_1_END - DAY, SB, 12, known_on=recorded)
    )
    standing, _, _ = advance(Standing(), history, POLICY, TRAINED_ON)
    standing, _, _ = advance(standing, history, POLICY, recorded - DAY)

    _, [change], _ = advance(standing, history, POLICY, recorded)

    assert (change.shortfall, change.year_ends_on) == ((), None)
