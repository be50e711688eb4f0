import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ips_enrollment.domain.applications import (
    ApplicationStatus,
    Queued,
    accept,
    close,
    first_in_line,
    waitlist_position,
)
from ips_enrollment.domain.errors import (
    CohortFull,
    EnrollmentError,
    FutureDate,
    InvalidDay,
    InvalidTransition,
    NotInCohort,
)
from ips_enrollment.domain.training import (
    TRAINING_DAYS,
    add_months,
    check_day,
    check_may_attend,
    check_not_in_future,
    completed_on,
)
from ips_shared import errors
from ips_shared.http import status_of

S = ApplicationStatus
ALL_DAYS = range(1, TRAINING_DAYS + 1)


def cohort(start: date, days=ALL_DAYS, step=timedelta(days=7)) -> list[tuple[int, date]]:
    return [(day, start + (day - 1) * step) for day in days]


def queued(application_id: str, minute: int) -> Queued:
    return Queued(application_id, datetime(2027, 1, 10, 9, minute, tzinfo=UTC))


# -- accept ------------------------------------------------------------------------------


@pytest.mark.parametrize("seats_taken", [0, 10, 19])
def test_a_submitted_application_with_a_free_seat_is_accepted(seats_taken):
    assert accept(S.SUBMITTED, seats_taken, 20) == S.ACCEPTED


@pytest.mark.parametrize("seats_taken", [20, 21])
def test_a_submitted_application_to_a_full_cohort_is_waitlisted(seats_taken):
    assert accept(S.SUBMITTED, seats_taken, 20) == S.WAITLISTED


def test_a_waitlisted_application_with_a_free_seat_is_accepted():
    assert accept(S.WAITLISTED, 19, 20) == S.ACCEPTED


@pytest.mark.parametrize("seats_taken", [20, 25])
def test_a_waitlisted_application_to_a_full_cohort_is_refused(seats_taken):
    with pytest.raises(CohortFull) as refused:
        accept(S.WAITLISTED, seats_taken, 20)

    assert refused.value.code == "cohort_full"
    assert status_of(refused.value) == 409
    assert isinstance(refused.value, EnrollmentError)


@pytest.mark.parametrize("status", [S.ACCEPTED, S.DECLINED, S.WITHDRAWN])
@pytest.mark.parametrize("seats_taken", [0, 20])
def test_an_application_already_decided_cannot_be_accepted(status, seats_taken):
    with pytest.raises(InvalidTransition) as refused:
        accept(status, seats_taken, 20)

    assert refused.value.code == "invalid_transition"
    assert status_of(refused.value) == 409


# -- close -------------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", [S.DECLINED, S.WITHDRAWN])
def test_closing_an_accepted_application_frees_a_seat(outcome):
    assert close(S.ACCEPTED, outcome) is True


@pytest.mark.parametrize("outcome", [S.DECLINED, S.WITHDRAWN])
@pytest.mark.parametrize("status", [S.SUBMITTED, S.WAITLISTED])
def test_closing_an_application_without_a_seat_frees_none(status, outcome):
    assert close(status, outcome) is False


@pytest.mark.parametrize("outcome", [S.DECLINED, S.WITHDRAWN])
@pytest.mark.parametrize("status", [S.DECLINED, S.WITHDRAWN])
def test_a_closed_application_cannot_be_closed_again(status, outcome):
    with pytest.raises(InvalidTransition) as refused:
        close(status, outcome)

    assert refused.value.code == "invalid_transition"
    assert status_of(refused.value) == 409


# -- waitlist ----------------------------------------------------------------------------


def test_first_in_line_is_the_earliest_submission():
    waitlist = [queued("c", 30), queued("a", 45), queued("b", 5)]

    assert first_in_line(waitlist) == queued("b", 5)


def test_first_in_line_of_an_empty_waitlist_is_none():
    assert first_in_line([]) is None


def test_a_tie_in_submission_time_is_broken_by_id_whatever_the_order():
    waitlist = [queued("app-b", 1), queued("app-a", 1), queued("app-c", 1), queued("app-z", 2)]

    firsts = {first_in_line(list(order)) for order in itertools.permutations(waitlist)}

    assert firsts == {queued("app-a", 1)}


def test_waitlist_positions_are_one_based_in_submission_order():
    waitlist = [queued("late", 50), queued("early", 1), queued("middle", 20)]

    assert [waitlist_position(waitlist, i) for i in ("early", "middle", "late")] == [1, 2, 3]


def test_waitlist_positions_agree_with_first_in_line_on_ties():
    waitlist = [queued("y", 1), queued("x", 1), queued("w", 0)]

    assert waitlist_position(waitlist, "w") == 1
    assert waitlist_position(waitlist, "x") == 2
    assert waitlist_position(waitlist, "y") == 3
    assert first_in_line(waitlist) == queued("w", 0)


def test_submission_order_compares_instants_not_wall_clocks():
    west = Queued("west", datetime(2027, 1, 10, 7, 0, tzinfo=ZoneInfo("America/Los_Angeles")))
    east = Queued("east", datetime(2027, 1, 10, 9, 0, tzinfo=ZoneInfo("America/New_York")))

    assert first_in_line([west, east]) == east
    assert waitlist_position([west, east], "west") == 2


# -- training days -----------------------------------------------------------------------


@pytest.mark.parametrize("day", ALL_DAYS)
def test_training_days_one_to_eight_are_valid(day):
    check_day(day)


@pytest.mark.parametrize("day", [0, 9, -1])
def test_other_training_days_are_refused(day):
    with pytest.raises(InvalidDay) as refused:
        check_day(day)

    assert refused.value.code == "invalid_day"
    assert isinstance(refused.value, errors.Invalid)
    assert status_of(refused.value) == 422


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2027, 3, 31), 1, date(2027, 4, 30)),
        (date(2027, 12, 15), 1, date(2028, 1, 15)),
        (date(2027, 12, 31), 1, date(2028, 1, 31)),
        (date(2027, 5, 20), 12, date(2028, 5, 20)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2027, 11, 30), 3, date(2028, 2, 29)),
        (date(2027, 6, 10), 0, date(2027, 6, 10)),
        (date(2027, 1, 15), 25, date(2029, 2, 15)),
    ],
)
def test_add_months(start, months, expected):
    assert add_months(start, months) == expected


# -- completion --------------------------------------------------------------------------


def test_training_is_not_complete_until_all_eight_days_are_attended():
    attended = cohort(date(2027, 2, 1))

    for count in range(TRAINING_DAYS):
        assert completed_on(attended[:count], 12) is None
    assert completed_on([], 12) is None


def test_training_completes_on_the_last_day_of_one_cohort():
    attended = cohort(date(2027, 2, 1))

    assert completed_on(attended, 12) == date(2027, 3, 22)


def test_completion_ignores_the_order_attendances_are_given_in():
    attended = cohort(date(2027, 2, 1))

    assert completed_on(reversed(attended), 12) == date(2027, 3, 22)


def test_a_missed_day_made_up_eleven_months_later_completes_the_training():
    attended = [*cohort(date(2027, 2, 1), days=range(1, 8)), (8, date(2028, 1, 20))]

    assert completed_on(attended, 12) == date(2028, 1, 20)


def test_a_missed_first_day_made_up_on_the_last_day_of_the_window_counts():
    started = cohort(date(2027, 2, 1), days=range(2, 9))

    assert started[0] == (2, date(2027, 2, 8))
    assert completed_on([*started, (1, date(2028, 2, 8))], 12) == date(2028, 2, 8)
    assert completed_on([*started, (1, date(2028, 2, 9))], 12) is None


def test_a_missed_day_made_up_thirteen_months_later_does_not_count():
    attended = [*cohort(date(2027, 2, 1), days=range(1, 8)), (8, date(2028, 3, 25))]

    assert completed_on(attended, 12) is None


def test_attending_the_same_day_twice_changes_nothing():
    attended = cohort(date(2027, 2, 1))
    repeated = [*attended, (3, date(2027, 2, 15)), (5, date(2027, 4, 1)), (8, date(2027, 3, 22))]

    assert completed_on(repeated, 12) == completed_on(attended, 12) == date(2027, 3, 22)


def test_a_repeated_day_later_does_not_move_an_earlier_completion():
    attended = [*cohort(date(2027, 2, 1)), (1, date(2027, 9, 1))]

    assert completed_on(attended, 12) == date(2027, 3, 22)


def test_a_zero_month_window_needs_every_day_on_one_date():
    same_day = [(day, date(2027, 6, 1)) for day in ALL_DAYS]
    two_dates = [*same_day[:-1], (8, date(2027, 6, 2))]

    assert completed_on(same_day, 0) == date(2027, 6, 1)
    assert completed_on(two_dates, 0) is None


def test_a_fresh_attempt_after_an_old_incomplete_one_completes_on_its_own_last_day():
    old = cohort(date(2027, 2, 1), days=range(1, 6))
    fresh = cohort(date(2030, 9, 1))

    assert completed_on([*old, *fresh], 12) == date(2030, 10, 20)


def test_a_fresh_attempt_can_reuse_days_from_a_recent_incomplete_one():
    old = cohort(date(2027, 2, 1), days=range(1, 6))
    fresh = cohort(date(2027, 9, 6), days=range(6, 9))

    assert completed_on([*old, *fresh], 12) == date(2027, 10, 25)


# -- attendance dates --------------------------------------------------------------------


@pytest.mark.parametrize("on", [date(2028, 5, 31), date(2028, 5, 30), date(2020, 1, 1)])
def test_a_day_attended_today_or_earlier_may_be_recorded(on):
    check_not_in_future(on, today=date(2028, 5, 31))


@pytest.mark.parametrize("on", [date(2028, 6, 1), date(2099, 2, 1)])
def test_a_day_still_to_come_may_not_be_recorded(on):
    with pytest.raises(FutureDate) as refused:
        check_not_in_future(on, today=date(2028, 5, 31))

    assert (refused.value.code, status_of(refused.value)) == ("future_date", 422)
    assert on.isoformat() not in str(refused.value)


# -- make-up attendance ------------------------------------------------------------------


def may_attend(**overrides):
    arguments = {
        "in_cohort": False,
        "accepted_earlier": True,
        "attended": [date(2027, 2, 1)],
        "on": date(2027, 9, 1),
        "window_months": 12,
    } | overrides
    check_may_attend(**arguments)


@pytest.mark.parametrize(
    "overrides",
    [
        {"accepted_earlier": False, "attended": [], "on": date(2040, 1, 1)},
        {"accepted_earlier": True, "attended": [date(2020, 1, 1)]},
    ],
)
def test_a_member_of_the_cohort_may_attend(overrides):
    may_attend(in_cohort=True, **overrides)


@pytest.mark.parametrize("on", [date(2027, 2, 1), date(2027, 9, 1), date(2028, 2, 1)])
def test_an_earlier_trainee_may_make_up_a_day_within_the_window(on):
    may_attend(on=on)


def test_the_window_runs_from_the_latest_attempt_not_an_old_one():
    may_attend(attended=[date(2020, 1, 1), date(2027, 2, 1)], on=date(2027, 9, 1))


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"on": date(2028, 2, 2)}, id="outside-window"),
        pytest.param({"on": date(2029, 1, 1)}, id="long-after"),
        pytest.param({"attended": []}, id="never-attended"),
        pytest.param(
            {"attended": [date(2020, 1, 1)], "on": date(2027, 2, 1)}, id="old-attempt-only"
        ),
        pytest.param({"accepted_earlier": False}, id="not-accepted-earlier"),
        pytest.param({"window_months": 0, "on": date(2027, 2, 2)}, id="zero-window"),
    ],
)
def test_others_may_not_attend(overrides):
    with pytest.raises(NotInCohort) as refused:
        may_attend(**overrides)

    assert refused.value.code == "not_in_cohort"
    assert status_of(refused.value) == 409


# -- properties --------------------------------------------------------------------------


dates = st.dates(min_value=date(2026, 1, 1), max_value=date(2030, 12, 31))
attendance = st.tuples(st.integers(1, TRAINING_DAYS), dates)
attendances = st.lists(attendance, max_size=30)
windows = st.integers(0, 24)


def complete_attempt():
    return st.builds(
        lambda start, gaps: [(day, start + timedelta(days=sum(gaps[:day]))) for day in ALL_DAYS],
        dates,
        st.lists(st.integers(0, 40), min_size=TRAINING_DAYS, max_size=TRAINING_DAYS),
    )


def oracle(attended: list[tuple[int, date]], window: int) -> date | None:
    days_on = sorted({on for _, on in attended})
    for end in days_on:
        for start in days_on:
            if start <= end <= add_months(start, window) and all(
                any(d == day and start <= on <= end for d, on in attended) for day in ALL_DAYS
            ):
                return end
    return None


@settings(max_examples=200, deadline=None)
@given(st.one_of(attendances, st.builds(list.__add__, complete_attempt(), attendances)), windows)
def test_completion_is_none_or_the_earliest_attended_date_closing_a_window(attended, window):
    result = completed_on(attended, window)

    assert result is None or result in {on for _, on in attended}
    assert result == oracle(attended, window)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(attendances, st.builds(list.__add__, complete_attempt(), attendances)),
    attendances,
    windows,
)
def test_more_attendance_never_undoes_or_delays_completion(attended, more, window):
    before = completed_on(attended, window)
    after = completed_on([*attended, *more], window)

    if before is not None:
        assert after is not None
        assert after <= before


@settings(max_examples=100, deadline=None)
@given(complete_attempt(), st.permutations(range(TRAINING_DAYS)))
def test_completion_does_not_depend_on_order(attended, order):
    assert completed_on([attended[i] for i in order], 12) == completed_on(attended, 12)
