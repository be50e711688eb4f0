"""The pure rules behind enrollment's operator lists: make-up days and their deadline, the
days of a filter or report in the program's time zone, intakes and their deadlines."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from ips_enrollment.domain.applications import ApplicationStatus
from ips_enrollment.domain.errors import InvalidPeriod
from ips_enrollment.domain.intakes import IntakeCalendar
from ips_enrollment.domain.listings import Days, MakeUp, Period, intake_counts
from ips_enrollment.domain.policy import EnrollmentPolicy
from ips_enrollment.domain.training import make_up, make_up_due_by, missed_days

NEW_YORK = ZoneInfo("America/New_York")
FEB = [(day, date(2027, 2, day)) for day in range(1, 9)]


def test_a_day_is_missed_once_held_or_once_a_later_day_was_attended() -> None:
    assert missed_days([1, 2, 3], passed=[]) == (), "days still to come are not missed"
    assert missed_days([1, 2, 4], passed=[]) == (3,)
    assert missed_days([1, 2], passed=[1, 2, 3]) == (3,)
    assert missed_days([], passed=range(1, 9)) == (), "a training never begun has no make-up"
    assert missed_days(range(1, 9), passed=range(1, 9)) == ()


def test_make_up_is_due_by_the_end_of_the_window_from_the_first_day() -> None:
    history = [entry for entry in FEB if entry[0] != 7]
    assert make_up(history, passed=range(1, 9), completed=False, window_months=12) == (
        (7,),
        date(2028, 2, 1),
    )
    assert make_up(FEB, passed=range(1, 9), completed=True, window_months=12) == ((), None)
    assert make_up(history, passed=[], completed=True, window_months=12) == ((), None)


def test_the_window_holding_most_days_decides_the_deadline() -> None:
    # Days 1-2 in 2025 (long out of any window with the rest), days 1-5 again in 2027.
    early = [(1, date(2025, 1, 1)), (2, date(2025, 1, 2))]
    later = [(day, date(2027, 2, day)) for day in range(1, 6)]
    assert make_up_due_by(early + later, 12) == date(2028, 2, 1)
    assert make_up_due_by([], 12) is None
    assert make_up_due_by([(1, date(2027, 1, 31))], 1) == date(2027, 2, 28)


def test_make_up_values_say_whether_one_is_needed() -> None:
    assert MakeUp.of((7,), date(2028, 2, 1)).needed is True
    assert MakeUp.of((), None).needed is False


def test_days_are_whole_days_in_the_programs_time_zone() -> None:
    window = Days(date(2027, 1, 15), date(2027, 1, 15)).window(NEW_YORK)
    assert window.since == datetime(2027, 1, 15, 5, tzinfo=UTC)
    assert window.until == datetime(2027, 1, 16, 5, tzinfo=UTC)
    assert Days().window(NEW_YORK).since is None
    assert Days(last=date(2027, 7, 1)).window(NEW_YORK).until == datetime(2027, 7, 2, 4, tzinfo=UTC)
    assert Period(date(2027, 1, 1), date(2027, 1, 1)).window(NEW_YORK).since == datetime(
        2027, 1, 1, 5, tzinfo=UTC
    )


@pytest.mark.parametrize("make", [Days, Period])
def test_a_period_ending_before_it_starts_is_refused(make: type) -> None:
    with pytest.raises(InvalidPeriod) as refused:
        make(date(2027, 2, 1), date(2027, 1, 31))
    assert refused.value.code == "invalid_period"
    assert "2027" not in str(refused.value)


def test_an_intakes_deadline_and_the_calendars_seasons() -> None:
    calendar = IntakeCalendar.from_policy(EnrollmentPolicy())
    assert calendar.seasons == ("spring", "summer", "fall", "winter")
    spring = calendar.intake("2027-spring")
    assert spring is not None
    assert (spring.id, spring.deadline) == ("2027-spring", date(2027, 1, 15))
    assert calendar.intake("2027-autumn") is None
    assert calendar.intake("0000-spring") is None


def test_intake_counts_total_what_was_received() -> None:
    counts = intake_counts(
        "2027-spring", {ApplicationStatus.ACCEPTED: 2, ApplicationStatus.WAITLISTED: 1}
    )
    assert (counts.received, counts.accepted, counts.waitlisted, counts.declined) == (3, 2, 1, 0)
