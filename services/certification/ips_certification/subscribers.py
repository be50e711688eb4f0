"""What certification consumes. Thin: validation is the consumer's, effects the service's."""

from ips_shared.contracts import streams, subjects
from ips_shared.contracts.events import HoursLogged, TrainingCompleted
from ips_shared.runtime import ServiceRuntime

from .service import CertificationService


def register(runtime: ServiceRuntime, service: CertificationService, hours_batch_size: int) -> None:
    runtime.consume(
        "training-completed",
        streams.ENROLLMENT,
        subjects.TRAINING_COMPLETED,
        [TrainingCompleted],
        service.register_trained,
        description="Knows a person from their training completion on",
    )
    runtime.consume(
        "hours-logged",
        streams.HOURS,
        subjects.HOURS_LOGGED_ALL,
        [HoursLogged],
        service.record_hours,
        description="The hours ledger; what breaks a rule is answered with HoursRejected",
        refuse=service.refuse_hours,
        source_must_match_subject=True,
        batch_size=hours_batch_size,
    )
