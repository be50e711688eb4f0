"""Application-deadline reminders: people who completed Peer Support 101 and have not
applied are told, a set number of days before each intake's application deadline (30 and
7 by default), that the deadline is coming.

On any day, at most one reminder is current: the latest whose date has come, for the next
deadline (the deadline day itself included: applications are taken to its end). A pass
after a missed day catches up on that one only, never on an earlier, staler one. Its
occasion, `<intake>:<days>d`, makes it once per person. It goes to those whose completion
is dated before the reminder's date (someone who completed later has just been told how
to apply, and gets the next one). Pure: the day is given."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from .policy import IntakeDeadline, Policy
from .reasons import DueNotice, Reason


@dataclass(frozen=True)
class DeadlineReminder:
    intake_id: str
    deadline: date
    days_before: int

    @property
    def remind_on(self) -> date:
        return self.deadline - timedelta(days=self.days_before)

    @property
    def occasion(self) -> str:
        return f"{self.intake_id}:{self.days_before}d"

    def notice(self, person_id: str, today: date) -> DueNotice:
        """What the message may show: the intake, its deadline, the days left."""
        return DueNotice(
            person_id,
            Reason.DEADLINE_REMINDER,
            self.occasion,
            {
                "intake": self.intake_id,
                "deadline": self.deadline.isoformat(),
                "days_left": str((self.deadline - today).days),
            },
        )


def next_deadline(intakes: tuple[IntakeDeadline, ...], today: date) -> tuple[str, date]:
    """(intake id, deadline) of the first deadline on or after `today`."""
    for year in (today.year, today.year + 1):
        for intake in sorted(intakes, key=lambda i: (i.month, i.day)):
            deadline = _on(year, intake.month, intake.day)
            if deadline >= today:
                return f"{year}-{intake.season}", deadline
    raise AssertionError("every day precedes some deadline within a year")


def current_reminder(
    intakes: tuple[IntakeDeadline, ...], days_before: tuple[int, ...], today: date
) -> DeadlineReminder | None:
    """The reminder whose date has come most recently for the next deadline, if any."""
    intake_id, deadline = next_deadline(intakes, today)
    come = [
        DeadlineReminder(intake_id, deadline, days)
        for days in days_before
        if deadline - timedelta(days=days) <= today
    ]
    return min(come, key=lambda reminder: reminder.days_before, default=None)


def _on(year: int, month: int, day: int) -> date:
    """The date, or the month's last day where it has fewer days (29 February)."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class DeadlineCalendar:
    """The program's deadlines (in its time zone) and the days before them to remind."""

    zone: ZoneInfo
    intakes: tuple[IntakeDeadline, ...]
    days_before: tuple[int, ...]

    @classmethod
    def from_policy(cls, policy: Policy) -> DeadlineCalendar:
        return cls(
            ZoneInfo(policy.enrollment.timezone),
            policy.enrollment.intakes,
            policy.notifications.deadline_reminder_days,
        )

    def today(self, now: datetime) -> date:
        return now.astimezone(self.zone).date()

    def current(self, now: datetime) -> DeadlineReminder | None:
        return current_reminder(self.intakes, self.days_before, self.today(now))
