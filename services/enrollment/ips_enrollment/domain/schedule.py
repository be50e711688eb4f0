"""A cohort's schedule: where it meets and when each of its eight training days runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from .errors import InvalidSchedule
from .training import TRAINING_DAYS


@dataclass(frozen=True)
class ScheduledDay:
    day: int
    starts_at: datetime
    ends_at: datetime


def check_schedule(place: str, days: Sequence[ScheduledDay]) -> None:
    """A place, at least one day and at most one entry for each of the training's days;
    every day numbered 1 to 8, with time-zone aware times, ending after it starts."""
    if not place.strip():
        raise InvalidSchedule("A schedule needs a place.")
    if not days:
        raise InvalidSchedule("A schedule needs at least one training day.")
    numbers = [entry.day for entry in days]
    if len(set(numbers)) != len(numbers):
        raise InvalidSchedule("Each training day may appear once in a schedule.")
    for entry in days:
        if not 1 <= entry.day <= TRAINING_DAYS:
            raise InvalidSchedule(f"Training days are numbered 1 to {TRAINING_DAYS}.")
        if entry.starts_at.utcoffset() is None or entry.ends_at.utcoffset() is None:
            raise InvalidSchedule("A training day's times need their time zone.")
        if entry.ends_at <= entry.starts_at:
            raise InvalidSchedule("A training day must end after it starts.")
