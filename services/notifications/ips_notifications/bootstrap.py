"""The composition root: everything a notifications process is made of, built once from
its settings, for the HTTP app, the consumers and the command line alike."""

from __future__ import annotations

from ips_shared.messaging.bus import MessageBus
from ips_shared.runtime import ServiceRuntime
from ips_shared.service import Service

from . import SERVICE
from . import __doc__ as description
from .db.tables import Inbox, Outbox
from .entrypoints import consumers
from .settings import NotificationsSettings


def bootstrap(settings: NotificationsSettings) -> Service:
    runtime = ServiceRuntime(
        SERVICE, settings, outbox=Outbox, inbox=Inbox, description=description or ""
    )
    bus = MessageBus(runtime.unit_of_work, handlers=[], dependencies={})
    consumers.register(runtime, bus)
    return Service(runtime, bus)
