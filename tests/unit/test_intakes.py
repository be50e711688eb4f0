from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ips_enrollment.domain.errors import InvalidCohort, UnknownCohort
from ips_enrollment.domain.intakes import Intake, IntakeCalendar, intake_order, runs_before
from ips_enrollment.domain.policy import EnrollmentPolicy, IntakeDeadline
from ips_shared.http import status_of

NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")


@pytest.fixture
def calendar() -> IntakeCalendar:
    return IntakeCalendar.from_policy(EnrollmentPolicy())


def local(year, month, day, hour=0, minute=0, zone=NEW_YORK) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone)


def test_the_default_policy_calendar_is_new_york_with_maines_deadlines(calendar):
    assert calendar.timezone == NEW_YORK
    assert [(d.season, d.month, d.day) for d in calendar.deadlines] == [
        ("spring", 1, 15),
        ("summer", 5, 1),
        ("fall", 8, 1),
        ("winter", 11, 1),
    ]


def test_the_constructor_takes_a_zone_and_deadlines():
    built = IntakeCalendar(NEW_YORK, EnrollmentPolicy().intakes)

    assert built == IntakeCalendar.from_policy(EnrollmentPolicy())
    assert built.intake_for(local(2027, 3, 1)).id == "2027-summer"


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


def test_another_time_zone_shifts_the_boundary(calendar):
    west = IntakeCalendar.from_policy(EnrollmentPolicy(timezone="America/Los_Angeles"))
    received = datetime(2027, 1, 16, 6, 30, tzinfo=UTC)

    assert west.timezone == LOS_ANGELES
    assert calendar.intake_for(received).id == "2027-summer"
    assert west.intake_for(received).id == "2027-spring"


def test_the_last_minute_in_los_angeles_joins_that_intake():
    west = IntakeCalendar.from_policy(EnrollmentPolicy(timezone="America/Los_Angeles"))

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
    twice_a_year = IntakeCalendar.from_policy(
        EnrollmentPolicy(
            intakes=(
                IntakeDeadline(season="spring", month=3, day=31),
                IntakeDeadline(season="fall", month=9, day=30),
            )
        )
    )

    assert twice_a_year.intake_for(local(2027, 1, 15, 12)).id == "2027-spring"
    assert twice_a_year.intake_for(local(2027, 3, 31, 23, 59)).id == "2027-spring"
    assert twice_a_year.intake_for(local(2027, 4, 1)).id == "2027-fall"
    assert twice_a_year.intake_for(local(2027, 9, 30, 23, 59)).id == "2027-fall"
    assert twice_a_year.intake_for(local(2027, 10, 1)) == Intake(2028, "spring", date(2028, 3, 31))


def test_a_single_yearly_intake_rolls_over_to_next_year():
    yearly = IntakeCalendar(NEW_YORK, (IntakeDeadline(season="summer", month=6, day=30),))

    assert yearly.intake_for(local(2027, 6, 30, 23, 59)).id == "2027-summer"
    assert yearly.intake_for(local(2027, 7, 1)).id == "2028-summer"


@pytest.fixture
def leap_day_calendar() -> IntakeCalendar:
    return IntakeCalendar.from_policy(
        EnrollmentPolicy(
            intakes=(
                IntakeDeadline(season="spring", month=2, day=29),
                IntakeDeadline(season="fall", month=8, day=31),
            )
        )
    )


def test_a_leap_day_deadline_falls_back_to_february_28_in_other_years(leap_day_calendar):
    assert leap_day_calendar.intake_for(local(2027, 2, 28, 23, 59)) == Intake(
        2027, "spring", date(2027, 2, 28)
    )
    assert leap_day_calendar.intake_for(local(2027, 3, 1)).id == "2027-fall"


def test_a_leap_day_deadline_holds_on_february_29_in_leap_years(leap_day_calendar):
    assert leap_day_calendar.intake_for(local(2028, 2, 29, 23, 59)) == Intake(
        2028, "spring", date(2028, 2, 29)
    )
    assert leap_day_calendar.intake_for(local(2028, 3, 1)).id == "2028-fall"


def test_a_leap_day_deadline_rolls_into_a_non_leap_year(leap_day_calendar):
    assert leap_day_calendar.intake_for(local(2028, 9, 1)) == Intake(
        2029, "spring", date(2029, 2, 28)
    )


def test_today_is_the_date_in_the_programs_time_zone(calendar):
    assert calendar.today(datetime(2028, 6, 1, 3, 0, tzinfo=UTC)) == date(2028, 5, 31)
    assert calendar.today(datetime(2028, 6, 1, 4, 0, tzinfo=UTC)) == date(2028, 6, 1)


# -- which cohort ids exist --------------------------------------------------------------


@pytest.mark.parametrize("cohort_id", ["2027-spring", "2027-summer", "2027-fall", "1999-winter"])
def test_a_cohort_of_an_intake_of_the_calendar_is_known(calendar, cohort_id):
    calendar.check_cohort(cohort_id)


@pytest.mark.parametrize("cohort_id", ["2027-autumn", "0000-spring", "2027-summer"])
def test_a_well_formed_id_that_is_no_intake_of_the_calendar_is_unknown(cohort_id):
    twice_a_year = IntakeCalendar(
        NEW_YORK,
        (
            IntakeDeadline(season="spring", month=3, day=31),
            IntakeDeadline(season="fall", month=9, day=30),
        ),
    )
    twice_a_year.check_cohort("2027-fall")

    with pytest.raises(UnknownCohort) as refused:
        twice_a_year.check_cohort(cohort_id)

    assert (refused.value.code, status_of(refused.value)) == ("unknown_cohort", 404)
    assert cohort_id not in str(refused.value)


@pytest.mark.parametrize(
    "cohort_id", ["garbage", "", "2027-Spring", "27-spring", "2027spring", "2027-spring ", "x" * 65]
)
def test_a_malformed_cohort_id_is_invalid(calendar, cohort_id):
    with pytest.raises(InvalidCohort) as refused:
        calendar.check_cohort(cohort_id)

    assert (refused.value.code, status_of(refused.value)) == ("invalid_cohort", 422)


# -- the order intakes run in ------------------------------------------------------------


def test_intakes_run_by_year_then_season():
    shuffled = ["2028-spring", "2027-winter", "2027-spring", "2027-fall", "2027-summer"]

    assert sorted(shuffled, key=intake_order) == [
        "2027-spring",
        "2027-summer",
        "2027-fall",
        "2027-winter",
        "2028-spring",
    ]


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        ("2027-spring", "2027-summer"),
        ("2027-fall", "2027-winter"),
        ("2027-winter", "2028-spring"),
        ("2026-winter", "2027-spring"),
    ],
)
def test_an_earlier_intake_runs_before_a_later_one(earlier, later):
    assert runs_before(earlier, later)
    assert not runs_before(later, earlier)


def test_an_intake_does_not_run_before_itself():
    assert not runs_before("2027-fall", "2027-fall")


@pytest.mark.parametrize("malformed", ["garbage", "2027-", "-spring"])
def test_the_order_of_a_malformed_id_is_refused_as_invalid(malformed):
    with pytest.raises(InvalidCohort):
        runs_before("2027-fall", malformed)


def test_the_order_of_a_season_no_calendar_has_is_refused_as_unknown():
    with pytest.raises(UnknownCohort):
        runs_before("2027-fall", "2027-autumn")
