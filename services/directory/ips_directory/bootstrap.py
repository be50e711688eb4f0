"""The composition root: everything a directory process is made of, built once from its
settings. Listings and verification arrive with their own issue."""

from __future__ import annotations

from ips_shared.messaging.bus import MessageBus
from ips_shared.runtime import ServiceRuntime
from ips_shared.service import Service

from . import SERVICE
from . import __doc__ as description
from .db.tables import Inbox, Outbox
from .settings import DirectorySettings


def bootstrap(settings: DirectorySettings) -> Service:
    runtime = ServiceRuntime(
        SERVICE, settings, outbox=Outbox, inbox=Inbox, description=description or ""
    )
    return Service(runtime, MessageBus(runtime.unit_of_work, handlers=[], dependencies={}))
