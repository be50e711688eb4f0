"""The composition root: everything a directory process is made of, built once from its
settings, for the HTTP app, the consumer and the command line (`rebuild` too)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from ips_shared.messaging.bus import MessageBus
from ips_shared.runtime import ServiceRuntime
from ips_shared.service import Service

from . import SERVICE
from . import __doc__ as description
from .db.tables import AuditEntry, Inbox, Outbox
from .entrypoints import consumers, http, web
from .handlers import centers, profiles, search, verification
from .settings import DirectorySettings

Clock = Callable[[], datetime]

HANDLERS = (
    verification.verify_certificate,
    profiles.get_profile,
    profiles.set_profile,
    search.search_specialists,
    search.search_centers,
    search.search_groups,
    search.get_center,
    search.list_group_types,
    centers.save_center,
    centers.delete_center,
    centers.save_group,
    centers.delete_group,
    centers.save_group_type,
    centers.delete_group_type,
)


def system_clock() -> datetime:
    return datetime.now(UTC)


def bootstrap(settings: DirectorySettings, clock: Clock = system_clock) -> Service:
    """`clock` is injectable: "valid through" depends on the day asked."""
    runtime = ServiceRuntime(
        SERVICE,
        settings,
        outbox=Outbox,
        inbox=Inbox,
        audit=AuditEntry,
        description=description or "",
    )
    zone = ZoneInfo(settings.timezone)

    def today() -> date:
        return clock().astimezone(zone).date()

    bus = MessageBus(runtime.unit_of_work, handlers=HANDLERS, dependencies={"today": today})
    consumers.register(runtime, bus)
    return Service(
        runtime,
        bus,
        [
            http.public_router(bus),
            http.router(bus, settings.api_tokens, clock),
            web.router(bus, today),
        ],
    )
