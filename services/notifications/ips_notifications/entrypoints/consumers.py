"""What notifications consumes, and which handler applies it.

The contact book from CONTACTS; and, for every event that may notify someone (the rules
table, `domain.rules`), a durable consumer on that event's own subject, all applied by the
same handler (which also keeps who is in which cohort, from the applications accepted and
withdrawn); and each cohort's schedule, for the training reminders. The other events that
never notify (`domain.rules.SILENT`) are not consumed."""

from ips_shared.contracts import streams, subjects
from ips_shared.contracts.envelope import EventPayload
from ips_shared.contracts.events import (
    ApplicationAccepted,
    ApplicationDeclined,
    ApplicationSubmitted,
    ApplicationWaitlisted,
    ApplicationWithdrawn,
    CertificationStatusChanged,
    CohortScheduled,
    HoursVoided,
    PeerSupport101Completed,
    PersonContactChanged,
    ReviewDue,
    TrainingCompleted,
)
from ips_shared.messaging.bus import MessageBus
from ips_shared.runtime import ServiceRuntime

from ..domain.rules import notifying_events
from ..handlers import contacts, notices, reminders

# Durable names are per stream: certification's `training-completed` is on ENROLLMENT too.
DURABLES: dict[type[EventPayload], str] = {
    PeerSupport101Completed: "ps101-completed",
    ApplicationSubmitted: "application-submitted",
    ApplicationAccepted: "application-accepted",
    ApplicationWaitlisted: "application-waitlisted",
    ApplicationDeclined: "application-declined",
    ApplicationWithdrawn: "application-withdrawn",
    TrainingCompleted: "training-completed-notice",
    CertificationStatusChanged: "status-changed",
    ReviewDue: "review-due",
    HoursVoided: "hours-voided",
}


def register(runtime: ServiceRuntime, bus: MessageBus) -> None:
    runtime.consume(
        "contacts",
        streams.CONTACTS,
        subjects.PERSON_CONTACT_ALL,
        [PersonContactChanged],
        bus.bind(contacts.apply_contact_changes),
        description="The contact book: each person's latest details (erased ones forgotten)",
    )
    runtime.consume(
        "cohort-scheduled",
        streams.stream_for_subject(CohortScheduled.subject),
        CohortScheduled.subject,
        [CohortScheduled],
        bus.bind(reminders.apply_schedules),
        description="Each cohort's latest schedule: when the training reminders fall due",
    )
    record = bus.bind(notices.record_due_notifications)
    for event in notifying_events():
        runtime.consume(
            DURABLES[event],
            streams.stream_for_subject(event.subject),
            event.subject,
            [event],
            record,
            description=f"Records the notification a {event.event_type} makes due",
        )
