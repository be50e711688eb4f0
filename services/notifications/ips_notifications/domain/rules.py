"""Who gets what: the one table of notifications.

Each rule says which event (and, for a status change, which change) makes which reason
due, on which occasion (the notification is sent once per person, reason and occasion),
which template says it, which few values the message may show, and whether the person may
opt out of it (never for their certification status); `REMINDERS` are the reasons the
calendar makes due (`domain.reminders`, `domain.deadlines`). `SILENT` lists the events that
never notify: every event of the catalogue is in exactly one of the two.

The values a message may show are picked here, one by one (`details`): an intake, a cohort,
a date, a waitlist position, a certificate number. Nothing else of an event reaches a
template: not a decline's or a lapse's reason code, nor anything about a person's health.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ips_shared.contracts.envelope import EventPayload
from ips_shared.contracts.events import (
    CATALOGUE,
    ApplicationAccepted,
    ApplicationDeclined,
    ApplicationSubmitted,
    ApplicationWaitlisted,
    ApplicationWithdrawn,
    CertificationStatus,
    CertificationStatusChanged,
    CohortScheduled,
    HoursLogged,
    HoursRejected,
    HoursVoided,
    NotificationDelivered,
    NotificationFailed,
    PeerSupport101Completed,
    PersonContactChanged,
    ReviewCompleted,
    ReviewDue,
    TrainingCompleted,
    TrainingDayAttended,
)

from .reasons import DueNotice, Reason


def _always(_event: Any) -> bool:
    return True


def _nothing(_event: Any) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class Rule:
    event: type[EventPayload]
    reason: Reason
    may_opt_out: bool
    occasion: Callable[[Any], str]
    details: Callable[[Any], dict[str, str]] = _nothing
    when: Callable[[Any], bool] = _always
    explains: str = ""

    @property
    def template(self) -> str:
        """The template's name (one file per language: `<language>/<template>.j2`)."""
        return str(self.reason)


def _status(new: CertificationStatus, *reason_codes: str) -> Callable[[Any], bool]:
    def matches(event: CertificationStatusChanged) -> bool:
        return event.new_status == new and (not reason_codes or event.reason_code in reason_codes)

    return matches


def _status_occasion(event: CertificationStatusChanged) -> str:
    return f"{event.new_status}:{event.effective_date.isoformat()}"


def _hours_still_needed(event: CertificationStatusChanged) -> dict[str, str]:
    """What to do and by when, for someone short of hours near the year's end: the hours
    still missing in all and the day the year ends; never why a status changed."""
    hours = sum((item.missing for item in event.shortfall if item.unit == "hours"), Decimal(0))
    if not hours or event.year_ends_on is None:
        return {}
    return {
        "missing_hours": f"{hours.normalize():f}",
        "year_ends_on": event.year_ends_on.isoformat(),
    }


RULES: tuple[Rule, ...] = (
    Rule(
        PeerSupport101Completed,
        Reason.PS101_COMPLETED,
        may_opt_out=True,
        occasion=lambda e: e.session_id,
        explains="Peer Support 101 completed: how to apply to the training",
    ),
    Rule(
        ApplicationSubmitted,
        Reason.APPLICATION_RECEIVED,
        may_opt_out=False,
        occasion=lambda e: e.application_id,
        details=lambda e: {"intake": e.intake},
        explains="Application received, with the intake it joined",
    ),
    Rule(
        ApplicationAccepted,
        Reason.APPLICATION_ACCEPTED,
        may_opt_out=False,
        occasion=lambda e: e.application_id,
        details=lambda e: {"cohort_id": e.cohort_id},
        explains="Accepted into a cohort",
    ),
    Rule(
        ApplicationWaitlisted,
        Reason.APPLICATION_WAITLISTED,
        may_opt_out=False,
        occasion=lambda e: e.application_id,
        details=lambda e: {"intake": e.intake, "position": str(e.position)},
        explains="Waitlisted, with the place on the list",
    ),
    Rule(
        ApplicationDeclined,
        Reason.APPLICATION_DECLINED,
        may_opt_out=False,
        occasion=lambda e: e.application_id,
        details=lambda e: {"intake": e.intake},  # never the reason code
        explains="Declined (the reason stays out of the message)",
    ),
    Rule(
        ApplicationWithdrawn,
        Reason.APPLICATION_WITHDRAWN,
        may_opt_out=False,
        occasion=lambda e: e.application_id,
        details=lambda e: {"intake": e.intake},
        explains="Withdrawn",
    ),
    Rule(
        TrainingCompleted,
        Reason.TRAINING_COMPLETED,
        may_opt_out=True,
        occasion=lambda e: e.cohort_id,
        explains="All eight training days attended",
    ),
    Rule(
        ReviewDue,
        Reason.REVIEW_DUE,
        may_opt_out=False,
        occasion=lambda e: e.due_date.isoformat(),
        details=lambda e: {"due_date": e.due_date.isoformat()},
        explains="A review falls due (60 days ahead)",
    ),
    Rule(
        CertificationStatusChanged,
        Reason.AT_RISK,
        may_opt_out=False,
        occasion=_status_occasion,
        details=_hours_still_needed,
        when=_status(CertificationStatus.AT_RISK),
        explains="At risk (the reason code stays out of the message)",
    ),
    Rule(
        CertificationStatusChanged,
        Reason.LAPSED,
        may_opt_out=False,
        occasion=_status_occasion,
        when=_status(CertificationStatus.LAPSED),
        explains="Lapsed (never why)",
    ),
    Rule(
        CertificationStatusChanged,
        Reason.CERTIFIED,
        may_opt_out=False,
        occasion=lambda e: "first",  # once in a lifetime
        details=lambda e: {"certificate_number": e.certificate_number or ""},
        when=_status(CertificationStatus.CERTIFIED, "first_year_met"),
        explains="Certified for the first time, with the certificate number",
    ),
    Rule(
        CertificationStatusChanged,
        Reason.REINSTATED,
        may_opt_out=False,
        occasion=_status_occasion,
        when=_status(CertificationStatus.CERTIFIED, "reinstated", "operator_reinstated"),
        explains="Back in good standing after a lapse, or reinstated by an operator",
    ),
    Rule(
        HoursVoided,
        Reason.HOURS_VOIDED,
        may_opt_out=False,
        occasion=lambda e: f"{e.entry_event_id}:{e.activity_date.isoformat()}",
        details=lambda e: {
            "category": str(e.category),
            "hours": f"{e.hours.normalize():f}",
            "activity_date": e.activity_date.isoformat(),
        },
        explains="An operator voided reported hours: which ones (never why, nor who reported)",
    ),
)


@dataclass(frozen=True)
class Reminder:
    """A reason the calendar makes due (`domain.reminders`), not an event."""

    reason: Reason
    may_opt_out: bool
    explains: str = ""

    @property
    def template(self) -> str:
        return str(self.reason)


REMINDERS: tuple[Reminder, ...] = (
    Reminder(
        Reason.TRAINING_REMINDER,
        may_opt_out=True,
        explains="The day before each training day, to everyone accepted into the cohort",
    ),
    Reminder(
        Reason.DEADLINE_REMINDER,
        may_opt_out=True,
        explains="An intake's application deadline is coming (30 and 7 days before, from the"
        " policy), to people who completed Peer Support 101 and have not applied",
    ),
)

SILENT: Mapping[type[EventPayload], str] = {
    TrainingDayAttended: "one training day: the completion is what is told",
    CohortScheduled: "a schedule: not told itself; it sets when the training reminders fall due",
    PersonContactChanged: "contact details: the contact book, not a message",
    HoursLogged: "hours: the person reported them",
    HoursRejected: "an answer to the source that reported (a refusal the person is told of"
    " is an operator's void: HoursVoided)",
    ReviewCompleted: "the review's outcome shows as a status change",
    NotificationDelivered: "our own outcome",
    NotificationFailed: "our own outcome",
}
"""Events that never notify, and why. A `CertificationStatusChanged` that no rule above
matches (trained, suspended, withdrawn, certified on import or after catching up before
the year ended) is silent too."""


def notice_for(event: EventPayload) -> DueNotice | None:
    """The notification an event makes due, if any (at most one)."""
    for rule in RULES:
        if isinstance(event, rule.event) and rule.when(event):
            person_id: str = event.person_id  # type: ignore[attr-defined]
            return DueNotice(person_id, rule.reason, rule.occasion(event), rule.details(event))
    return None


def rule_for(reason: str) -> Rule | Reminder:
    return next(rule for rule in (*RULES, *REMINDERS) if rule.reason == reason)


def notifying_events() -> tuple[type[EventPayload], ...]:
    return tuple(dict.fromkeys(rule.event for rule in RULES))


def uncovered_events() -> set[type[EventPayload]]:
    """Catalogue events neither in the table nor silent (none, as a test checks)."""
    return set(CATALOGUE) - set(notifying_events()) - set(SILENT)
