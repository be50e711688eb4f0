"""Applications to the certification training, and who gets a seat.

An operator accepts or declines. Accepting when the intake's cohort is full puts the
application on the waitlist, in order of submission. A decline or a withdrawal of someone
holding a seat frees it for the first on the waitlist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from .errors import CohortFull, InvalidTransition


class ApplicationStatus(StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    WAITLISTED = "waitlisted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


OPEN = (ApplicationStatus.SUBMITTED, ApplicationStatus.ACCEPTED, ApplicationStatus.WAITLISTED)


@dataclass(frozen=True)
class Queued:
    """An application waiting for a seat."""

    application_id: str
    submitted_at: datetime


def accept(status: ApplicationStatus, seats_taken: int, capacity: int) -> ApplicationStatus:
    """What an operator's acceptance makes of an application."""
    if status == ApplicationStatus.SUBMITTED:
        return (
            ApplicationStatus.ACCEPTED if seats_taken < capacity else ApplicationStatus.WAITLISTED
        )
    if status == ApplicationStatus.WAITLISTED:
        if seats_taken >= capacity:
            raise CohortFull(
                f"The cohort is full ({capacity} seats); the application stays waitlisted."
            )
        return ApplicationStatus.ACCEPTED
    raise InvalidTransition(f"An application that is {status} cannot be accepted.")


def close(status: ApplicationStatus, outcome: ApplicationStatus) -> bool:
    """Decline or withdraw; returns whether a seat was freed."""
    if status not in OPEN:
        raise InvalidTransition(f"An application that is {status} cannot be {outcome}.")
    return status == ApplicationStatus.ACCEPTED


def first_in_line(waitlist: Sequence[Queued]) -> Queued | None:
    return min(
        waitlist, key=lambda queued: (queued.submitted_at, queued.application_id), default=None
    )


def waitlist_position(waitlist: Sequence[Queued], application_id: str) -> int:
    ordered = sorted(waitlist, key=lambda queued: (queued.submitted_at, queued.application_id))
    return 1 + [queued.application_id for queued in ordered].index(application_id)
