"""Enrollment takes an application over HTTP; notifications records that a confirmation
is due: two services, two databases, one real nats-server between them."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
from nats.js import JetStreamContext
from sqlmodel import Session, create_engine, select

from ips_enrollment.app import create_app as create_enrollment
from ips_enrollment.db import tables as enrollment_tables
from ips_enrollment.settings import EnrollmentSettings
from ips_notifications.app import create_app as create_notifications
from ips_notifications.db import tables as notification_tables
from ips_notifications.db.tables import DueNotification
from ips_notifications.settings import NotificationsSettings
from ips_shared.contracts.envelope import MSG_ID_HEADER
from ips_shared.db import migrate

from .enrollment_flow import TOKENS, Enrollment
from .harness import eventually


def migrations_of(tables_module: object) -> Path:
    return Path(tables_module.__file__).parent / "migrations"  # type: ignore[attr-defined]


def due_notices(database_url: str) -> list[DueNotification]:
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(DueNotification)))
    finally:
        engine.dispose()


async def test_an_application_over_http_makes_a_confirmation_due(
    jetstream: JetStreamContext, new_database: Callable[[], str], nats_url: str
) -> None:
    enrollment_db, notifications_db = new_database(), new_database()
    migrate(enrollment_db, migrations_of(enrollment_tables))
    migrate(notifications_db, migrations_of(notification_tables))
    enrollment = create_enrollment(
        EnrollmentSettings(
            database_url=enrollment_db, nats_url=nats_url, relay_poll_seconds=0.1, api_tokens=TOKENS
        )
    )
    notifications = create_notifications(
        NotificationsSettings(database_url=notifications_db, nats_url=nats_url)
    )
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

        await eventually(lambda: len(due_notices(notifications_db)) == 1)
        [notice] = due_notices(notifications_db)
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
