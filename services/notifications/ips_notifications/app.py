"""The notifications process: broker, consumers, health and AsyncAPI."""

from __future__ import annotations

from fastapi import FastAPI

from ips_shared.runtime import ServiceRuntime
from ips_shared.settings import ServiceSettings

from . import SERVICE, subscribers
from . import __doc__ as description
from .db.tables import Inbox, Outbox


def create_app(settings: ServiceSettings) -> FastAPI:
    runtime = ServiceRuntime(
        SERVICE, settings, outbox=Outbox, inbox=Inbox, description=description or ""
    )
    subscribers.register(runtime)
    return runtime.http_app()
