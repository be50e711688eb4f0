"""Application-deadline reminders, without I/O: which reminder is current on a day, its
occasion, what its message may show, and the policy section it comes from."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from ips_notifications import messages
from ips_notifications.domain import rules
from ips_notifications.domain.deadlines import current_reminder, next_deadline
from ips_notifications.domain.policy import (
    MAINE_DEADLINES,
    IntakeDeadline,
    NotificationsPolicy,
    read_policy,
)
from ips_notifications.domain.reasons import Reason
from ips_shared.contracts.events import Language

DAYS = (30, 7)
POLICY = Path(__file__).parents[2] / "deploy" / "policy" / "policy.toml"


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 12, 15), None),  # 31 days before 2027-01-15: nothing yet
        (date(2026, 12, 16), ("2027-spring", date(2027, 1, 15), 30)),
        (date(2027, 1, 7), ("2027-spring", date(2027, 1, 15), 30)),
        (date(2027, 1, 8), ("2027-spring", date(2027, 1, 15), 7)),
        (date(2027, 1, 15), ("2027-spring", date(2027, 1, 15), 7)),  # the deadline day
        (date(2027, 1, 16), None),  # the next deadline (1 May) is far off
        (date(2027, 4, 1), ("2027-summer", date(2027, 5, 1), 30)),
        (date(2027, 10, 25), ("2027-winter", date(2027, 11, 1), 7)),
    ],
)
def test_the_current_reminder_is_the_latest_come_for_the_next_deadline(
    today: date, expected: tuple[str, date, int] | None
) -> None:
    reminder = current_reminder(MAINE_DEADLINES, DAYS, today)
    found = (
        None
        if reminder is None
        else (
            reminder.intake_id,
            reminder.deadline,
            reminder.days_before,
        )
    )
    assert found == expected


def test_the_occasion_names_the_intake_and_the_days_before() -> None:
    thirty = current_reminder(MAINE_DEADLINES, DAYS, date(2026, 12, 20))
    seven = current_reminder(MAINE_DEADLINES, DAYS, date(2027, 1, 10))
    assert thirty is not None and seven is not None
    assert (thirty.occasion, seven.occasion) == ("2027-spring:30d", "2027-spring:7d")
    assert (thirty.remind_on, seven.remind_on) == (date(2026, 12, 16), date(2027, 1, 8))


def test_a_deadline_on_a_day_a_month_lacks_falls_on_its_last_day() -> None:
    leap = (IntakeDeadline(season="spring", month=2, day=29),)
    assert next_deadline(leap, date(2027, 2, 1)) == ("2027-spring", date(2027, 2, 28))
    assert next_deadline(leap, date(2028, 2, 1)) == ("2028-spring", date(2028, 2, 29))


@pytest.mark.parametrize("language", list(Language))
def test_the_message_says_which_intake_closes_when_and_may_be_opted_out_of(
    language: Language,
) -> None:
    reminder = current_reminder(MAINE_DEADLINES, DAYS, date(2027, 1, 10))
    assert reminder is not None
    notice = reminder.notice("p-1", date(2027, 1, 10))
    assert (notice.reason, notice.occasion) == (Reason.DEADLINE_REMINDER, "2027-spring:7d")
    assert dict(notice.details) == {
        "intake": "2027-spring",
        "deadline": "2027-01-15",
        "days_left": "5",
    }
    rule = rules.rule_for(Reason.DEADLINE_REMINDER)
    assert rule.may_opt_out is True
    rendered = messages.render(
        Reason.DEADLINE_REMINDER,
        language,
        name="Sam",
        details=notice.details,
        portal_url="https://ips.example.org",
        help_contact="the OBH peer support team",
        may_opt_out=rule.may_opt_out,
    )
    for value in notice.details.values():
        assert value in rendered.body
    assert "2027-01-15" in rendered.text and "https://ips.example.org" in rendered.text
    assert len(rendered.text) <= 320 and "None" not in rendered.body


def test_the_policy_file_gives_the_deadlines_and_the_days() -> None:
    policy = read_policy(POLICY)
    assert policy.enrollment.intakes == MAINE_DEADLINES
    assert policy.enrollment.timezone == "America/New_York"
    assert policy.notifications.deadline_reminder_days == DAYS


@pytest.mark.parametrize("days", [(7, 7), (-1,), (400,)])
def test_reminder_days_are_distinct_and_within_a_year(days: tuple[int, ...]) -> None:
    with pytest.raises(ValidationError):
        NotificationsPolicy.model_validate({"deadline_reminder_days": days})
