"""Certification's HTTP API: a person's status explained; operators correct the ledger,
record reviews, suspend, withdraw and reinstate (each audited), and ask what-if."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from ips_shared.auth import ApiTokens, Principal, Role
from ips_shared.contracts.events import CertificationStatus, HoursCategory, ReviewOutcome
from ips_shared.http import bearer_principal, require
from ips_shared.messaging.bus import MessageBus

from ..commands import (
    Decide,
    ExplainStatus,
    Explanation,
    HoursOf,
    RecordReview,
    VoidHours,
    WhatIf,
)
from ..domain.errors import UnknownPerson
from ..domain.hours import HUNDREDTH
from ..domain.policy import Rules
from ..domain.requirements import Progress
from ..domain.status import Decision

Reason = Annotated[str, Field(min_length=3, max_length=500)]


class ReasonIn(BaseModel):
    reason: Reason


class ReviewIn(BaseModel):
    reviewed_on: date
    outcome: ReviewOutcome
    reason: Reason


class HoursOut(BaseModel):
    event_id: str
    source: str
    category: HoursCategory
    hours: Decimal
    activity_date: date
    voided_at: datetime | None = None
    void_reason: str | None = None


class RequirementOut(BaseModel):
    name: str
    counted: Decimal
    required: Decimal
    unit: Literal["hours", "requirements"]
    met: bool
    window_first_day: date
    window_last_day: date
    days_left: int
    summary: str = Field(examples=["skill_building: 8.5 of 12 hours, 43 days left"])
    parts: list[RequirementOut] = []


class ChangeOut(BaseModel):
    old_status: CertificationStatus | None
    new_status: CertificationStatus
    reason_code: str
    effective_date: date
    policy_version: str
    caused_by: list[str]
    recorded_at: datetime


class StatusOut(BaseModel):
    person_id: str
    status: CertificationStatus | None
    reason_code: str
    certificate_number: str | None
    policy_version: str
    trained_on: date
    certified_since: date | None
    period: Literal["first_year", "certification_year"]
    period_first_day: date
    period_last_day: date
    next_review_due: date | None
    requirements: list[RequirementOut]
    history: list[ChangeOut]


class StatusDifference(BaseModel):
    person_id: str
    current: CertificationStatus
    would_be: CertificationStatus
    reason_code: str


class WhatIfOut(BaseModel):
    on: date
    changes: list[StatusDifference]


def requirement_out(progress: Progress, today: date) -> RequirementOut:
    days_left = max(0, (progress.window_end - today).days)
    unit = "hours" if progress.unit == "hours" else "of the listed requirements"
    exact = HUNDREDTH if progress.unit == "hours" else Decimal(1)
    return RequirementOut(
        name=progress.name,
        counted=progress.counted.quantize(exact),
        required=progress.required.quantize(exact),
        unit=progress.unit,
        met=progress.met,
        window_first_day=progress.window_start,
        window_last_day=progress.window_end - timedelta(days=1),
        days_left=days_left,
        summary=f"{progress.name}: {progress.counted.normalize():f} of "
        f"{progress.required.normalize():f} {unit}, {days_left} days left",
        parts=[requirement_out(part, today) for part in progress.parts],
    )


def status_out(explanation: Explanation) -> StatusOut:
    found = explanation.assessment
    return StatusOut(
        person_id=explanation.person_id,
        status=explanation.status,
        reason_code=found.reason,
        certificate_number=explanation.certificate_number,
        policy_version=found.rules.version,
        trained_on=explanation.trained_on,
        certified_since=found.certified_on,
        period="first_year" if found.certified_on is None else "certification_year",
        period_first_day=found.period_start,
        period_last_day=found.period_end - timedelta(days=1),
        next_review_due=found.next_review_due,
        requirements=[requirement_out(progress, found.on) for progress in found.progress],
        history=[
            ChangeOut(
                old_status=change.old_status,
                new_status=change.new_status,
                reason_code=change.reason_code,
                effective_date=change.effective_on,
                policy_version=change.policy_version,
                caused_by=change.caused_by,
                recorded_at=change.recorded_at,
            )
            for change in explanation.history
        ],
    )


def router(bus: MessageBus, tokens: ApiTokens) -> APIRouter:
    principal = bearer_principal(tokens)
    operator = Depends(require(principal, Role.OPERATOR))
    anyone = Depends(require(principal, Role.OPERATOR, Role.PERSON))
    api = APIRouter(tags=["certification"])

    def own(who: Principal, person_id: str) -> None:
        # Another person's record is answered exactly as one certification does not know.
        if not who.acts_for(person_id):
            raise UnknownPerson()

    def actor(who: Principal) -> str:
        return who.name or who.role

    @api.get("/people/{person_id}/status")
    async def status(person_id: str, who: Principal = anyone) -> StatusOut:
        own(who, person_id)
        return status_out(await bus.dispatch(ExplainStatus(person_id)))

    @api.get("/people/{person_id}/hours")
    async def hours_of(person_id: str, who: Principal = anyone) -> list[HoursOut]:
        own(who, person_id)
        return [
            HoursOut(
                **entry.model_dump(
                    include=set(HoursOut.model_fields) - {"voided_at", "void_reason"}
                ),
                voided_at=void.voided_at if void else None,
                void_reason=void.reason if void else None,
            )
            for entry, void in await bus.dispatch(HoursOf(person_id))
        ]

    @api.post("/hours/{event_id}/void")
    async def void(
        event_id: str, body: ReasonIn, source: str | None = None, who: Principal = operator
    ) -> dict[str, str]:
        """`source` names the entry's source when more than one source used the event id
        (else 409 `ambiguous_event_id`)."""
        voided_source = await bus.dispatch(VoidHours(event_id, source, actor(who), body.reason))
        return {"event_id": event_id, "source": voided_source, "voided_by": actor(who)}

    @api.post("/people/{person_id}/reviews", status_code=201)
    async def review(person_id: str, body: ReviewIn, who: Principal = operator) -> dict[str, str]:
        event_id = await bus.dispatch(
            RecordReview(person_id, body.reviewed_on, body.outcome, actor(who), body.reason)
        )
        return {"event_id": event_id, "recorded_by": actor(who)}

    def decision_endpoint(decision: Decision) -> None:
        @api.post(f"/people/{{person_id}}/{decision.value}", name=decision.value)
        async def decide(
            person_id: str, body: ReasonIn, who: Principal = operator
        ) -> dict[str, str]:
            status = await bus.dispatch(Decide(person_id, decision, actor(who), body.reason))
            return {"person_id": person_id, "status": status, "decided_by": actor(who)}

    for decision in Decision:
        decision_endpoint(decision)

    @api.post("/what-if")
    async def what_if(draft: Rules, _who: Principal = operator) -> WhatIfOut:
        """Whose status would change under this draft rule version, and to what (read-only)."""
        on, differences = await bus.dispatch(WhatIf(draft))
        return WhatIfOut(
            on=on,
            changes=[StatusDifference.model_validate(d, from_attributes=True) for d in differences],
        )

    return api
