"""The composition root: everything an enrollment process is made of, built once from its
settings, for the HTTP app and the command line alike."""

from __future__ import annotations

from datetime import UTC, datetime

from ips_shared.contracts import events
from ips_shared.messaging.bus import MessageBus
from ips_shared.runtime import ServiceRuntime
from ips_shared.service import Service

from . import SERVICE
from . import __doc__ as description
from .db.tables import AuditEntry, Inbox, Outbox
from .domain.intakes import IntakeCalendar
from .domain.policy import EnrollmentPolicy, read_policy
from .entrypoints import http, http_lists
from .handlers import Clock, applications, cohorts, lists, people, reports, roster, training
from .settings import EnrollmentSettings


def bootstrap(settings: EnrollmentSettings, clock: Clock = lambda: datetime.now(UTC)) -> Service:
    runtime = ServiceRuntime(
        SERVICE,
        settings,
        outbox=Outbox,
        inbox=Inbox,
        audit=AuditEntry,
        description=description or "",
    )
    runtime.publishes(
        events.PeerSupport101Completed,
        events.ApplicationSubmitted,
        events.ApplicationAccepted,
        events.ApplicationWaitlisted,
        events.ApplicationDeclined,
        events.ApplicationWithdrawn,
        events.TrainingDayAttended,
        events.TrainingCompleted,
        events.CohortScheduled,
        events.PersonContactChanged,
    )
    policy = (
        read_policy(settings.policy_file).enrollment if settings.policy_file else EnrollmentPolicy()
    )
    bus = MessageBus(
        runtime.unit_of_work,
        handlers=[
            people.register_person,
            people.get_person,
            people.change_contact,
            people.erase_contact,
            people.create_ps101_session,
            people.register_for_session,
            people.complete_ps101,
            roster.import_roster_row,
            applications.submit_application,
            applications.get_application,
            applications.applications_of,
            applications.applications_to,
            applications.accept_application,
            applications.decline_application,
            applications.withdraw_application,
            applications.set_cohort_capacity,
            cohorts.schedule_cohort,
            cohorts.get_schedule,
            training.record_attendance,
            training.ride_sharing,
            lists.list_people,
            lists.get_record,
            lists.list_applications,
            lists.list_cohorts,
            lists.cohort_roster,
            lists.assign_cohort_trainers,
            lists.list_sessions,
            lists.assign_session_trainers,
            reports.summary_report,
        ],
        dependencies={
            "clock": clock,
            "policy": policy,
            "intakes": IntakeCalendar.from_policy(policy),
        },
    )
    return Service(
        runtime,
        bus,
        [http.router(bus, settings.api_tokens), http_lists.router(bus, settings.api_tokens)],
    )
