"""The enrollment process: broker, HTTP API, health and AsyncAPI."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import FastAPI

from ips_shared.contracts import events
from ips_shared.runtime import ServiceRuntime
from ips_shared.settings import ServiceSettings

from . import SERVICE
from . import __doc__ as description
from .api import install_error_handlers, router
from .db.tables import Inbox, Outbox
from .domain.intakes import IntakeCalendar
from .service import EnrollmentService
from .settings import EnrollmentSettings


def create_app(settings: ServiceSettings) -> FastAPI:
    assert isinstance(settings, EnrollmentSettings)
    runtime = ServiceRuntime(
        SERVICE, settings, outbox=Outbox, inbox=Inbox, description=description or ""
    )
    runtime.publishes(events.ApplicationSubmitted)
    calendar = IntakeCalendar(ZoneInfo(settings.program_timezone))
    service = EnrollmentService(runtime.unit_of_work, calendar)
    app = runtime.http_app(router(service))
    install_error_handlers(app)
    return app
