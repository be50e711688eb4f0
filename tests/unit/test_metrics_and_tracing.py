"""The parts of observability that need no I/O: one registry per service, the outbox's age
from the relay's last look, route templates as labels, and the trace context as it is
stored, published and passed on by a consumer."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import generate_latest

from ips_shared.db import utcnow
from ips_shared.metrics import UNROUTED, ServiceMetrics, route_template
from ips_shared.tracing import (
    TRACEPARENT,
    TRACESTATE,
    Tracing,
    add_headers,
    received_context,
    trace_context_for,
)

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def message(headers: dict[str, str] | None) -> Any:
    return SimpleNamespace(headers=headers)


def event(event_id: str, source: str = "service/enrollment") -> Any:
    return SimpleNamespace(id=event_id, source=source, type="TrainingCompleted")


def test_each_service_counts_in_its_own_registry() -> None:
    one, other = ServiceMetrics("enrollment"), ServiceMetrics("notifications")
    one.notifications_sent.labels("email").inc()
    assert b'ips_notifications_sent_total{channel="email"} 1.0' in generate_latest(one.registry)
    assert b'channel="email"' not in generate_latest(other.registry)


def test_the_outbox_age_is_the_relays_last_look_growing_with_time() -> None:
    metrics = ServiceMetrics("enrollment")
    metrics.outbox_seen(3, utcnow() - timedelta(seconds=90))
    assert 89 < metrics._oldest_unpublished_age() < 100
    assert metrics.outbox_backlog._value.get() == 3
    metrics.outbox_seen(0, None)
    assert metrics._oldest_unpublished_age() == 0


def test_a_label_is_the_route_template_never_the_path() -> None:
    route = SimpleNamespace(path="/people/{person_id}")
    assert route_template({"route": route, "path": "/people/p-1"}) == "/people/{person_id}"
    assert route_template({"path": "/nowhere/p-1"}) == UNROUTED


def test_a_stored_context_goes_out_as_headers_and_comes_back_unchanged() -> None:
    headers = {"Nats-Msg-Id": "e-1"}
    add_headers(headers, f"{PARENT}\nvendor=abc")
    assert headers == {"Nats-Msg-Id": "e-1", TRACEPARENT: PARENT, TRACESTATE: "vendor=abc"}
    assert received_context(headers) == f"{PARENT}\nvendor=abc"
    plain: dict[str, str] = {}
    add_headers(plain, PARENT)
    assert plain == {TRACEPARENT: PARENT}
    assert received_context({"Nats-Msg-Id": "e-1"}) is None
    assert received_context(None) is None


def test_a_consumer_that_records_nothing_passes_the_context_on_unchanged() -> None:
    tracing = Tracing("certification")
    traced, untraced = event("e-1"), event("e-2")
    batch = tracing.batch(
        "training-completed", "ips.enrollment.training.completed",
        [(message({TRACEPARENT: PARENT}), traced), (message(None), untraced)],
    )  # fmt: skip
    with batch.applying():
        assert trace_context_for(traced) == PARENT
        assert trace_context_for(untraced) is None  # nothing at hand either
    batch.end()
    assert trace_context_for(traced) is None  # only while the batch is applied


def test_a_recording_consumer_continues_each_messages_trace_and_links_the_batch() -> None:
    tracing = Tracing("certification")
    exporter = InMemorySpanExporter()
    tracing.export_to(exporter, batched=False)
    traced, untraced = event("e-1"), event("e-2")
    batch = tracing.batch(
        "training-completed", "ips.enrollment.training.completed",
        [(message({TRACEPARENT: PARENT}), traced), (message({}), untraced)],
    )  # fmt: skip
    with batch.applying():
        carried = trace_context_for(traced)
        assert carried is not None and carried.split("-")[1] == PARENT.split("-")[1]
        own = trace_context_for(untraced)  # the batch's span, the one at hand
        assert own is not None and own.split("-")[1] != PARENT.split("-")[1]
    batch.end()
    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert set(spans) == {"consume training-completed", "process TrainingCompleted"}
    process, consume = spans["process TrainingCompleted"], spans["consume training-completed"]
    assert process.parent is not None and process.parent.span_id == int(PARENT.split("-")[2], 16)
    assert [link.context.trace_id for link in consume.links] == [int(PARENT.split("-")[1], 16)]
    assert [link.context.span_id for link in process.links] == [consume.context.span_id]
    assert f"{process.context.span_id:016x}" in carried
