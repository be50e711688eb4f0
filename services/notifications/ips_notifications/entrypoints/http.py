"""Notifications' HTTP API: operators list what was sent (who, when, why, by which channel,
how it went, in how many attempts), never a message's text or an address; a person (or an
operator for them) reads and sets their preferences: language, quiet hours for texts,
reminders."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from ips_shared.auth import ApiTokens, Principal, Role
from ips_shared.contracts.events import Language
from ips_shared.http import bearer_principal, require
from ips_shared.messaging.bus import MessageBus

from ..commands import GetPreferences, ListNotifications, SetPreferences
from ..domain.errors import UnknownPerson
from ..domain.preferences import Preferences
from ..domain.reasons import Reason

HHMM = Annotated[
    str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="Local time, HH:MM")
]
PersonId = Annotated[str, Path(min_length=1, max_length=64)]


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


class QuietHoursIn(BaseModel):
    """No texts from `start` to `end`, in the program's time zone (may cross midnight)."""

    model_config = ConfigDict(extra="forbid")

    start: HHMM
    end: HHMM

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHoursIn:
        if self.start == self.end:
            raise ValueError("start and end must differ (null keeps the program's hours)")
        return self


class PreferencesIn(BaseModel):
    """Every field is set by each PUT: a language or quiet hours left out (or null) go back
    to the defaults (the contact's language, the program's quiet hours)."""

    model_config = ConfigDict(extra="forbid")

    language: Language | None = None
    quiet_hours: QuietHoursIn | None = None
    reminders: bool = Field(
        description="false: no reminders (never affects messages about an application or a"
        " certification status)"
    )

    def chosen(self) -> Preferences:
        quiet = self.quiet_hours
        return Preferences(
            language=self.language,
            quiet_hours=(time.fromisoformat(quiet.start), time.fromisoformat(quiet.end))
            if quiet
            else None,
            reminders=self.reminders,
        )


class QuietHoursOut(BaseModel):
    start: str
    end: str


class PreferencesOut(BaseModel):
    person_id: str
    language: Language | None
    quiet_hours: QuietHoursOut | None
    reminders: bool


def preferences_out(person_id: str, chosen: Preferences) -> PreferencesOut:
    quiet = chosen.quiet_hours
    return PreferencesOut(
        person_id=person_id,
        language=chosen.language,
        quiet_hours=QuietHoursOut(start=quiet[0].strftime("%H:%M"), end=quiet[1].strftime("%H:%M"))
        if quiet
        else None,
        reminders=chosen.reminders,
    )


def router(bus: MessageBus, tokens: ApiTokens, clock: Callable[[], datetime]) -> APIRouter:
    principal = bearer_principal(tokens)
    operator = Depends(require(principal, Role.OPERATOR))
    anyone = Depends(require(principal, Role.OPERATOR, Role.PERSON))
    api = APIRouter()

    def own(who: Principal, person_id: str) -> None:
        # Another person's id is answered exactly as one notifications does not know.
        if not who.acts_for(person_id):
            raise UnknownPerson()

    @api.get("/people/{person_id}/preferences")
    async def get_preferences(person_id: PersonId, who: Principal = anyone) -> PreferencesOut:
        """A person's own preferences (an operator: anyone's); the defaults if none chosen."""
        own(who, person_id)
        return preferences_out(person_id, await bus.dispatch(GetPreferences(person_id)))

    @api.put("/people/{person_id}/preferences")
    async def set_preferences(
        person_id: PersonId, body: PreferencesIn, who: Principal = anyone
    ) -> PreferencesOut:
        """Replace the preferences; they apply to every notification not sent yet."""
        own(who, person_id)
        chosen = await bus.dispatch(
            SetPreferences(person_id, body.chosen(), by=who.name, at=clock())
        )
        return preferences_out(person_id, chosen)

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
