"""Enrollment's part of the statewide report, computed from enrollment's own data."""

from __future__ import annotations

from ips_shared.messaging.unit_of_work import UnitOfWork

from ..commands import SummaryReport
from ..db import listings
from ..domain.intakes import IntakeCalendar, intake_order
from ..domain.listings import Summary


def summary_report(message: SummaryReport, uow: UnitOfWork, *, intakes: IntakeCalendar) -> Summary:
    """Applications received in the period per intake (by their status today), trainings
    completed in the period, and people registered and trained in it by region. Each
    number is what the matching list answers as its `total` (see the routes)."""
    period = message.period
    window = period.window(intakes.timezone)
    received = listings.applications_received(uow.session, window)
    return Summary(
        first=period.first,
        last=period.last,
        applications=tuple(sorted(received, key=lambda counts: intake_order(counts.intake))),
        trainings_completed=listings.trainings_completed(uow.session, period.first, period.last),
        people_by_region=tuple(
            listings.people_by_region(uow.session, window, period.first, period.last)
        ),
    )
