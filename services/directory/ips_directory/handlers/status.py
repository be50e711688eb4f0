"""The read model of certificates, from certification's status changes: applied live by
the durable consumer and, from the start of the stream, by `ips-directory rebuild`,
through the same handler."""

from __future__ import annotations

from collections.abc import Sequence

from ips_shared.contracts.envelope import CloudEvent
from ips_shared.contracts.events import CertificationStatusChanged
from ips_shared.messaging.unit_of_work import UnitOfWork

from ..db import repository
from ..domain.certificates import Certificate, apply

CONSUMER = "certificate-status"
"""The durable consumer's name (durable names are per stream: notifications reads the same
subject as `status-changed`)."""


def apply_status_changes(
    events: Sequence[CloudEvent[CertificationStatusChanged]], uow: UnitOfWork
) -> None:
    """Each person's certificate after each change, in order. A listing appears or
    disappears with the status: search reads the two together."""
    for event in events:
        current = repository.certificate_of(uow.session, event.data.person_id)
        repository.save_certificate(uow.session, apply(current, event.data), event)


def forget_certificates(uow: UnitOfWork) -> None:
    """The rebuild's first step, in its transaction: an empty read model, and an inbox that
    has applied nothing, so that the replay goes through the inbox as the consumer does."""
    repository.forget_certificates(uow.session, CONSUMER)


def certificates_now(uow: UnitOfWork) -> list[Certificate]:
    """The whole read model, by person (the rebuild compares before and after)."""
    return repository.all_certificates(uow.session)
