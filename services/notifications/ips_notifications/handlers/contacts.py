"""The contact book: each person's latest details, from enrollment."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ips_shared.contracts.envelope import CloudEvent
from ips_shared.contracts.events import PersonContactChanged
from ips_shared.messaging.unit_of_work import UnitOfWork

from ..db import repository


def apply_contact_changes(
    events: Sequence[CloudEvent[PersonContactChanged]],
    uow: UnitOfWork,
    *,
    wake_delivery: Callable[[], None],
) -> None:
    """Keep the latest details per person (`erased`: forget them). Notifications that waited
    for a person's details are due again, and the delivery worker is woken after commit."""
    changed = [repository.apply_contact(uow.session, event) for event in events]
    if any(changed):
        uow.on_commit(wake_delivery)
