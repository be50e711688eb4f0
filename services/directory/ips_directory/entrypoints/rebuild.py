"""`ips-directory rebuild`: the read model of certificates made again from the start of
certification's stream, through the consumer's own handler and inbox.

In one database transaction: the read model and its consumer's inbox are emptied (on
PostgreSQL the table is locked first, so the live consumer waits rather than writes
beside it; on SQLite the database's write lock does the same), then every
`CertificationStatusChanged` still in the stream is read in stream order, from a consumer
made for the occasion (`permissions.REPLAYS`: the service's own identity may make it, with
that name and filter only, and deleted after), and applied as the durable consumer applies it;
then it commits (or, with `dry_run`, says what would change and keeps the model). What the
live consumer had dead-lettered (a sender not allowed, a payload that does not read) is
skipped here too, and counted."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from ips_shared.contracts.permissions import REPLAYS
from ips_shared.messaging.consumer_spec import ConsumerSpec
from ips_shared.messaging.inbox import apply_batch
from ips_shared.service import Service

from .. import SERVICE
from ..handlers import status

log = structlog.get_logger("ips.directory.rebuild")


@dataclass(frozen=True)
class Rebuilt:
    events: int  # read from the stream
    skipped: int  # not applicable (the live consumer dead-lettered them)
    people: int  # certificates in the rebuilt model
    differences: list[str]  # person ids whose certificate differs from the model before
    committed: bool


async def rebuild(service: Service, *, batch_size: int = 500, dry_run: bool = False) -> Rebuilt:
    runtime = service.runtime
    spec = next(c.spec for c in runtime.consumers if c.spec.name == status.CONSUMER)
    handler = service.bus.bind(status.apply_status_changes)
    await runtime.broker.connect()
    try:
        events = skipped = 0
        # The database work is synchronous: this command does nothing else meanwhile.
        with runtime.unit_of_work() as uow:
            before = {c.person_id: c for c in status.certificates_now(uow)}
            status.forget_certificates(uow)
            async for batch in _replay(runtime.jetstream(), spec, batch_size):
                ready = []
                for message in batch:
                    events += 1
                    try:
                        event = spec.parse(message.data)
                    except Exception:
                        skipped += 1
                        continue
                    if not spec.may_send(event.source):
                        skipped += 1
                        continue
                    ready.append((message, event))
                apply_batch(uow, spec.name, handler, ready)
            after = {c.person_id: c for c in status.certificates_now(uow)}
            differences = sorted(
                person
                for person in before.keys() | after.keys()
                if before.get(person) != after.get(person)
            )
            if not dry_run:
                uow.commit()
    finally:
        await runtime.broker.stop()
    log.info(
        "rebuild.done",
        events=events,
        skipped=skipped,
        people=len(after),
        differences=len(differences),
        committed=not dry_run,
    )
    return Rebuilt(events, skipped, len(after), differences, committed=not dry_run)


async def _replay(
    jetstream: JetStreamContext, spec: ConsumerSpec, batch_size: int
) -> AsyncIterator[list[Msg]]:
    """The stream's messages on the consumer's subject, from the first, in order, in
    batches, until none is pending; the consumer is deleted after (one an interrupted
    rebuild left behind, before)."""
    [replay] = [r for r in REPLAYS[SERVICE] if r.filter_subject == spec.subject]
    with contextlib.suppress(NotFoundError):
        await jetstream.delete_consumer(replay.stream.name, replay.durable)
    config = ConsumerConfig(
        name=replay.durable,
        durable_name=replay.durable,
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.NONE,
        filter_subject=spec.subject,
        inactive_threshold=60.0,
        max_waiting=1,
    )
    subscription = await jetstream.pull_subscribe(
        replay.filter_subject, durable=replay.durable, stream=replay.stream.name, config=config
    )
    try:
        pending = (await subscription.consumer_info()).num_pending
        while pending:
            batch = await subscription.fetch(min(batch_size, pending), timeout=10)
            yield batch
            pending = batch[-1].metadata.num_pending if batch else 0
    finally:
        await subscription.unsubscribe()
        await jetstream.delete_consumer(replay.stream.name, replay.durable)
