"""The composition root: everything a certification process is made of, built once from
its settings, for the HTTP app, the consumers, the scheduler and the command line alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ips_shared.contracts import events
from ips_shared.messaging.bus import MessageBus
from ips_shared.runtime import ServiceRuntime
from ips_shared.service import Service

from . import SERVICE
from . import __doc__ as description
from .db.tables import AuditEntry, Inbox, Outbox
from .domain.calendar import Calendar, Clock
from .domain.policy import CertificationPolicy, read_policy
from .entrypoints import consumers, http
from .entrypoints.scheduler import Scheduler
from .handlers import decisions, imports, ledger, lists, queries, standing
from .settings import CertificationSettings

HANDLERS = (
    ledger.void_hours,
    decisions.record_review,
    decisions.decide,
    imports.import_certificate,
    standing.advance_due_standings,
    standing.bring_up_to_date,
    standing.postpone_check,
    queries.explain_status,
    queries.hours_of,
    queries.what_if,
    lists.worklist,
    lists.people,
    lists.refused_reports,
    lists.refusals_of,
    lists.certificates,
    lists.summarize,
)


@dataclass
class Certification(Service):
    scheduler: Scheduler = field(kw_only=True)


def system_clock() -> datetime:
    return datetime.now(UTC)


def bootstrap(settings: CertificationSettings, clock: Clock = system_clock) -> Certification:
    """`clock` is injectable so that tests can run years of the calendar in seconds."""
    runtime = ServiceRuntime(
        SERVICE,
        settings,
        outbox=Outbox,
        inbox=Inbox,
        audit=AuditEntry,
        description=description or "",
    )
    runtime.publishes(
        events.HoursRejected,
        events.CertificationStatusChanged,
        events.ReviewDue,
        events.ReviewCompleted,
        events.HoursVoided,
    )
    policy = (
        read_policy(settings.policy_file).certification
        if settings.policy_file
        else CertificationPolicy()
    )
    # The ledger's handlers wake the scheduler, and the scheduler drives use cases through
    # the bus: see `Scheduler` for why it is built first and given the bus after.
    scheduler = Scheduler(settings.scheduler_poll_seconds, settings.scheduler_settle_seconds)
    bus = MessageBus(
        runtime.unit_of_work,
        handlers=HANDLERS,
        dependencies={
            "calendar": Calendar(clock, ZoneInfo(policy.timezone)),
            "policy": policy,
            "wake_scheduler": scheduler.wake,
        },
    )
    scheduler.drive(bus)
    consumers.register(runtime, bus, settings.hours_batch_size)
    runtime.run_alongside(scheduler)
    return Certification(runtime, bus, [http.router(bus, settings.api_tokens)], scheduler=scheduler)
