"""OpenTelemetry tracing across services: one application's path, from the HTTP request
that submits it through every service its events reach, is one trace.

How the context travels (W3C Trace Context):

- An HTTP request starts a span, continuing the trace its `traceparent` header names, if
  any (`TracedRequests`).
- An event emitted in a unit of work stores the context it belongs to in the outbox row
  (`trace_context`: the `traceparent`, then a line with the `tracestate` if there is one):
  the request's span, or, for an event emitted with `cause=`, the span of the consumer that
  applied the cause (`trace_context_for`).
- The relay publishes the stored context as the NATS headers `traceparent` (and
  `tracestate`) beside `Nats-Msg-Id`; it never reads the payload.
- A consumer gives each message that carries a context a span of its own whose parent is
  that context, so the trace goes on; a batch of more than one message (or of messages
  without a context) also gets a span of its own, a new trace that links to every
  message's context, and each message's span links back to it. Every message span covers
  the batch's transaction, since the batch is applied together.

Spans are recorded only when something exports them: an OTLP endpoint named in the
settings (`<SERVICE>_OTLP_ENDPOINT`, or the standard `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` /
`OTEL_EXPORTER_OTLP_ENDPOINT`; it needs the `opentelemetry-exporter-otlp-proto-http`
package), or an exporter given with `Tracing.export_to` (the tests' in-memory one). When
nothing is, no span is made and a service passes the context it received on unchanged, so
a trace still joins up across the services that do record. Each service runtime has its
own tracer provider (its spans name the service), as the tests run several in one process.

Span names and attributes hold route templates, consumer names, event types and event ids:
never a path, a payload or personal data.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any

import structlog
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .metrics import route_template

log = structlog.get_logger("ips.tracing")

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
TRACE_CONTEXT_LENGTH = 600  # the outbox column: a traceparent (55) and a tracestate (<= 512)
MAX_LINKS = 128  # the SDK's default limit of links on a span
# Probes and scrapes come every few seconds and cause nothing: no span of their own.
UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_propagator = TraceContextTextMapPropagator()

TraceContext = str
"""As stored in the outbox: `traceparent`, or `traceparent` + "\\n" + `tracestate`."""

# While a consumer applies a batch: the context each event's effects continue, by the
# event's identity (source, id). Set in the worker thread that runs the transaction.
_carried: ContextVar[Mapping[tuple[str, str], TraceContext] | None] = ContextVar(
    "ips_carried_traces", default=None
)


class Tracing:
    """A service's tracer. `recording` is false until something exports the spans."""

    def __init__(self, service: str, *, otlp_endpoint: str | None = None) -> None:
        self.service = service
        self.provider = TracerProvider(
            resource=Resource({"service.name": f"ips-{service}"}), shutdown_on_exit=False
        )
        self.tracer = self.provider.get_tracer("ips_shared")
        self.recording = False
        endpoint = (
            otlp_endpoint
            or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        )
        if endpoint:
            self._export_over_otlp(endpoint)

    def export_to(self, exporter: SpanExporter, *, batched: bool = True) -> None:
        """Record spans from now on and hand them to `exporter` (in batches, in the
        background; `batched=False`: as each ends, for tests)."""
        processor = BatchSpanProcessor(exporter) if batched else SimpleSpanProcessor(exporter)
        self.provider.add_span_processor(processor)
        self.recording = True

    def flush(self) -> None:
        with contextlib.suppress(Exception):
            self.provider.force_flush(timeout_millis=5_000)

    def _export_over_otlp(self, endpoint: str) -> None:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found]
                OTLPSpanExporter,
            )
        except ImportError:
            log.warning(
                "tracing.exporter_missing",
                detail="an OTLP endpoint is set but opentelemetry-exporter-otlp-proto-http is"
                " not installed: spans are not exported",
            )
            return
        self.export_to(OTLPSpanExporter(endpoint=_traces_url(endpoint)))
        log.info("tracing.exporting", protocol="otlp/http")

    # -- consumers ------------------------------------------------------------------------

    def batch(
        self, consumer: str, subject: str, deliveries: Sequence[tuple[Any, Any]]
    ) -> BatchTrace:
        """The spans of one batch about to be applied: `(message, event)` pairs."""
        return BatchTrace(self, consumer, subject, deliveries)


def _traces_url(endpoint: str) -> str:
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else f"{endpoint}/v1/traces"


# -- the context, as text -----------------------------------------------------------------


def format_context(span_context: SpanContext) -> TraceContext | None:
    if not span_context.is_valid:
        return None
    parent = (
        f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}"
        f"-{int(span_context.trace_flags):02x}"
    )
    state = span_context.trace_state.to_header() if span_context.trace_state else ""
    return f"{parent}\n{state}" if state else parent


def current_trace_context() -> TraceContext | None:
    """The context of the span at hand (an HTTP request's, a consumer's), if any."""
    return format_context(trace.get_current_span().get_span_context())


def trace_context_for(cause: Any | None) -> TraceContext | None:
    """What an event emitted now belongs to: the span of the consumer applying `cause` (an
    event), else the span at hand."""
    if cause is not None:
        carried = _carried.get()
        if carried:
            found = carried.get((cause.source, cause.id))
            if found is not None:
                return found
    return current_trace_context()


def add_headers(headers: dict[str, str], stored: TraceContext) -> None:
    """The NATS headers of a stored context (the relay's part)."""
    parent, _, state = stored.partition("\n")
    headers[TRACEPARENT] = parent
    if state:
        headers[TRACESTATE] = state


def received_context(headers: Mapping[str, str] | None) -> TraceContext | None:
    """The context a message carries in its headers, as text (passed on unchanged)."""
    if not headers:
        return None
    parent = headers.get(TRACEPARENT)
    if not parent:
        return None
    state = headers.get(TRACESTATE)
    return f"{parent}\n{state}" if state else parent


def _span_context_of(headers: Mapping[str, str] | None) -> SpanContext | None:
    if not headers or TRACEPARENT not in headers:
        return None
    span_context = trace.get_current_span(_propagator.extract(headers)).get_span_context()
    return span_context if span_context.is_valid else None


# -- HTTP ---------------------------------------------------------------------------------


class TracedRequests:
    """ASGI middleware: a span per request (continuing the caller's `traceparent`), named by
    the route template, current while the app answers, so events emitted in the request's
    unit of work carry it. When nothing records, only the caller's context is made current."""

    def __init__(self, app: ASGIApp, tracing: Tracing) -> None:
        self.app = app
        self.tracing = tracing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNTRACED_PATHS:
            await self.app(scope, receive, send)
            return
        carrier = _trace_headers(scope)
        parent = _propagator.extract(carrier) if carrier else None
        if not self.tracing.recording:
            if parent is None:
                await self.app(scope, receive, send)
                return
            token = otel_context.attach(parent)
            try:
                await self.app(scope, receive, send)
            finally:
                otel_context.detach(token)
            return

        method = scope["method"]
        status = 500

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with self.tracing.tracer.start_as_current_span(
            method,
            context=parent,
            kind=SpanKind.SERVER,
            record_exception=False,  # its text might quote a value
            set_status_on_exception=False,
        ) as span:
            try:
                await self.app(scope, receive, observed)
            except Exception as error:
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
                raise
            finally:
                route = route_template(scope)
                span.update_name(f"{method} {route}")
                span.set_attribute("http.request.method", method)
                span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))


def _trace_headers(scope: Scope) -> dict[str, str] | None:
    found: dict[str, str] | None = None
    for name, value in scope["headers"]:
        if name == b"traceparent" or name == b"tracestate":
            found = found or {}
            found[name.decode("latin-1")] = value.decode("latin-1")
    return found


# -- consumers ----------------------------------------------------------------------------


class BatchTrace:
    """The spans of one batch (see the module's description) and the context each event's
    effects continue (`carried`). Not recording: no span, each message's context is passed
    on unchanged."""

    def __init__(
        self, tracing: Tracing, consumer: str, subject: str, deliveries: Sequence[tuple[Any, Any]]
    ) -> None:
        self.carried: dict[tuple[str, str], TraceContext] = {}
        self._spans: list[trace.Span] = []
        self._current: trace.Span | None = None
        if not tracing.recording:
            for message, event in deliveries:
                headers = message.headers
                if headers and TRACEPARENT in headers:
                    received = received_context(headers)
                    if received is not None:
                        self.carried[(event.source, event.id)] = received
            return
        traced = [
            (event, span_context)
            for message, event in deliveries
            if (span_context := _span_context_of(message.headers)) is not None
        ]
        attributes = {
            "messaging.system": "nats",
            "messaging.operation.type": "process",
            "messaging.consumer.group.name": consumer,
            "messaging.destination.subscription.name": subject,
        }
        tracer = tracing.tracer
        batch: trace.Span | None = None
        if len(deliveries) > 1 or not traced:
            batch = tracer.start_span(
                f"consume {consumer}",
                context=otel_context.Context(),  # a trace of its own
                kind=SpanKind.CONSUMER,
                links=[Link(span_context) for _, span_context in traced[:MAX_LINKS]],
                attributes={**attributes, "messaging.batch.message_count": len(deliveries)},
            )
            self._spans.append(batch)
            self._current = batch
        back = [Link(batch.get_span_context())] if batch is not None else []
        for event, span_context in traced:
            span = tracer.start_span(
                f"process {event.type}",
                context=trace.set_span_in_context(trace.NonRecordingSpan(span_context)),
                kind=SpanKind.CONSUMER,
                links=back,
                attributes={**attributes, "messaging.message.id": event.id},
            )
            self._spans.append(span)
            carried = format_context(span.get_span_context())
            if carried is not None:
                self.carried[(event.source, event.id)] = carried
            if batch is None:
                self._current = span

    @contextlib.contextmanager
    def applying(self) -> Iterator[None]:
        """While the batch's transaction runs (in its thread): emitted events continue
        their cause's trace; the batch's span (or a lone message's) is the current one."""
        token = _carried.set(self.carried) if self.carried else None
        try:
            if self._current is None:
                yield
            else:
                # No exception text on a span: it might quote a value.
                with trace.use_span(
                    self._current,
                    end_on_exit=False,
                    record_exception=False,
                    set_status_on_exception=False,
                ):
                    yield
        finally:
            if token is not None:
                _carried.reset(token)

    def end(self, error: BaseException | None = None) -> None:
        for span in self._spans:
            if error is not None:
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            span.end()
