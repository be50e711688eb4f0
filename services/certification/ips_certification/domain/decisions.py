"""What operators may record: a review of commitment, and holds (suspend, withdraw) with
their lifting (reinstate)."""

from __future__ import annotations

from datetime import date

from .errors import InvalidDecision, InvalidReview
from .status import HELD, HOLDS, Decision, Status


def check_review(reviewed_on: date, *, today: date, trained_on: date) -> None:
    if reviewed_on > today:
        raise InvalidReview("The review date is in the future.")
    if reviewed_on < trained_on:
        raise InvalidReview("The review date is before this person's training completed.")


def check_decision(decision: Decision, current: Status | None) -> None:
    """A hold on someone not held that way already; reinstating only lifts a hold."""
    if decision is Decision.REINSTATE and current not in HELD:
        raise InvalidDecision(
            "Only a suspended or withdrawn person can be reinstated by an operator; "
            "a lapsed one is reinstated when the missing hours or review are recorded."
        )
    if decision is not Decision.REINSTATE and current == HOLDS[decision][0]:
        raise InvalidDecision(f"This person is {current} already.")
