"""What notifications consumes. Thin: validation is the consumer's, effects the service's."""

from ips_shared.contracts import streams, subjects
from ips_shared.contracts.events import ApplicationSubmitted
from ips_shared.runtime import ServiceRuntime

from .service import record_application_confirmations


def register(runtime: ServiceRuntime) -> None:
    runtime.consume(
        "application-submitted",
        streams.ENROLLMENT,
        subjects.APPLICATION_SUBMITTED,
        [ApplicationSubmitted],
        record_application_confirmations,
        description="Records that an application-received confirmation is due",
    )
