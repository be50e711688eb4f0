"""What notifications does when enrollment reports on an application."""

from __future__ import annotations

from collections.abc import Sequence

from ips_shared.contracts.envelope import CloudEvent
from ips_shared.contracts.events import ApplicationSubmitted
from ips_shared.messaging.unit_of_work import UnitOfWork

from ..db import repository
from ..domain.reasons import notice_for_application


def record_application_confirmations(
    events: Sequence[CloudEvent[ApplicationSubmitted]], uow: UnitOfWork
) -> None:
    """A confirmation is due for each application received (once per application)."""
    repository.add_due_notices(
        uow.session, [(notice_for_application(event.data), event) for event in events]
    )
