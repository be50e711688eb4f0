"""The certification process: broker, consumers, scheduler, health and AsyncAPI."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI

from ips_shared.contracts import events
from ips_shared.runtime import ServiceRuntime
from ips_shared.settings import ServiceSettings

from . import SERVICE, subscribers
from . import __doc__ as description
from .api import router
from .db.tables import Inbox, Outbox
from .domain.policy import CertificationPolicy, read_policy
from .scheduler import Scheduler
from .service import CertificationService, Clock
from .settings import CertificationSettings


def create_app(settings: ServiceSettings, clock: Clock = lambda: datetime.now(UTC)) -> FastAPI:
    """`clock` is injectable so that tests can run years of the calendar in seconds."""
    assert isinstance(settings, CertificationSettings)
    runtime = ServiceRuntime(
        SERVICE, settings, outbox=Outbox, inbox=Inbox, description=description or ""
    )
    runtime.publishes(
        events.HoursRejected,
        events.CertificationStatusChanged,
        events.ReviewDue,
        events.ReviewCompleted,
    )
    policy = (
        read_policy(settings.policy_file).certification
        if settings.policy_file
        else CertificationPolicy()
    )
    service = CertificationService(policy, clock)
    subscribers.register(runtime, service, settings.hours_batch_size)
    scheduler = Scheduler(
        service,
        runtime.unit_of_work,
        settings.scheduler_poll_seconds,
        settings.scheduler_settle_seconds,
    )
    runtime.run_alongside(scheduler)
    app = runtime.http_app(router(service, runtime.unit_of_work, settings.api_tokens))
    app.state.certification = service
    app.state.scheduler = scheduler
    app.state.settings = settings
    return app
