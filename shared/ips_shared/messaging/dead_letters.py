"""Reading a service's dead-letter stream (operators' view)."""

from __future__ import annotations

from typing import Any

import nats
from nats.js.errors import NotFoundError

from ..contracts.streams import dead_letter_stream


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
