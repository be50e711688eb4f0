"""The enrollment process: broker, HTTP API, health and AsyncAPI."""

from __future__ import annotations

from fastapi import FastAPI

from ips_shared.contracts import events
from ips_shared.runtime import ServiceRuntime
from ips_shared.settings import ServiceSettings

from . import SERVICE
from . import __doc__ as description
from .api import router
from .db.tables import Inbox, Outbox
from .domain.policy import EnrollmentPolicy, read_policy
from .service import EnrollmentService
from .settings import EnrollmentSettings


def create_app(settings: ServiceSettings) -> FastAPI:
    assert isinstance(settings, EnrollmentSettings)
    runtime = ServiceRuntime(
        SERVICE, settings, outbox=Outbox, inbox=Inbox, description=description or ""
    )
    runtime.publishes(
        events.PeerSupport101Completed,
        events.ApplicationSubmitted,
        events.ApplicationAccepted,
        events.ApplicationWaitlisted,
        events.ApplicationDeclined,
        events.ApplicationWithdrawn,
        events.TrainingDayAttended,
        events.TrainingCompleted,
    )
    policy = (
        read_policy(settings.policy_file).enrollment if settings.policy_file else EnrollmentPolicy()
    )
    service = EnrollmentService(runtime.unit_of_work, policy)
    app = runtime.http_app(router(service, settings.api_tokens))
    app.state.enrollment = service
    return app
