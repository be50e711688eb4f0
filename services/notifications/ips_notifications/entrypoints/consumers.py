"""What notifications consumes, and which handler applies it."""

from ips_shared.contracts import streams, subjects
from ips_shared.contracts.events import ApplicationSubmitted
from ips_shared.messaging.bus import MessageBus
from ips_shared.runtime import ServiceRuntime

from ..handlers import applications


def register(runtime: ServiceRuntime, bus: MessageBus) -> None:
    runtime.consume(
        "application-submitted",
        streams.ENROLLMENT,
        subjects.APPLICATION_SUBMITTED,
        [ApplicationSubmitted],
        bus.bind(applications.record_application_confirmations),
        description="Records that an application-received confirmation is due",
    )
