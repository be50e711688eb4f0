"""Certification's HTTP API: a person's status explained; operators correct the ledger,
record reviews, suspend, withdraw and reinstate (each audited), and ask what-if; and read
their daily lists (the worklist, people, refused reports, certificates) and the report,
each paged and filtered, with `?format=csv` for every matching row."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from ips_shared.auth import ApiTokens, Principal, Role
from ips_shared.contracts import subjects
from ips_shared.contracts.events import CertificationStatus, HoursCategory, ReviewOutcome
from ips_shared.http import (
    ListFormat,
    PageNumber,
    PageSize,
    bearer_principal,
    csv_response,
    requested_page,
    require,
)
from ips_shared.listing import Paged
from ips_shared.messaging.bus import MessageBus

from ..commands import (
    CertificateListed,
    Certificates,
    Decide,
    ExplainStatus,
    Explanation,
    HoursOf,
    People,
    Period,
    PersonRow,
    RecordReview,
    RefusalRow,
    RefusalsOf,
    RefusedPage,
    RefusedReports,
    Summarize,
    Summary,
    VoidHours,
    WhatIf,
    Worklist,
    WorklistRow,
)
from ..domain.errors import InvalidSource, UnknownPerson
from ..domain.hours import HUNDREDTH
from ..domain.policy import Rules
from ..domain.requirements import Progress
from ..domain.status import Decision
from ..domain.worklist import Category, Sort

Reason = Annotated[str, Field(min_length=3, max_length=500)]


class ReasonIn(BaseModel):
    reason: Reason


class ReviewIn(BaseModel):
    reviewed_on: date
    outcome: ReviewOutcome
    reason: Reason


class HoursOut(BaseModel):
    outcome: Literal["accepted"] = "accepted"
    event_id: str
    source: str
    category: HoursCategory
    hours: Decimal
    activity_date: date
    voided_at: datetime | None = None
    void_reason: str | None = None


class RefusedOut(BaseModel):
    """A refused report of the person's (`?refused=true`): never counted."""

    outcome: Literal["refused"] = "refused"
    event_id: str
    source: str = Field(description="The source's subject token (`smhc`, `trainer-t-1`)")
    received_at: datetime
    reason_code: str
    reason: str
    category: str | None
    hours: Decimal | None
    activity_date: date | None


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
    async def hours_of(
        person_id: str, refused: bool = False, who: Principal = anyone
    ) -> list[HoursOut | RefusedOut]:
        """The person's ledger entries in date order; with `refused=true`, their refused
        reports too (`outcome: refused`, with the reason), after them, oldest first."""
        own(who, person_id)
        accepted: list[HoursOut | RefusedOut] = [
            HoursOut(
                **entry.model_dump(
                    include=set(HoursOut.model_fields) - {"voided_at", "void_reason", "outcome"}
                ),
                voided_at=void.voided_at if void else None,
                void_reason=void.reason if void else None,
            )
            for entry, void in await bus.dispatch(HoursOf(person_id))
        ]
        if not refused:
            return accepted
        return accepted + [
            RefusedOut.model_validate(row.model_dump(exclude={"person_id"}))
            for row in await bus.dispatch(RefusalsOf(person_id))
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

    # -- operators' lists and the report -------------------------------------------------

    @api.get("/worklist", response_model=Paged[WorklistRow])
    async def worklist(
        category: Annotated[list[Category] | None, Query()] = None,
        cohort: CohortFilter = None,
        region: RegionFilter = None,
        sort: Sort = Sort.DAYS_LEFT,
        page: PageNumber = 1,
        page_size: PageSize = 50,
        format: ListFormat = "json",
        _who: Principal = operator,
    ) -> Any:
        """People who need outreach, as of today: `at_risk` (what is missing, days left),
        `lapsed` (since when, what would reinstate them), `review_due` (within the review
        notice), `first_year_unmet` (within the at-risk lead of the first year's end).
        `category` may be repeated (default: all). Sorted by days left, fewest first
        (`sort=-days_left`: most first; the lapsed, without days left, last), or
        `sort=person_id`. `region`: as the person's training completion named it, whatever
        the case (those it did not name are left out)."""
        found = await bus.dispatch(
            Worklist(
                frozenset(category or Category),
                cohort,
                region,
                sort,
                requested_page(format, page, page_size),
            )
        )
        if format == "csv":
            return csv_response(
                (
                    {
                        **row.model_dump(exclude={"missing"}),
                        "missing": "; ".join(
                            f"{m.requirement} {m.missing.normalize():f} {m.unit}"
                            for m in row.missing
                        ),
                    }
                    for row in found.items
                ),
                WORKLIST_COLUMNS,
                "worklist.csv",
            )
        return found

    @api.get("/people", response_model=Paged[PersonRow])
    async def people(
        status: CertificationStatus | None = None,
        cohort: CohortFilter = None,
        region: RegionFilter = None,
        page: PageNumber = 1,
        page_size: PageSize = 50,
        format: ListFormat = "json",
        _who: Principal = operator,
    ) -> Any:
        """Everyone certification knows, by person id, with their status and since when.
        `region`: as the person's training completion named it, whatever the case."""
        found = await bus.dispatch(
            People(status, cohort, region, requested_page(format, page, page_size))
        )
        if format == "csv":
            return _csv(found.items, PersonRow, "people.csv")
        return found

    @api.get("/hours/refused", response_model=RefusedPage)
    async def refused_reports(
        source: Annotated[str | None, Query(max_length=140, pattern=r"^[a-z0-9_/-]+$")] = None,
        reason: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_]+$")] = None,
        from_: Annotated[date | None, Query(alias="from")] = None,
        to: date | None = None,
        page: PageNumber = 1,
        page_size: PageSize = 50,
        format: ListFormat = "json",
        _who: Principal = operator,
    ) -> Any:
        """Refused reports received from `from` to `to` (days in the program's time zone),
        newest first, with every matching one counted per source and reason. `source`:
        `partner/smhc` or its subject token `smhc`; `reason`: a reason code."""
        found = await bus.dispatch(
            RefusedReports(
                _source_token(source),
                reason,
                Period(from_, to),
                requested_page(format, page, page_size),
            )
        )
        if format == "csv":
            return _csv(found.items, RefusalRow, "refused-hours.csv")
        return found

    @api.get("/certificates", response_model=Paged[CertificateListed])
    async def certificates(
        number: Annotated[
            str | None, Query(max_length=32, pattern=r"^[A-Za-z0-9-]+$", description="Prefix")
        ] = None,
        status: CertificationStatus | None = None,
        region: RegionFilter = None,
        issued_from: date | None = None,
        issued_to: date | None = None,
        page: PageNumber = 1,
        page_size: PageSize = 50,
        format: ListFormat = "json",
        _who: Principal = operator,
    ) -> Any:
        """Certificates by number; `number` is a prefix (`ME-2027`), the dates bound the day
        each was issued (first certification, or as imported); `region`: the holder's, as
        their training completion named it, whatever the case."""
        found = await bus.dispatch(
            Certificates(
                number.upper() if number else None,
                status,
                region,
                Period(issued_from, issued_to),
                requested_page(format, page, page_size),
            )
        )
        if format == "csv":
            return _csv(found.items, CertificateListed, "certificates.csv")
        return found

    @api.get("/reports/summary", response_model=Summary)
    async def summary(
        from_: Annotated[date, Query(alias="from")],
        to: date,
        format: ListFormat = "json",
        _who: Principal = operator,
    ) -> Any:
        """Certification's part of the statewide report for the period (days included):
        people by status (now), and by region and status (now), certificates granted, lapses
        and reinstatements, accepted hours by category and month, reviews held. `format=csv`:
        one line per number (`region` is filled on the `people_by_region` lines alone; empty
        on one of those, the people whose region is not known)."""
        found = await bus.dispatch(Summarize(from_, to))
        if format == "csv":
            return csv_response(summary_lines(found), SUMMARY_COLUMNS, "summary.csv")
        return found

    return api


CohortFilter = Annotated[str | None, Query(max_length=16, pattern=r"^[a-z0-9-]+$")]
RegionFilter = Annotated[
    str | None, Query(min_length=1, max_length=100, description="Region or county")
]

WORKLIST_COLUMNS = (
    "person_id",
    "cohort_id",
    "region",
    "category",
    "status",
    "days_left",
    "due_on",
    "since",
    "review_due_on",
    "missing",
)
SUMMARY_COLUMNS = ("measure", "key", "month", "value", "region")


def _csv(items: list[Any], model: type[BaseModel], filename: str) -> Response:
    return csv_response((item.model_dump() for item in items), tuple(model.model_fields), filename)


def _source_token(source: str | None) -> str | None:
    """`partner/smhc` or `smhc` (a subject token, as `trainer-t-1`): the token refusals
    are kept under."""
    if source is None or "/" not in source:
        return source
    try:
        return subjects.source_token(source)
    except subjects.InvalidSource:
        raise InvalidSource() from None


def summary_lines(found: Summary) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = [
        {"measure": "people_by_status", "key": key, "value": count}
        for key, count in sorted(found.people_by_status.items())
    ]
    lines += [
        {"measure": "people_by_region", "key": key, "value": count, "region": counts.region}
        for counts in found.people_by_region
        for key, count in sorted(counts.people_by_status.items())
    ]
    lines += [
        {"measure": "certificates_granted", "value": found.certificates_granted},
        {"measure": "lapsed", "value": found.lapsed},
        {"measure": "reinstated", "value": found.reinstated},
    ]
    lines += [
        {"measure": "hours", "key": h.category.value, "month": h.month, "value": h.hours}
        for h in found.hours
    ]
    lines += [
        {"measure": "reviews_held", "key": outcome, "value": count}
        for outcome, count in sorted(found.reviews_held.items())
    ]
    return lines
