"""What certification consumes, and which handler applies it. Thin: validation is the
consumer's, effects the handlers'."""

from ips_shared.contracts import streams, subjects
from ips_shared.contracts.events import HoursLogged, TrainingCompleted
from ips_shared.messaging.bus import MessageBus
from ips_shared.runtime import ServiceRuntime

from ..handlers import ledger, standing


def register(runtime: ServiceRuntime, bus: MessageBus, hours_batch_size: int) -> None:
    runtime.consume(
        "training-completed",
        streams.ENROLLMENT,
        subjects.TRAINING_COMPLETED,
        [TrainingCompleted],
        bus.bind(standing.register_trained),
        description="Knows a person from their training completion on",
    )
    runtime.consume(
        "hours-logged",
        streams.HOURS,
        subjects.HOURS_LOGGED_ALL,
        [HoursLogged],
        bus.bind(ledger.record_hours),
        description="The hours ledger; what breaks a rule is answered with HoursRejected",
        answer_bad=bus.bind(ledger.answer_bad_report),
        source_must_match_subject=True,
        batch_size=hours_batch_size,
    )
