"""Declaring owned streams and waiting for the streams other services own."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

import structlog
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from ..contracts.streams import StreamSpec

log = structlog.get_logger("ips.streams")


async def declare_streams(
    jetstream: JetStreamContext, specs: Iterable[StreamSpec], replicas: int = 1
) -> None:
    """Create or update the streams this service owns (idempotent), each kept in `replicas`
    copies (a change of count is applied to an existing stream too)."""
    for spec in specs:
        config = spec.config(replicas)
        try:
            await jetstream.stream_info(spec.name)
        except NotFoundError:
            await jetstream.add_stream(config)
            log.info("stream.created", stream=spec.name)
        else:
            await jetstream.update_stream(config)
            log.debug("stream.updated", stream=spec.name)


async def wait_for_streams(
    jetstream: JetStreamContext, specs: Iterable[StreamSpec], timeout_seconds: float
) -> None:
    """Wait until the streams this service reads exist; their owners declare them."""
    deadline = time.monotonic() + timeout_seconds
    for spec in specs:
        while True:
            try:
                await jetstream.stream_info(spec.name)
                break
            except NotFoundError:
                if time.monotonic() >= deadline:
                    raise RuntimeError(
                        f"stream {spec.name} does not exist: it is declared by the "
                        f"{spec.owner} service (`ips-{spec.owner} provision`)"
                    ) from None
                log.info("stream.waiting", stream=spec.name, owner=spec.owner)
                await asyncio.sleep(1.0)
