"""The certification process: broker, consumers, health and AsyncAPI."""

from __future__ import annotations

from fastapi import FastAPI

from ips_shared.contracts import events
from ips_shared.runtime import ServiceRuntime
from ips_shared.settings import ServiceSettings

from . import SERVICE, subscribers
from . import __doc__ as description
from .api import router
from .db.tables import Inbox, Outbox
from .domain.policy import CertificationPolicy, read_policy
from .service import CertificationService
from .settings import CertificationSettings


def create_app(settings: ServiceSettings) -> FastAPI:
    assert isinstance(settings, CertificationSettings)
    runtime = ServiceRuntime(
        SERVICE, settings, outbox=Outbox, inbox=Inbox, description=description or ""
    )
    runtime.publishes(events.HoursRejected)
    policy = (
        read_policy(settings.policy_file).certification
        if settings.policy_file
        else CertificationPolicy()
    )
    service = CertificationService(policy)
    subscribers.register(runtime, service)
    app = runtime.http_app(router(service, runtime.unit_of_work, settings.api_tokens))
    app.state.certification = service
    return app
