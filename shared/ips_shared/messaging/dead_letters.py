"""A service's dead-letter stream: what its consumers could not apply, with the reason
in headers (never in the log), and the operators' view of it."""

from __future__ import annotations

from typing import Any

import nats
import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from ..contracts.envelope import MSG_ID_HEADER
from ..contracts.streams import dead_letter_stream
from ..contracts.subjects import dead_letter_subject

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


async def list_dead_letters(nats_url: str, service: str, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` dead letters: where they came from and why, not their payload."""
    connection = await nats.connect(nats_url)
    try:
        jetstream = connection.jetstream()
        stream = dead_letter_stream(service).name
        info = await jetstream.stream_info(stream)
        if not info.state.messages:
            return []
        first = max(info.state.first_seq, info.state.last_seq - limit + 1)
        letters = []
        for sequence in range(first, info.state.last_seq + 1):
            try:
                message = await jetstream.get_msg(stream, sequence)
            except NotFoundError:
                continue
            letters.append(
                {"sequence": sequence, "subject": message.subject, **(message.headers or {})}
            )
        return letters
    finally:
        await connection.close()
