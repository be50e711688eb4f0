"""What the directory consumes: certification's status changes, which keep the read model
of certificates (and so which listings appear)."""

from ips_shared.contracts import streams
from ips_shared.contracts.events import CertificationStatusChanged
from ips_shared.messaging.bus import MessageBus
from ips_shared.runtime import ServiceRuntime

from ..handlers import status


def register(runtime: ServiceRuntime, bus: MessageBus) -> None:
    runtime.consume(
        status.CONSUMER,
        streams.stream_for_subject(CertificationStatusChanged.subject),
        CertificationStatusChanged.subject,
        [CertificationStatusChanged],
        bus.bind(status.apply_status_changes),
        description="Each person's certificate status and dates: verification, and whether"
        " their opted-in listing appears",
    )
