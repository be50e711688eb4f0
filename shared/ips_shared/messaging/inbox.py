"""One batch against the inbox: what it has not seen is handed to the handler, and what
the handler applied or refused is recorded, in the transaction of the effects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import structlog
from nats.aio.msg import Msg

from ..contracts.envelope import CloudEvent
from .bus import EventHandler
from .unit_of_work import InboxKey, UnitOfWork, at_position, identity

log = structlog.get_logger("ips.consumer")


def apply_batch(
    uow: UnitOfWork,
    consumer: str,
    handler: EventHandler,
    ready: Sequence[tuple[Msg, CloudEvent[Any]]],
) -> None:
    """Apply what the inbox has not seen; record each event applied by its identity and
    each one the handler refused by its stream position (`unit_of_work.InboxKey`). The
    caller commits."""
    handed_over = 0
    delivered = [
        _Delivery(identity(event), at_position(message.metadata.sequence.stream), event)
        for message, event in ready
    ]
    handled = uow.handled_among(
        consumer, [key for each in delivered for key in (each.identity, each.position)]
    )
    pending = [
        each for each in delivered if each.identity not in handled and each.position not in handled
    ]
    answered: set[InboxKey] = set()
    while pending:
        # One copy of an event per call: a later copy in the batch is a duplicate once the
        # first is applied, and is evaluated afresh if it was refused, unless it is the same
        # message delivered again (answered once).
        first, later = _first_copies(pending)
        returned = handler([each.event for each in first], uow) or ()
        refused = {identity(event) for event in returned}
        answered.update(each.position for each in first if each.identity in refused)
        uow.mark_handled(
            consumer,
            [each.position if each.identity in refused else each.identity for each in first],
        )
        handed_over += len(first)
        pending = [
            each for each in later if each.identity in refused and each.position not in answered
        ]
    if handed_over < len(ready):
        log.debug("consumer.duplicates_skipped", consumer=consumer, count=len(ready) - handed_over)


class _Delivery(NamedTuple):
    identity: InboxKey  # the event's
    position: InboxKey  # the message's, in its stream
    event: CloudEvent[Any]


def _first_copies(delivered: list[_Delivery]) -> tuple[list[_Delivery], list[_Delivery]]:
    """The first delivery of each event (by identity), and the later copies."""
    seen: set[InboxKey] = set()
    first, later = [], []
    for each in delivered:
        (later if each.identity in seen else first).append(each)
        seen.add(each.identity)
    return first, later
