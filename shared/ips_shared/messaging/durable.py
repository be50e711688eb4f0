"""The durable JetStream consumer behind a `BatchConsumer`: made, or taken up again from
its acknowledgement floor, and watched for `/readyz`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import structlog
from nats.js import JetStreamContext
from nats.js.api import ConsumerInfo, DeliverPolicy
from nats.js.errors import NotFoundError

from .consumer_spec import ConsumerSpec

log = structlog.get_logger("ips.consumer")

WATCH_SECONDS = 2.0  # how often JetStream is asked whether the durable consumer is there
STREAM_NOT_FOUND = 10059  # JetStream's error code


class DurableConsumer:
    def __init__(self, jetstream: JetStreamContext, spec: ConsumerSpec) -> None:
        self._jetstream = jetstream
        self._spec = spec
        # What the last look at JetStream found: the stream the durable consumer was made
        # on (by creation time), its acknowledgement floor, and what is missing, if anything.
        self._stream_created: datetime | None = None
        self._ack_floor = 0
        self.missing: str | None = None

    async def bind(self) -> None:
        """Create the durable consumer, or take up the one there so that what it delivered
        and nobody acknowledged comes first, in stream order.

        JetStream redelivers an unacknowledged message only when its ack wait (60 s) ends,
        after newer ones: after a crash, a person's later event would be applied before the
        earlier one that was in flight. So a durable with unacknowledged messages is made
        anew from its acknowledgement floor (delete, then create at the next stream
        sequence; JetStream keeps the messages, its streams retain by limits). Re-reading
        from the floor is safe: an event applied already is skipped by the inbox, a message
        answered already is recognised by its position, and a message dead-lettered again
        carries the same `Nats-Msg-Id` (dropped within the duplicate window). Delivery
        counts start again, and this relies on one consuming process per service."""
        jetstream, stream, name = self._jetstream, self._spec.stream.name, self._spec.name
        stream_info = await jetstream.stream_info(stream)
        try:
            info = await jetstream.consumer_info(stream, name)
        except NotFoundError:
            # Never made, or deleted under us: then from where it was, if the stream is the
            # same one (a stream made again numbers its messages from 1).
            same_stream = stream_info.created == self._stream_created
            start_at = self._ack_floor + 1 if same_stream and self._ack_floor else None
            created = await jetstream.add_consumer(stream, self._spec.server_config(start_at))
            if self._stream_created is not None:
                log.warning("consumer.durable_recreated", consumer=name, start_at=start_at)
        else:
            if info.num_ack_pending:
                start_at = _acknowledged_up_to(info) + 1
                await jetstream.delete_consumer(stream, name)
                created = await jetstream.add_consumer(stream, self._spec.server_config(start_at))
                log.info(
                    "consumer.resumed_from_ack_floor",
                    consumer=name,
                    start_at=start_at,
                    unacknowledged=info.num_ack_pending,
                )
            else:  # keep where it starts; settings such as the ack wait may have changed
                kept = info.config.opt_start_seq
                if info.config.deliver_policy != DeliverPolicy.BY_START_SEQUENCE:
                    kept = None
                created = await jetstream.add_consumer(stream, self._spec.server_config(kept))
        self._stream_created = stream_info.created
        self._ack_floor = _acknowledged_up_to(created)
        self.missing = None

    async def watch(self, rebind: Callable[[], None]) -> None:
        """Every few seconds, ask JetStream whether the stream and the durable consumer are
        still there (for `/readyz`), and note the acknowledgement floor. A durable someone
        deleted is made again by the loop, from that floor, once its stream exists."""
        stream, name = self._spec.stream.name, self._spec.name
        this_task = asyncio.current_task()
        while True:
            # On Python 3.11 `asyncio.wait_for` (in nats-py's requests) can swallow a
            # cancellation that meets its answer: stop when one is pending all the same.
            if this_task is not None and this_task.cancelling():
                raise asyncio.CancelledError
            await asyncio.sleep(WATCH_SECONDS)
            try:
                info = await self._jetstream.consumer_info(stream, name, timeout=WATCH_SECONDS)
            except NotFoundError as error:
                self.missing = (
                    f"stream {stream} does not exist"
                    if error.err_code == STREAM_NOT_FOUND
                    else f"durable consumer {name} does not exist on stream {stream}"
                )
                rebind()
            except Exception:  # NATS unreachable: the readiness check of the connection says so
                continue
            else:
                self._ack_floor = _acknowledged_up_to(info)
                self.missing = None


def _acknowledged_up_to(info: ConsumerInfo) -> int:
    """The stream sequence up to which everything was acknowledged."""
    return info.ack_floor.stream_seq if info.ack_floor else 0
