from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ips_enrollment.domain.intakes import Intake, IntakeCalendar

NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")


@pytest.fixture
def calendar() -> IntakeCalendar:
    return IntakeCalendar(NEW_YORK)


def local(year, month, day, hour=0, minute=0, zone=NEW_YORK) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone)


@pytest.mark.parametrize(
    ("deadline", "this_intake", "next_intake"),
    [
        (date(2027, 1, 15), "2027-spring", "2027-summer"),
        (date(2027, 5, 1), "2027-summer", "2027-fall"),
        (date(2027, 8, 1), "2027-fall", "2027-winter"),
        (date(2027, 11, 1), "2027-winter", "2028-spring"),
    ],
)
def test_the_last_minute_of_a_deadline_day_joins_that_intake_and_midnight_the_next(
    calendar, deadline, this_intake, next_intake
):
    last_minute = local(deadline.year, deadline.month, deadline.day, 23, 59)
    midnight = local(deadline.year, deadline.month, deadline.day) + timedelta(days=1)

    assert calendar.intake_for(last_minute).id == this_intake
    assert calendar.intake_for(midnight).id == next_intake


def test_the_intake_carries_its_deadline(calendar):
    assert calendar.intake_for(local(2027, 1, 2, 12)) == Intake(2027, "spring", date(2027, 1, 15))


def test_the_start_of_the_deadline_day_joins_that_intake(calendar):
    assert calendar.intake_for(local(2027, 8, 1, 0, 0)).id == "2027-fall"


def test_new_years_eve_joins_next_years_spring(calendar):
    intake = calendar.intake_for(local(2027, 12, 31, 23, 59))

    assert intake.id == "2028-spring"
    assert intake.deadline == date(2028, 1, 15)


def test_the_day_after_the_winter_deadline_joins_next_years_spring(calendar):
    assert calendar.intake_for(local(2027, 11, 2, 9)).id == "2028-spring"


def test_new_years_day_joins_that_years_spring(calendar):
    assert calendar.intake_for(local(2028, 1, 1, 0, 0)).id == "2028-spring"


def test_leap_day_joins_that_years_summer(calendar):
    assert calendar.intake_for(local(2028, 2, 29, 12)).id == "2028-summer"


def test_a_utc_instant_still_on_the_deadline_day_in_new_york_joins_that_intake(calendar):
    received = datetime(2027, 1, 16, 3, 0, tzinfo=UTC)

    assert calendar.intake_for(received).id == "2027-spring"


def test_a_utc_instant_past_midnight_in_new_york_joins_the_next_intake(calendar):
    received = datetime(2027, 1, 16, 5, 0, tzinfo=UTC)

    assert calendar.intake_for(received).id == "2027-summer"


def test_the_boundary_follows_daylight_saving_time(calendar):
    assert calendar.intake_for(local(2027, 5, 1, 23, 30)).id == "2027-summer"
    assert calendar.intake_for(datetime(2027, 5, 2, 3, 30, tzinfo=UTC)).id == "2027-summer"
    assert calendar.intake_for(datetime(2027, 5, 2, 4, 0, tzinfo=UTC)).id == "2027-fall"


def test_a_deadline_on_the_day_daylight_saving_ends_closes_at_standard_time_midnight(calendar):
    assert calendar.intake_for(datetime(2026, 11, 2, 4, 30, tzinfo=UTC)).id == "2026-winter"
    assert calendar.intake_for(datetime(2026, 11, 2, 5, 0, tzinfo=UTC)).id == "2027-spring"


def test_a_naive_datetime_is_rejected(calendar):
    with pytest.raises(ValueError, match="aware"):
        calendar.intake_for(datetime(2027, 1, 15, 12, 0))


def test_another_time_zone_shifts_the_boundary():
    received = datetime(2027, 1, 16, 6, 30, tzinfo=UTC)

    assert IntakeCalendar(NEW_YORK).intake_for(received).id == "2027-summer"
    assert IntakeCalendar(LOS_ANGELES).intake_for(received).id == "2027-spring"


def test_the_last_minute_in_los_angeles_joins_that_intake():
    west = IntakeCalendar(LOS_ANGELES)

    assert west.intake_for(local(2027, 1, 15, 23, 59, zone=LOS_ANGELES)).id == "2027-spring"
    assert west.intake_for(local(2027, 1, 16, 0, 0, zone=LOS_ANGELES)).id == "2027-summer"


def test_every_day_of_a_year_joins_the_first_intake_whose_deadline_has_not_passed(calendar):
    day = date(2027, 1, 1)
    while day.year == 2027:
        intake = calendar.intake_for(local(day.year, day.month, day.day, 12))

        assert intake.deadline >= day
        assert intake.deadline - day < timedelta(days=120)
        day += timedelta(days=1)


def test_custom_deadlines_are_honoured():
    yearly = IntakeCalendar(NEW_YORK, deadlines=(("annual", 6, 30),))

    assert yearly.intake_for(local(2027, 6, 30, 23, 59)).id == "2027-annual"
    assert yearly.intake_for(local(2027, 7, 1)).id == "2028-annual"
