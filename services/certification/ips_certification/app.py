"""The certification process: broker, health and AsyncAPI. The hours ledger, policy and
status rules arrive with their own issue; the process already owns its streams."""

from __future__ import annotations

from fastapi import FastAPI

from ips_shared.runtime import ServiceRuntime
from ips_shared.settings import ServiceSettings

from . import SERVICE
from . import __doc__ as description
from .db.tables import Inbox, Outbox


def create_app(settings: ServiceSettings) -> FastAPI:
    runtime = ServiceRuntime(
        SERVICE, settings, outbox=Outbox, inbox=Inbox, description=description or ""
    )
    return runtime.http_app()
