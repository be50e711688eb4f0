"""What a service counts, for Prometheus at `GET /metrics`: one registry per service runtime
(the tests run several services in one process, each must count its own).

Label values are bounded and hold no personal data: a consumer's name and the subject it
consumes as declared (`ips.hours.logged.*`, never the subject a message came on, which may
end in a partner's id or a digest of a person's), reason codes, channels, outcomes, HTTP
methods, route templates (`/people/{person_id}`, never the path) and status codes.

The outbox figures come from the relay's own polls (`OutboxRelay`): scraping never reads the
database. Pending and redelivered messages come from the metadata JetStream sends with
each message (`num_pending`, `num_delivered`).
"""

from __future__ import annotations

import time
from datetime import datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .db import utcnow

METRICS_PATH = "/metrics"
UNROUTED = "(no route)"  # an answer given before routing: a 413, an unknown path
BATCH_SIZE_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class ServiceMetrics:
    """Every metric of one service, in its own registry."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        registry = self.registry
        consumer = ("consumer", "subject")
        # -- consumers ---------------------------------------------------------------------
        self.messages_handled = Counter(
            "ips_consumer_messages_handled",
            "Messages a consumer applied (or found applied already) and acknowledged",
            consumer,
            registry=registry,
        )
        self.messages_failed = Counter(
            "ips_consumer_messages_failed",
            "Handler failures on a message (each is retried later, or dead-lettered at the"
            " last delivery)",
            consumer,
            registry=registry,
        )
        self.messages_answered = Counter(
            "ips_consumer_messages_answered",
            "Bad messages answered to their source instead of being applied",
            (*consumer, "code"),
            registry=registry,
        )
        self.handling_seconds = Histogram(
            "ips_consumer_handling_seconds",
            "Time to apply a batch in one transaction (inbox, effects, commit)",
            consumer,
            buckets=SECONDS_BUCKETS,
            registry=registry,
        )
        self.batch_size = Histogram(
            "ips_consumer_batch_size",
            "Messages in each batch a consumer took",
            consumer,
            buckets=BATCH_SIZE_BUCKETS,
            registry=registry,
        )
        self.pending = Gauge(
            "ips_consumer_pending_messages",
            "Messages in the stream not yet delivered to the consumer, as JetStream said with"
            " the last message delivered",
            consumer,
            registry=registry,
        )
        self.redelivered = Counter(
            "ips_consumer_redelivered_messages",
            "Messages received that had been delivered before (num_delivered > 1)",
            consumer,
            registry=registry,
        )
        self.dead_letters = Counter(
            "ips_dead_letters",
            "Messages written to the service's dead-letter stream, by reason code",
            ("consumer", "reason"),
            registry=registry,
        )
        # -- outbox ------------------------------------------------------------------------
        self.outbox_backlog = Gauge(
            "ips_outbox_backlog",
            "Outbox rows not yet published, as the relay found them at its last poll",
            registry=registry,
        )
        self.outbox_published = Counter(
            "ips_outbox_published",
            "Outbox rows published and acknowledged by JetStream",
            registry=registry,
        )
        self._oldest_unpublished: datetime | None = None
        oldest = Gauge(
            "ips_outbox_oldest_unpublished_age_seconds",
            "Age of the oldest outbox row not yet published (0 when none), from the relay's"
            " last poll",
            registry=registry,
        )
        oldest.set_function(self._oldest_unpublished_age)
        # -- notifications -----------------------------------------------------------------
        self.notifications_sent = Counter(
            "ips_notifications_sent",
            "Notifications the mail or text server accepted",
            ("channel",),
            registry=registry,
        )
        self.notifications_failed = Counter(
            "ips_notifications_failed",
            "Attempts the mail or text server refused or that did not reach it: transient ones"
            " are tried again, permanent ones are final",
            ("channel", "outcome"),
            registry=registry,
        )
        # -- HTTP --------------------------------------------------------------------------
        self.http_requests = Counter(
            "ips_http_requests",
            "HTTP requests answered, by route template and status",
            ("method", "route", "status"),
            registry=registry,
        )
        self.http_seconds = Histogram(
            "ips_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template",
            ("method", "route"),
            buckets=SECONDS_BUCKETS,
            registry=registry,
        )

    # -- the outbox, as the relay saw it ----------------------------------------------------

    def outbox_seen(self, backlog: int, oldest: datetime | None) -> None:
        """What the relay found unpublished at its last look."""
        self.outbox_backlog.set(backlog)
        self._oldest_unpublished = oldest if backlog else None

    def _oldest_unpublished_age(self) -> float:
        oldest = self._oldest_unpublished
        return max(0.0, (utcnow() - oldest).total_seconds()) if oldest else 0.0

    # -- the exposition ---------------------------------------------------------------------

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class ConsumerMetrics:
    """One consumer's children of the service's metrics, resolved once (the hot path then
    only increments)."""

    def __init__(self, metrics: ServiceMetrics, consumer: str, subject: str) -> None:
        self._metrics = metrics
        self._consumer = consumer
        self._subject = subject
        self.handled = metrics.messages_handled.labels(consumer, subject)
        self.failed = metrics.messages_failed.labels(consumer, subject)
        self.handling_seconds = metrics.handling_seconds.labels(consumer, subject)
        self.batch_size = metrics.batch_size.labels(consumer, subject)
        self.pending = metrics.pending.labels(consumer, subject)
        self.redelivered = metrics.redelivered.labels(consumer, subject)

    def answered(self, code: str) -> None:
        self._metrics.messages_answered.labels(self._consumer, self._subject, code).inc()

    def dead_lettered(self, reason: str) -> None:
        self._metrics.dead_letters.labels(self._consumer, reason).inc()


class HttpMetrics:
    """ASGI middleware counting every answer by method, route template and status. The
    template comes from the route the router matched (`scope["route"]`), so no id ever
    becomes a label; an answer given before routing counts as `(no route)`."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            method = scope["method"] if scope["method"] in KNOWN_METHODS else "OTHER"
            route = route_template(scope)
            self.metrics.http_requests.labels(method, route, str(status)).inc()
            self.metrics.http_seconds.labels(method, route).observe(time.perf_counter() - began)


def route_template(scope: Scope) -> str:
    """The matched route's template (`/people/{person_id}`), never the path itself."""
    template = getattr(scope.get("route"), "path", None)
    return template if isinstance(template, str) and template else UNROUTED
