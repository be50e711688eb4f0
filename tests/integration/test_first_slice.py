"""Enrollment takes an application over HTTP; notifications records that a confirmation
is due: two services, two databases, one real nats-server between them."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AsyncExitStack

import httpx
from nats.js import JetStreamContext

from ips_enrollment.bootstrap import bootstrap as bootstrap_enrollment
from ips_enrollment.db import tables as enrollment_tables
from ips_enrollment.settings import EnrollmentSettings
from ips_notifications.bootstrap import bootstrap as bootstrap_notifications
from ips_notifications.db import tables as notification_tables
from ips_notifications.db.tables import DueNotification
from ips_notifications.settings import NotificationsSettings
from ips_shared.contracts.envelope import MSG_ID_HEADER

from .enrollment_flow import TOKENS, Enrollment
from .harness import eventually, migrate_service, rows


async def test_an_application_over_http_makes_a_confirmation_due(
    jetstream: JetStreamContext, new_database: Callable[[], str], nats_url: str
) -> None:
    enrollment_db, notifications_db = new_database(), new_database()
    migrate_service(enrollment_db, enrollment_tables)
    migrate_service(notifications_db, notification_tables)
    enrollment = bootstrap_enrollment(
        EnrollmentSettings(
            database_url=enrollment_db, nats_url=nats_url, relay_poll_seconds=0.1, api_tokens=TOKENS
        )
    ).http_app()
    notifications = bootstrap_notifications(
        NotificationsSettings(database_url=notifications_db, nats_url=nats_url)
    ).http_app()
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(enrollment.router.lifespan_context(enrollment))
        await stack.enter_async_context(notifications.router.lifespan_context(notifications))
        client = await stack.enter_async_context(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(enrollment), base_url="http://enrollment"
            )
        )
        assert (await client.get("/readyz")).json() == {
            "ready": True,
            "nats": True,
            "database": True,
        }

        flow = Enrollment(client)
        person = await flow.person()
        await flow.ps101_done(person)
        application = await flow.apply(person, transport="needs_ride")

        def confirmations() -> list[DueNotification]:
            return [
                notice
                for notice in rows(notifications_db, DueNotification)
                if notice.reason == "application_received"
            ]

        await eventually(lambda: len(confirmations()) == 1)
        [notice] = confirmations()
        assert (notice.person_id, notice.reason, notice.occasion) == (
            person,
            "application_received",
            application["application_id"],
        )

        info = await jetstream.stream_info("ENROLLMENT")
        stored = await jetstream.get_msg("ENROLLMENT", info.state.last_seq)
        envelope = json.loads(stored.data)
        assert envelope["type"] == "ApplicationSubmitted"
        assert stored.headers[MSG_ID_HEADER] == envelope["id"] == notice.caused_by
        assert envelope["partitionkey"] == person
