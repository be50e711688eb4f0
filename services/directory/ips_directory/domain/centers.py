"""Peer support centers, their groups and the groups' schedules. Pure: no I/O.

A schedule is a list of weekly meetings: a weekday, a start (and optional end) time, and
an optional range of months in which it holds (from `first_month` to `last_month`, both
the first day of their month, inclusive). A group that meets on Tuesdays in March and on
Thursdays from April on has two meetings; a change next month is a new range, not an
edit of the past. Times are local to the center."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from enum import StrEnum

from .errors import InvalidSchedule


class Weekday(StrEnum):
    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"


WEEK = list(Weekday)

BUILT_IN_GROUP_TYPES: dict[str, str] = {
    "art": "Art",
    "substance_use": "Substance use",
    "lgbtqia": "LGBTQIA+",
    "different_realities": "Exploring different experiences of reality",
    "peer_support": "Peer support",
    "employment": "Employment",
}
"""The program's group types (DOMAIN.md); operators may add others."""


@dataclass(frozen=True)
class GroupType:
    code: str
    label: str
    built_in: bool = False


@dataclass(frozen=True)
class Center:
    name: str
    town: str
    county: str
    opening_hours: str
    rooms: tuple[str, ...] = ()
    ages_served: str = "Adults 18 and over"
    no_referral_or_insurance_needed: bool = True

    def search_text(self) -> str:
        return " ".join((self.name, self.town, self.county))


@dataclass(frozen=True)
class Meeting:
    weekday: Weekday
    starts_at: time
    ends_at: time | None = None
    first_month: date | None = None
    last_month: date | None = None

    def checked(self) -> Meeting:
        if self.ends_at is not None and self.ends_at <= self.starts_at:
            raise InvalidSchedule("A meeting ends after it starts.")
        for month in (self.first_month, self.last_month):
            if month is not None and month.day != 1:
                raise InvalidSchedule("A month is given by its first day (YYYY-MM-01).")
        if self.first_month and self.last_month and self.last_month < self.first_month:
            raise InvalidSchedule("A meeting's last month is not before its first.")
        return self

    def held_in(self, month: date) -> bool:
        """Whether the meeting holds in the month starting on `month`."""
        return (self.first_month is None or self.first_month <= month) and (
            self.last_month is None or month <= self.last_month
        )


@dataclass(frozen=True)
class Group:
    center_id: str
    type_code: str
    name: str
    description: str = ""
    meetings: tuple[Meeting, ...] = ()

    def checked(self) -> Group:
        for meeting in self.meetings:
            meeting.checked()
        return self


def first_of_month(day: date) -> date:
    return day.replace(day=1)
