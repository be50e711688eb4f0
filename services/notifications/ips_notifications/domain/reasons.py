"""Why a peer is told something, and which occasion it is about.

A reason is sent once per person per occasion: the pair is the notification's identity,
so a redelivered or re-sent event cannot make a second one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ips_shared.contracts.events import ApplicationSubmitted


class Reason(StrEnum):
    APPLICATION_RECEIVED = "application_received"


@dataclass(frozen=True)
class DueNotice:
    person_id: str
    reason: Reason
    occasion: str


def notice_for_application(event: ApplicationSubmitted) -> DueNotice:
    return DueNotice(event.person_id, Reason.APPLICATION_RECEIVED, occasion=event.application_id)
