"""Certification's HTTP API: operators correct the ledger; a person sees their own hours."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from ips_shared.auth import Principal, Role, bearer_principal, require
from ips_shared.contracts.events import HoursCategory
from ips_shared.messaging.unit_of_work import UnitOfWork

from .domain.errors import Forbidden
from .service import CertificationService

T = TypeVar("T")


class VoidIn(BaseModel):
    reason: Annotated[str, Field(min_length=3, max_length=500)]


class HoursOut(BaseModel):
    event_id: str
    source: str
    category: HoursCategory
    hours: Decimal
    activity_date: date
    voided_at: datetime | None = None
    void_reason: str | None = None


def router(
    service: CertificationService,
    unit_of_work: Callable[[], UnitOfWork],
    tokens: dict[str, Principal],
) -> APIRouter:
    principal = bearer_principal(tokens)
    operator = Depends(require(principal, Role.OPERATOR))
    anyone = Depends(require(principal, Role.OPERATOR, Role.PERSON))
    api = APIRouter(tags=["hours"])

    def in_transaction(work: Callable[[UnitOfWork], T], commit: bool) -> T:
        with unit_of_work() as uow:
            result = work(uow)
            if commit:
                uow.commit()
            return result

    @api.post("/hours/{event_id}/void")
    async def void(event_id: str, body: VoidIn, who: Principal = operator) -> dict[str, str]:
        actor = who.name or who.role
        await asyncio.to_thread(
            in_transaction, lambda uow: service.void_entry(uow, event_id, actor, body.reason), True
        )
        return {"event_id": event_id, "voided_by": actor}

    @api.get("/people/{person_id}/hours")
    async def hours_of(person_id: str, who: Principal = anyone) -> list[HoursOut]:
        if not who.acts_for(person_id):
            raise Forbidden("A person may see only their own hours.")
        rows = await asyncio.to_thread(
            in_transaction, lambda uow: service.hours_of(uow, person_id), False
        )
        return [
            HoursOut(
                **entry.model_dump(
                    include=set(HoursOut.model_fields) - {"voided_at", "void_reason"}
                ),
                voided_at=void.voided_at if void else None,
                void_reason=void.reason if void else None,
            )
            for entry, void in rows
        ]

    return api
