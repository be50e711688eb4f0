"""Notifications' HTTP API: operators list what was sent (who, when, why, by which channel,
how it went, in how many attempts). Never a message's text or an address."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel

from ips_shared.auth import ApiTokens, Role
from ips_shared.http import bearer_principal, require
from ips_shared.messaging.bus import MessageBus

from ..commands import ListNotifications
from ..domain.reasons import Reason


class NotificationOut(BaseModel):
    notification_id: str
    person_id: str
    reason: str
    occasion: str
    due_at: datetime
    state: str
    channel: str | None
    attempts: int
    last_attempt_at: datetime | None
    finished_at: datetime | None
    outcome_code: str | None


def router(bus: MessageBus, tokens: ApiTokens) -> APIRouter:
    principal = bearer_principal(tokens)
    operator = Depends(require(principal, Role.OPERATOR))
    api = APIRouter()

    @api.get("/notifications", dependencies=[operator])
    async def list_notifications(
        person_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
        reason: Reason | None = None,
        since: Annotated[AwareDatetime | None, Query(description="Due at or after")] = None,
        until: Annotated[AwareDatetime | None, Query(description="Due before")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    ) -> list[NotificationOut]:
        """What was due and how its delivery went, newest first."""
        found = await bus.dispatch(
            ListNotifications(
                person_id=person_id,
                reason=str(reason) if reason else None,
                since=since,
                until=until,
                limit=limit,
            )
        )
        return [NotificationOut(**vars(item)) for item in found]

    return api
