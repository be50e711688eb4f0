"""Reminders: notifications the calendar makes due, not an event.

The first: the day before each training day, everyone accepted into that cohort is
reminded of it (when, and where). A reminder is a notification like the others, with the
occasion `<cohort>:<day>:<date>`, so it is sent once; a schedule that moves a day to
another date makes a new occasion (the person is told of the new date), and a reminder
not sent yet for a date that is no longer the schedule's is dropped. Pure: times given."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from .reasons import DueNotice, Reason


@dataclass(frozen=True)
class ScheduledDay:
    cohort_id: str
    day: int
    starts_at: datetime
    place: str


def local_date(day: ScheduledDay, zone: ZoneInfo) -> date:
    return day.starts_at.astimezone(zone).date()


def remind_on(day: ScheduledDay, zone: ZoneInfo) -> date:
    """The local date its reminder falls due: the day before."""
    return local_date(day, zone) - timedelta(days=1)


def occasion(day: ScheduledDay, zone: ZoneInfo) -> str:
    return f"{day.cohort_id}:{day.day}:{local_date(day, zone).isoformat()}"


def is_due(day: ScheduledDay, now: datetime, zone: ZoneInfo) -> bool:
    """From the day before until the day starts (a reminder after it began is pointless)."""
    return remind_on(day, zone) <= now.astimezone(zone).date() and now < day.starts_at


def reminder(person_id: str, day: ScheduledDay, zone: ZoneInfo) -> DueNotice:
    """What the message may show: the cohort, which day, its date, start time and place."""
    starts = day.starts_at.astimezone(zone)
    return DueNotice(
        person_id,
        Reason.TRAINING_REMINDER,
        occasion(day, zone),
        {
            "cohort_id": day.cohort_id,
            "day": str(day.day),
            "date": starts.date().isoformat(),
            "starts_at": starts.strftime("%H:%M"),
            "place": day.place,
        },
    )
