"""The composition root: everything a notifications process is made of, built once from
its settings, for the HTTP app, the consumers, the delivery worker, the reminder scheduler and
the command line."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from ips_shared.contracts import events
from ips_shared.contracts.events import Channel
from ips_shared.messaging.bus import MessageBus
from ips_shared.runtime import ServiceRuntime
from ips_shared.service import Service

from . import SERVICE
from . import __doc__ as description
from .channels import ChannelAdapter
from .channels.email import EmailChannel
from .channels.sms import SmsChannel
from .db.tables import AuditEntry, Inbox, Outbox
from .domain.deadlines import DeadlineCalendar
from .domain.delivery import DeliveryPolicy, QuietHours
from .domain.policy import DEFAULT_POLICY, read_policy
from .entrypoints import consumers, http
from .entrypoints.delivery import Clock, DeliveryWorker
from .entrypoints.reminders import ReminderScheduler
from .handlers import delivery, preferences, reminders
from .settings import NotificationsSettings

HANDLERS = (
    delivery.release_claims,
    delivery.claim_due,
    delivery.record_outcome,
    delivery.next_due,
    delivery.list_notifications,
    preferences.get_preferences,
    preferences.set_preferences,
    reminders.schedule_reminders,
)


@dataclass
class Notifications(Service):
    delivery: DeliveryWorker = field(kw_only=True)
    reminders: ReminderScheduler = field(kw_only=True)


def system_clock() -> datetime:
    return datetime.now(UTC)


def channels_of(settings: NotificationsSettings) -> dict[Channel, ChannelAdapter]:
    adapters: dict[Channel, ChannelAdapter] = {
        Channel.EMAIL: EmailChannel(
            settings.smtp_host,
            settings.smtp_port,
            settings.mail_from,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            starttls=settings.smtp_starttls,
            timeout_seconds=settings.smtp_timeout_seconds,
        )
    }
    if settings.sms_url:
        adapters[Channel.SMS] = SmsChannel(settings.sms_url, settings.sms_timeout_seconds)
    return adapters


def bootstrap(
    settings: NotificationsSettings,
    clock: Clock = system_clock,
    channels: Mapping[Channel, ChannelAdapter] | None = None,
) -> Notifications:
    """`clock` is injectable (quiet hours, retries, expiry); so are the channel adapters."""
    runtime = ServiceRuntime(
        SERVICE,
        settings,
        outbox=Outbox,
        inbox=Inbox,
        audit=AuditEntry,
        description=description or "",
    )
    runtime.publishes(events.NotificationDelivered, events.NotificationFailed)
    adapters = dict(channels) if channels is not None else channels_of(settings)
    policy = DeliveryPolicy(
        quiet_hours=QuietHours(
            ZoneInfo(settings.timezone), settings.quiet_hours_start, settings.quiet_hours_end
        ),
        retry_seconds=settings.delivery_retry_seconds,
        max_attempts=settings.delivery_max_attempts,
        expire_after=timedelta(hours=settings.delivery_expire_after_hours),
        sms_available=Channel.SMS in adapters,
        lease=timedelta(seconds=settings.delivery_lease_seconds),
    )
    # The consumers' handlers wake the worker, and the worker drives the delivery use cases
    # through the bus: it is built first and given the bus after (as certification's
    # scheduler is).
    worker = DeliveryWorker(
        poll_seconds=settings.delivery_poll_seconds,
        batch_size=settings.delivery_batch_size,
        clock=clock,
        channels=adapters,
        portal_url=settings.portal_url,
        help_contact=settings.help_contact,
        metrics=runtime.metrics,
    )
    scheduler = ReminderScheduler(poll_seconds=settings.reminder_poll_seconds, clock=clock)
    bus = MessageBus(
        runtime.unit_of_work,
        handlers=HANDLERS,
        dependencies={
            "delivery": policy,
            "wake_delivery": worker.wake,
            "wake_reminders": scheduler.wake,
            "zone": ZoneInfo(settings.timezone),
            "deadlines": DeadlineCalendar.from_policy(
                read_policy(settings.policy_file) if settings.policy_file else DEFAULT_POLICY
            ),
        },
    )
    worker.drive(bus)
    scheduler.drive(bus)
    consumers.register(runtime, bus)
    runtime.run_alongside(worker)
    runtime.run_alongside(scheduler)
    return Notifications(
        runtime,
        bus,
        [http.router(bus, settings.api_tokens, clock)],
        delivery=worker,
        reminders=scheduler,
    )
