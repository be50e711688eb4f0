"""A service's dead-letter stream: what its consumers could not apply, with the reason
in headers (never in the log). A dead letter is a message on
`ips.deadletter.<service>.<consumer>`; its number is its sequence in the stream. What
operators do with letters is in `dead_letter_admin`.
"""

from __future__ import annotations

import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from ..contracts.envelope import MSG_ID_HEADER
from ..contracts.subjects import (
    dead_letter_subject,
)

log = structlog.get_logger("ips.dead_letters")

DEAD_LETTER_REASON = "Ips-Dead-Letter-Reason"
DEAD_LETTER_ERROR = "Ips-Dead-Letter-Error"
ORIGINAL_SUBJECT = "Ips-Original-Subject"
ORIGINAL_SEQUENCE = "Ips-Original-Sequence"
ORIGINAL_EVENT_ID = "Ips-Event-Id"
DELIVERIES = "Ips-Deliveries"


async def dead_letter(
    jetstream: JetStreamContext,
    message: Msg,
    *,
    service: str,
    consumer: str,
    error_code: str,
    reason: str,
    event_id: str | None,
) -> None:
    """Copy the message to the dead-letter stream, then end its deliveries. Raises if
    the copy was not acknowledged (the caller redelivers it later)."""
    sequence = message.metadata.sequence.stream
    headers = {
        MSG_ID_HEADER: f"{consumer}:{sequence}",
        DEAD_LETTER_ERROR: error_code,
        DEAD_LETTER_REASON: reason,
        ORIGINAL_SUBJECT: message.subject,
        ORIGINAL_SEQUENCE: str(sequence),
        DELIVERIES: str(message.metadata.num_delivered or 1),
    }
    if event_id:
        headers[ORIGINAL_EVENT_ID] = event_id
    await jetstream.publish(dead_letter_subject(service, consumer), message.data, headers=headers)
    log.warning(
        "consumer.dead_lettered",
        consumer=consumer,
        error_code=error_code,
        event_id=event_id,
        sequence=sequence,
    )
    await message.term()


# -- what operators do with dead letters ---------------------------------------------------
