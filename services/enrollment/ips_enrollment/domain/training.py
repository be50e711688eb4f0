"""The eight training days, make-up days and completion.

Training is complete when every day 1 to 8 has been attended within one make-up window
(policy default 12 months): a day missed in one cohort may be attended in a later one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from dateutil.relativedelta import relativedelta

from .errors import FutureDate, InvalidDay, NotInCohort

TRAINING_DAYS = 8


def check_day(day: int) -> None:
    if not 1 <= day <= TRAINING_DAYS:
        raise InvalidDay(f"Training day must be between 1 and {TRAINING_DAYS}, not {day}.")


def check_not_in_future(on: date, today: date) -> None:
    """Attendance is recorded for a day that has come (`today` in the program's time zone)."""
    if on > today:
        raise FutureDate("Attendance cannot be recorded for a day still to come.")


def add_months(start: date, months: int) -> date:
    """Jan 31 + 1 month is the last day of February."""
    return start + relativedelta(months=months)


def completed_on(attended: Iterable[tuple[int, date]], window_months: int) -> date | None:
    """The earliest date by which all days were attended within one window, if any."""
    by_day: dict[int, list[date]] = {}
    for day, on in attended:
        by_day.setdefault(day, []).append(on)
    if set(by_day) != set(range(1, TRAINING_DAYS + 1)):
        return None
    best: date | None = None
    for start in sorted({on for dates in by_day.values() for on in dates}):
        end = add_months(start, window_months)
        firsts = [
            min((on for on in dates if start <= on <= end), default=None)
            for dates in by_day.values()
        ]
        if all(first is not None for first in firsts):
            finish = max(firsts)  # type: ignore[type-var]
            best = finish if best is None or finish < best else best
    return best


def check_may_attend(
    *,
    in_cohort: bool,
    accepted_earlier: bool,
    attended: Iterable[date],
    on: date,
    window_months: int,
) -> None:
    """A trainee attends their own cohort; a make-up day is allowed in a later cohort
    while a training begun earlier (any attended day) is still within its window."""
    if in_cohort:
        return
    if accepted_earlier and any(
        start <= on <= add_months(start, window_months) for start in attended
    ):
        return
    raise NotInCohort("This person is not in the cohort and has no make-up day open in it.")


def missed_days(attended_days: Iterable[int], passed: Iterable[int]) -> tuple[int, ...]:
    """The days a trainee missed: not attended (in any cohort) although the cohort's
    schedule held them already (`passed`: days that ended before today), or although a
    later day was attended. Days still to come are not missed."""
    attended = set(attended_days)
    if not attended:
        return ()
    gone = set(passed)
    return tuple(
        day
        for day in range(1, TRAINING_DAYS + 1)
        if day not in attended and (day in gone or day < max(attended))
    )


def make_up_due_by(attended: Iterable[tuple[int, date]], window_months: int) -> date | None:
    """The last day on which the missing days may be made up: the end of the window (from
    an attended day on) that holds the most days attended, the latest such window if
    several hold as many. None before any day is attended."""
    history = list(attended)
    best: tuple[int, date] | None = None
    for start in sorted({on for _, on in history}):
        end = add_months(start, window_months)
        held = len({day for day, on in history if start <= on <= end})
        if best is None or held >= best[0]:
            best = (held, end)
    return None if best is None else best[1]


def make_up(
    attended: Iterable[tuple[int, date]],
    *,
    passed: Iterable[int],
    completed: bool,
    window_months: int,
) -> tuple[tuple[int, ...], date | None]:
    """(missed days, due by) of a trainee: nothing once the training is completed or while
    no day is missed; else the days missed and the last day to make them up on."""
    history = list(attended)
    missed = () if completed else missed_days((day for day, _ in history), passed)
    if not missed:
        return (), None
    return missed, make_up_due_by(history, window_months)
