"""Properties of the certification status over random histories of one person: the
incremental path (`advance`, as the service runs it) agrees with assessing from scratch,
and it misses no day on which the status changes."""

import itertools
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

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
from ips_certification.domain.requirements import add_months
from ips_certification.domain.status import (
    Assessment,
    Decision,
    Entry,
    Facts,
    Occasion,
    OperatorDecision,
    Review,
    ReviewNoticed,
    Standing,
    StatusChanged,
    advance,
    assess,
)
from ips_shared.contracts.events import CertificationStatus, HoursCategory

POLICY = CertificationPolicy()

# A policy with more moving parts: a second version with other windows, requirement kinds,
# a six-month review interval, no lead time and no grace, that leaves one cohort behind.
_CE, _SB, _CO = (
    HoursCategory.CONTINUING_EDUCATION,
    HoursCategory.SKILL_BUILDING,
    HoursCategory.CO_REFLECTION,
)
VARIANT = CertificationPolicy(
    rules=(
        MAINE_2026,
        Rules(
            version="variant-2028.1",
            effective_from=date(2028, 7, 1),
            first_year_months=9,
            first_year=(Minimums(name="both", minimums={_CE: Decimal(4), _SB: Decimal(6)}),),
            yearly=(
                AnyOf(
                    name="two_of_three",
                    needed=2,
                    of=(
                        CONTINUING_EDUCATION,
                        SKILL_BUILDING,
                        SumOf(
                            name="recent",
                            categories=frozenset({_SB, _CO}),
                            hours=Decimal(6),
                            window_months=18,
                        ),
                    ),
                ),
            ),
            review_interval_months=6,
            review_notice_days=20,
            at_risk_lead_days=0,
            grace_days=0,
            grandfather_cohorts=frozenset({"grandfathered"}),
        ),
    )
)

DAY = timedelta(days=1)


@st.composite
def days_after(draw, start: date, most: int) -> date:
    return start + timedelta(days=draw(st.integers(0, most)))


# Weighted toward the categories and sizes that meet requirements, so that histories often
# reach certification and then lapse, recover, fall due for review...
CATEGORIES = st.sampled_from([_CE, _CE, _CE, _SB, _SB, _SB, _CO, HoursCategory.VOLUNTEER_SERVICE])
QUARTERS = st.one_of(st.integers(1, 48), st.integers(32, 48))


@st.composite
def histories(draw, years: int = 6) -> tuple[Facts, CertificationPolicy, date]:
    """One person's facts, a policy and the date to look at (up to `years` after training)."""
    trained_on = draw(st.dates(date(2026, 1, 1), date(2028, 12, 31)))
    five_years = (add_months(trained_on, 60) - trained_on).days

    # Some people keep up year after year, nearly (CE 7 to 12 h, skill-building 10 to 12 h,
    # sometimes recorded late); on top of that, entries of any kind, up to 25 in all.
    entries: list[Entry] = []

    def add(activity: date, category: HoursCategory, quarters: int) -> None:
        known = draw(days_after(activity, 400))
        voided = draw(st.one_of(st.none(), st.none(), st.none(), days_after(known + DAY, 400)))
        entries.append(
            Entry(f"hours-{len(entries)}", activity, category, Decimal(quarters) / 4, known, voided)
        )

    kept_up = draw(st.integers(0, 6)) if draw(st.booleans()) else 0
    for year in range(kept_up):
        start = add_months(trained_on, 12 * year)
        if draw(st.integers(0, 4)):  # now and then a year is skipped
            add(draw(days_after(start, 364)), _CE, draw(st.integers(28, 48)))
            add(draw(days_after(start, 364)), _SB, draw(st.integers(40, 48)))
    for _ in range(draw(st.integers(0, 25 - len(entries)))):
        add(draw(days_after(trained_on, five_years)), draw(CATEGORIES), draw(QUARTERS))

    reviews = []
    for i in range(draw(st.integers(0, 4))):
        reviewed = draw(days_after(trained_on, five_years))
        reviews.append(
            Review(f"review-{i}", reviewed, draw(st.booleans()), draw(days_after(reviewed, 400)))
        )

    some_days = st.lists(days_after(trained_on, 6 * 366), min_size=1, max_size=3)
    decision_days = sorted(draw(st.one_of(st.just([]), st.just([]), some_days)))
    decisions = tuple(
        OperatorDecision(draw(st.sampled_from(list(Decision))), on) for on in decision_days
    )

    facts = Facts(
        trained_on,
        draw(st.sampled_from(["2026-spring", "grandfathered"])),
        tuple(entries),
        tuple(reviews),
        decisions,
    )
    most = (add_months(trained_on, 12 * years) - trained_on).days
    end = trained_on + timedelta(
        days=draw(st.one_of(st.integers(0, most), st.integers(0, most).map(lambda d: most - d)))
    )
    return facts, draw(st.sampled_from([POLICY, POLICY, VARIANT])), end


def fact_dates(facts: Facts) -> list[date]:
    return sorted(
        {e.known_on for e in facts.entries}
        | {e.voided_on for e in facts.entries if e.voided_on is not None}
        | {r.known_on for r in facts.reviews}
        | {d.on for d in facts.decisions}
    )


def drive(
    facts: Facts, policy: CertificationPolicy, end: date
) -> tuple[Standing, list[Occasion], Assessment]:
    """As the service does: from nothing at training, on every fact's day, then at `end`."""
    standing, occasions = Standing(), []
    for on in [facts.trained_on, *(d for d in fact_dates(facts) if d <= end), end]:
        standing, more, found = advance(standing, facts, policy, on)
        occasions += more
    return standing, occasions, found


@settings(max_examples=100, deadline=None)
@given(histories())
def test_advancing_step_by_step_ends_where_assessing_from_scratch_does(history):
    facts, policy, end = history

    standing, _, found = drive(facts, policy, end)
    scratch = assess(facts, policy, end)

    assert standing.status == scratch.status
    assert standing.certified_on == kept_certified_on(facts, scratch, end)
    assert standing.evaluated_on == end
    assert found == scratch


HOLDS = (Decision.SUSPEND, Decision.WITHDRAW)
HELD = (CertificationStatus.SUSPENDED, CertificationStatus.WITHDRAWN)


def kept_certified_on(facts: Facts, scratch: Assessment, end: date) -> date | None:
    """The certification date the standing keeps: while an operator holds someone, a
    certification reached during the hold is kept back for the return (where it is
    announced as the first one)."""
    by_day = {d.on: d.decision for d in facts.decisions if d.on <= end}  # the day's last
    hold_start = None  # the first day of the trailing run of holds
    for on in sorted(by_day):
        hold_start = (hold_start or on) if by_day[on] in HOLDS else None
    if hold_start is None or scratch.certified_on is None:
        return scratch.certified_on
    return scratch.certified_on if scratch.certified_on < hold_start else None


@settings(max_examples=30, deadline=None)
@given(histories(years=3))
def test_every_change_of_status_is_announced_on_the_day_it_happens(history):
    facts, policy, end = history

    _, occasions, _ = drive(facts, policy, end)
    announced = [(o.effective, o.new) for o in occasions if isinstance(o, StatusChanged)]

    daily: list[tuple[date, CertificationStatus]] = []
    for offset in range((end - facts.trained_on).days + 1):
        on = facts.trained_on + timedelta(days=offset)
        status = assess(facts, policy, on).status
        if not daily or daily[-1][1] != status:
            daily.append((on, status))
    assert announced == daily


@settings(max_examples=60, deadline=None)
@given(histories())
def test_each_announced_change_changes_the_status_and_none_goes_back_in_time(history):
    facts, policy, end = history

    _, occasions, _ = drive(facts, policy, end)
    changes = [o for o in occasions if isinstance(o, StatusChanged)]

    assert changes[0].old is None
    assert changes[0].effective == facts.trained_on
    for before, after in itertools.pairwise(changes):
        assert after.old == before.new
        assert after.old != after.new
        assert before.effective <= after.effective
    assert all(o.effective <= end for o in occasions)


SUSPENDED_ON_THE_DAY_OF_CERTIFICATION = (
    Facts(
        date(2026, 1, 1),
        "2026-spring",
        (
            Entry("hours-0", date(2026, 2, 1), _CE, Decimal(8), date(2026, 2, 1)),
            Entry("hours-1", date(2026, 2, 1), _SB, Decimal(12), date(2026, 2, 1)),
        ),
        decisions=(
            OperatorDecision(Decision.SUSPEND, date(2027, 1, 1)),
            OperatorDecision(Decision.REINSTATE, date(2027, 2, 1)),
        ),
    ),
    POLICY,
    date(2027, 3, 1),
)


@settings(max_examples=60, deadline=None)
@given(histories())
@example(SUSPENDED_ON_THE_DAY_OF_CERTIFICATION)
def test_a_certification_is_announced_as_the_first_one_once_and_only_once_kept(history):
    facts, policy, end = history

    standing, occasions, _ = drive(facts, policy, end)
    firsts = [o for o in occasions if isinstance(o, StatusChanged) and o.first_certification]

    assert len(firsts) == (standing.certified_on is not None)
    for first in firsts:
        assert first.new not in (CertificationStatus.TRAINED, *HELD)
        assert first.effective >= standing.certified_on


@settings(max_examples=60, deadline=None)
@given(histories())
def test_a_review_notice_goes_out_once_per_due_date(history):
    facts, policy, end = history

    _, occasions, _ = drive(facts, policy, end)
    dues = [o.due for o in occasions if isinstance(o, ReviewNoticed)]

    assert len(dues) == len(set(dues))
    if len(policy.rules) == 1:  # a version with a shorter interval may bring one forward
        assert dues == sorted(dues)


@settings(max_examples=40, deadline=None)
@given(histories(), st.lists(st.integers(0, 6 * 366), max_size=6))
def test_advancing_again_on_any_day_already_covered_announces_nothing(history, offsets):
    facts, policy, end = history
    standing, _, _ = drive(facts, policy, end)

    for offset in offsets:
        again, occasions, _ = advance(standing, facts, policy, facts.trained_on + offset * DAY)
        if facts.trained_on + offset * DAY <= end:
            assert occasions == []
            assert again.status == standing.status
