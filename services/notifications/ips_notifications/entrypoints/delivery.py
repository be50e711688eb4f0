"""The delivery worker: sends what is due, by each person's channel, and records how it went.

The guarantee, with any number of replicas sharing one database:

- A notification's identity (person, reason, occasion) is committed with the consumed
  event, before the event is acknowledged and before anything is sent: an event applied
  twice, or by two replicas, makes one notification (the identity is unique).
- Before sending, the attempt is committed as in flight (`ClaimDue`), with a lease: the
  worker that claimed it owns it until `delivery_lease_seconds` have passed (PostgreSQL
  replicas claim disjoint rows with `SKIP LOCKED`; SQLite's write lock makes claims take
  turns). After the server's answer the outcome is committed (`RecordOutcome`) with
  `NotificationDelivered` or `NotificationFailed` in the outbox, in the same transaction,
  only if the attempt is still the notification's latest (fencing a worker whose lease ran
  out while it hung).
- An attempt whose worker crashed is claimed again once its lease has run out, by any
  replica (or by the same one after its restart); one whose outcome a failed pass could not
  record (the database out of reach) is released by its worker at the next pass. Either is
  sent again by email with the same `Message-ID` (derived from the identity), to a text
  provider with the same `Idempotency-Key`.

So no crash gives zero messages: a notification leaves `pending`/`in_flight` only by a
committed outcome recorded after the server answered (delivered, or a refusal the worker
was told of), or by being given up on purpose (no address, erased details, expired, too
many attempts), which is recorded and emitted as `NotificationFailed` (final).
A second copy can come in one window only: after the mail (or text) server has taken the
message and before its outcome is committed here. That is a crash of this process, or a
database failure, between the server's answer and the commit; or the server's answer lost
on the way back (the connection cut after it took the message), which the worker takes
for a transient failure and retries; or a worker that hung past its lease while sending.
The copy carries the same `Message-ID` (and the text the same `Idempotency-Key`), so a
mail system or a reader can tell it is the same message. A crash before the attempt is
committed, or after the outcome is, gives exactly one. A refusal the server answered
(4xx, 5xx) or a connection it refused never gave a copy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime

import structlog

from ips_shared.contracts.events import Channel
from ips_shared.logs import describe_error
from ips_shared.messaging.bus import MessageBus
from ips_shared.messaging.pull import raised_at
from ips_shared.messaging.worker import Worker
from ips_shared.metrics import ServiceMetrics

from .. import messages
from ..channels import ChannelAdapter, Outgoing
from ..commands import ClaimDue, Claimed, NextDue, RecordOutcome, ReleaseClaims
from ..domain.delivery import Outcome, Result
from ..domain.rules import rule_for

log = structlog.get_logger(__name__)
Clock = Callable[[], datetime]


class DeliveryWorker(Worker):
    """Run alongside the service; woken after commits that make something due (new
    notifications, contact details arriving), otherwise every `poll_seconds` or when the
    next retry or the end of quiet hours comes, whichever is sooner."""

    def __init__(
        self,
        *,
        poll_seconds: float,
        batch_size: int,
        clock: Clock,
        channels: Mapping[Channel, ChannelAdapter],
        portal_url: str,
        help_contact: str,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        super().__init__("notifications-delivery", poll_seconds)
        self._batch_size = batch_size
        self._clock = clock
        self._channels = channels
        self._portal_url = portal_url
        self._help_contact = help_contact
        self._bus: MessageBus | None = None
        self._metrics = metrics  # sent and failed, per channel
        # Attempts claimed whose outcome is not recorded yet: after a failed pass (the
        # database out of reach, say) they are released at the next one.
        self._unsettled: dict[int, int] = {}

    def drive(self, bus: MessageBus) -> None:
        self._bus = bus

    async def run(self) -> None:
        try:
            await super().run()
        finally:
            for channel in self._channels.values():
                await channel.close()

    async def work(self) -> None:
        bus = self._require_bus()
        if self._unsettled:
            claims = tuple(self._unsettled.items())
            await asyncio.to_thread(bus.handle, ReleaseClaims(claims))
            self._unsettled.clear()
        while not self._stopping:
            await self.deliver_due()
            next_due = await asyncio.to_thread(bus.handle, NextDue())
            if next_due is None:
                return
            wait = (next_due - self._clock()).total_seconds()
            if wait >= self._poll_seconds:
                return
            await self._pause(max(wait, 0.0))

    async def deliver_due(self) -> int:
        """Take and send everything due now; returns how many attempts were made."""
        bus = self._require_bus()
        made = 0
        while not self._stopping:
            claims = await asyncio.to_thread(
                bus.handle, ClaimDue(now=self._clock(), limit=self._batch_size)
            )
            self._unsettled.update((claimed.id, claimed.attempt) for claimed in claims.attempts)
            for claimed in claims.attempts:
                result = await self._send(claimed)
                outcome = RecordOutcome(claimed.id, claimed.attempt, result, now=self._clock())
                await asyncio.to_thread(bus.handle, outcome)
                del self._unsettled[claimed.id]
                made += 1
            if claims.taken < self._batch_size:
                break
        return made

    async def _send(self, claimed: Claimed) -> Result:
        try:
            result = await self._channels[claimed.channel].send(self.compose(claimed))
        except Exception as error:  # a defect: retried, and visible in the log (no values)
            log.error("delivery.send_raised", error=describe_error(error), at=raised_at(error))
            result = Result(Outcome.TRANSIENT, "internal_error")
        self._count(claimed.channel, result)
        log.info(
            "delivery.attempted",
            notification_id=claimed.key,
            person_id=claimed.person_id,
            reason=claimed.reason,
            channel=str(claimed.channel),
            outcome=str(result.outcome),
            code=result.code or None,
        )
        return result

    def _count(self, channel: Channel, result: Result) -> None:
        if self._metrics is None:
            return
        if result.outcome == Outcome.DELIVERED:
            self._metrics.notifications_sent.labels(str(channel)).inc()
        else:
            self._metrics.notifications_failed.labels(str(channel), str(result.outcome)).inc()

    def compose(self, claimed: Claimed) -> Outgoing:
        rendered = messages.render(
            claimed.reason,
            claimed.language,
            name=claimed.name,
            details=claimed.details,
            portal_url=self._portal_url,
            help_contact=self._help_contact,
            may_opt_out=rule_for(claimed.reason).may_opt_out,
        )
        body = rendered.text if claimed.channel == Channel.SMS else rendered.body
        return Outgoing(claimed.key, claimed.address, rendered.subject, body)

    def _require_bus(self) -> MessageBus:
        if self._bus is None:
            raise RuntimeError("the delivery worker has no bus: call drive(bus) first")
        return self._bus
