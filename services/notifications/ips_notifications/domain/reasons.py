"""Why a peer is told something, and which occasion it is about.

A reason is sent once per person per occasion: the triple (person, reason, occasion) is
the notification's identity, recorded before anything is sent, so a redelivered or re-sent
event cannot make a second one. Its digest names the notification everywhere (the
`notification_id` of the delivery events, the email's `Message-ID`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Reason(StrEnum):
    PS101_COMPLETED = "ps101_completed"
    APPLICATION_RECEIVED = "application_received"
    APPLICATION_ACCEPTED = "application_accepted"
    APPLICATION_WAITLISTED = "application_waitlisted"
    APPLICATION_DECLINED = "application_declined"
    APPLICATION_WITHDRAWN = "application_withdrawn"
    TRAINING_COMPLETED = "training_completed"
    REVIEW_DUE = "review_due"
    AT_RISK = "at_risk"
    LAPSED = "lapsed"
    CERTIFIED = "certified"
    REINSTATED = "reinstated"
    HOURS_VOIDED = "hours_voided"
    TRAINING_REMINDER = "training_reminder"  # the calendar's (domain.reminders)
    DEADLINE_REMINDER = "deadline_reminder"  # the calendar's (domain.deadlines)


@dataclass(frozen=True)
class DueNotice:
    """A notification that is due: who, why, on which occasion, and the few values its
    message may show (an intake, a date, a certificate number: never a reason code)."""

    person_id: str
    reason: Reason
    occasion: str
    details: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> str:
        return notification_key(self.person_id, self.reason, self.occasion)


def notification_key(person_id: str, reason: str, occasion: str) -> str:
    """The stable id of a notification, from its identity alone (32 hex digits)."""
    identity = "\x1f".join((person_id, str(reason), occasion)).encode()
    return hashlib.sha256(identity).hexdigest()[:32]


def message_id(key: str, mail_from: str) -> str:
    """The email's `Message-ID`: the same for every attempt at the same notification, so a
    re-sent copy is recognisably the same message."""
    address = mail_from.rsplit("<", 1)[-1].rstrip(">").strip()
    domain = address.rpartition("@")[2] or "ips.invalid"
    return f"<notification-{key}@{domain}>"
