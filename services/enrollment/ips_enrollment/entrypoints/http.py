"""Enrollment's HTTP API. Roles: `operator` (everything), `trainer` (Peer Support 101
completions and attendance), `person` (their own record and applications only). What
operators read every day, the lists and the report: `http_lists`."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import (
    AliasChoices,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    model_validator,
)

from ips_shared.auth import ApiTokens, Principal, Role
from ips_shared.contracts.events import Channel, Ident, Language, Transport
from ips_shared.http import bearer_principal, require
from ips_shared.messaging.bus import MessageBus

from ..commands import (
    AcceptApplication,
    ApplicationsOf,
    ApplicationsTo,
    ChangeContact,
    CompletePs101,
    CreatePs101Session,
    DeclineApplication,
    EraseContact,
    GetApplication,
    GetPerson,
    GetSchedule,
    RecordAttendance,
    RegisterForSession,
    RegisterPerson,
    RideSharing,
    Schedule,
    ScheduleCohort,
    SetCohortCapacity,
    SubmitApplication,
    WithdrawApplication,
)
from ..db.tables import Application, Person
from ..domain.applications import ApplicationStatus
from ..domain.errors import OperatorsOnly, UnknownApplication, UnknownPerson
from ..domain.intakes import INTAKE_ID_PATTERN
from ..domain.people import Phone, check_channel
from ..domain.rides import RideListing
from ..domain.schedule import ScheduledDay

Name = Annotated[str, Field(min_length=1, max_length=200)]
CohortId = Annotated[
    str,
    Path(
        pattern=INTAKE_ID_PATTERN,
        description="The intake's id; an intake the calendar does not have is unknown (404)",
        examples=["2027-spring"],
    ),
]


class PersonIn(BaseModel):
    name: Name
    region: Annotated[str, Field(min_length=1, max_length=100, description="Region or county")]
    email: EmailStr | None = None
    phone: Phone | None = Field(
        default=None, description="Kept as E.164; a number without +country is North American"
    )
    preferred_channel: Channel = Channel.EMAIL
    sms_consent: bool = False
    language: Language = Language.ENGLISH

    @model_validator(mode="after")
    def _reachable_by_the_chosen_channel(self) -> PersonIn:
        check_channel(
            self.preferred_channel, email=self.email, phone=self.phone, sms_consent=self.sms_consent
        )
        return self


class PersonCreate(PersonIn):
    person_id: Ident | None = Field(
        default=None, description="Keep an id the state already uses; a new one is made otherwise"
    )


class PersonOut(PersonIn):
    person_id: str


class ContactIn(BaseModel):
    """The contact details to change; those left out stay as they are, `null` clears an
    email address or a phone number."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    email: EmailStr | None = None
    phone: Phone | None = None
    preferred_channel: Channel | None = None
    sms_consent: bool | None = None
    language: Language | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> ContactIn:
        if not self.model_fields_set:
            raise ValueError("give at least one contact detail to change")
        for required in ("name", "preferred_channel", "sms_consent", "language"):
            if required in self.model_fields_set and getattr(self, required) is None:
                raise ValueError(f"{required} cannot be cleared")
        return self


def _person_out(person: Person) -> PersonOut:
    return PersonOut(person_id=person.id, **person.model_dump(include=set(PersonIn.model_fields)))


class DayIn(BaseModel):
    day: int = Field(ge=1, le=8)
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class ScheduleIn(BaseModel):
    place: Annotated[str, Field(min_length=1, max_length=200)]
    days: list[DayIn] = Field(min_length=1, max_length=8)


class ScheduleOut(ScheduleIn):
    cohort_id: str


def _schedule_out(schedule: Schedule) -> ScheduleOut:
    return ScheduleOut(
        cohort_id=schedule.cohort_id,
        place=schedule.place,
        days=[DayIn(day=d.day, starts_at=d.starts_at, ends_at=d.ends_at) for d in schedule.days],
    )


class SessionIn(BaseModel):
    starts_at: AwareDatetime
    place: Annotated[str, Field(min_length=1, max_length=200)]
    online: bool = False
    capacity: int = Field(ge=1, le=500)


class SessionOut(SessionIn):
    session_id: str


class PersonRef(BaseModel):
    person_id: Ident


class CompletionIn(PersonRef):
    completed_on: date


class ApplicationIn(PersonRef):
    self_identifies_as_peer: Literal[True] = Field(
        description="The applicant identifies as having lived experience; nothing more is asked."
    )
    transport: Transport
    offers_ride: bool = False
    work_settings: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=20
    )
    received_at: AwareDatetime | None = Field(
        default=None,
        validation_alias=AliasChoices("received_at", "submitted_at"),
        description=(
            "Operators only, for an application that arrived on paper: when it was received "
            "(with its time zone; not after now). It decides the intake. A person's own "
            "application is dated when it arrives: from a person's token this is refused "
            "(403 `operators_only`). Also accepted as `submitted_at`."
        ),
    )


class ApplicationOut(BaseModel):
    application_id: str
    person_id: str
    intake: str = Field(description="The intake this application joined, e.g. 2027-spring")
    status: ApplicationStatus
    submitted_at: datetime
    transport: Transport
    offers_ride: bool
    keyed_by: str | None = Field(
        default=None, description="The operator who keyed in a paper application"
    )


class DeclineIn(BaseModel):
    reason_code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class CapacityIn(BaseModel):
    capacity: int = Field(ge=1, le=500)


class AttendanceIn(PersonRef):
    day: int = Field(ge=1, le=8)
    attended_on: date


class AttendanceOut(BaseModel):
    person_id: str
    cohort_id: str
    day: int
    training_completed: bool


def _application_out(application: Application) -> ApplicationOut:
    return ApplicationOut(
        application_id=application.id,
        **{
            name: getattr(application, name)
            for name in (
                "person_id",
                "intake",
                "status",
                "submitted_at",
                "transport",
                "offers_ride",
                "keyed_by",
            )
        },
    )


def for_self(who: Principal, person_id: str) -> None:
    """Another person's record or application is answered exactly as one that does not
    exist: a person learns nothing about which ids others have."""
    if not who.acts_for(person_id):
        raise UnknownPerson()


def router(bus: MessageBus, tokens: ApiTokens) -> APIRouter:
    principal = bearer_principal(tokens)
    operator = Depends(require(principal, Role.OPERATOR))
    staff = Depends(require(principal, Role.OPERATOR, Role.TRAINER))
    everyone = Depends(require(principal, Role.OPERATOR, Role.TRAINER, Role.PERSON))
    anyone = Depends(require(principal, Role.OPERATOR, Role.PERSON))
    api = APIRouter()

    def own_application(who: Principal, application: Application) -> Application:
        if not who.acts_for(application.person_id):
            raise UnknownApplication()
        return application

    @api.post("/people", status_code=201, tags=["people"])
    async def register_person(body: PersonCreate, _: Principal = operator) -> PersonOut:
        person = await bus.dispatch(RegisterPerson(**body.model_dump()))
        return PersonOut(**{**body.model_dump(), "person_id": person.id})

    @api.get("/people/{person_id}", tags=["people"])
    async def get_person(person_id: str, who: Principal = anyone) -> PersonOut:
        for_self(who, person_id)
        return _person_out(await bus.dispatch(GetPerson(person_id)))

    @api.patch("/people/{person_id}/contact", tags=["people"])
    async def change_contact(person_id: str, body: ContactIn, who: Principal = anyone) -> PersonOut:
        """Change some contact details (an operator, or the person themself): only the
        fields sent change. Published to notifications as `PersonContactChanged`."""
        for_self(who, person_id)
        changes = {name: getattr(body, name) for name in body.model_fields_set}
        return _person_out(await bus.dispatch(ChangeContact(person_id, changes)))

    @api.delete("/people/{person_id}/contact", tags=["people"])
    async def erase_contact(person_id: str, _: Principal = operator) -> PersonOut:
        """Erase a person's contact details (an operator, on the person's request): email,
        phone and consent to texts are gone from enrollment, from its outbox and from the
        contact stream (the erasure replaces them on the person's subject, and
        notifications forgets them). The enrollment record stays."""
        return _person_out(await bus.dispatch(EraseContact(person_id)))

    @api.get("/people/{person_id}/applications", tags=["people"])
    async def applications_of(person_id: str, who: Principal = anyone) -> list[ApplicationOut]:
        for_self(who, person_id)
        return [_application_out(a) for a in await bus.dispatch(ApplicationsOf(person_id))]

    @api.post("/ps101/sessions", status_code=201, tags=["peer support 101"])
    async def create_session(body: SessionIn, _: Principal = operator) -> SessionOut:
        created = await bus.dispatch(CreatePs101Session(**body.model_dump()))
        return SessionOut(session_id=created.id, **body.model_dump())

    @api.post(
        "/ps101/sessions/{session_id}/registrations", status_code=201, tags=["peer support 101"]
    )
    async def register_for_session(
        session_id: str, body: PersonRef, who: Principal = anyone
    ) -> PersonRef:
        for_self(who, body.person_id)
        await bus.dispatch(RegisterForSession(session_id, body.person_id))
        return body

    @api.post(
        "/ps101/sessions/{session_id}/completions", status_code=201, tags=["peer support 101"]
    )
    async def complete_ps101(
        session_id: str, body: CompletionIn, _: Principal = staff
    ) -> CompletionIn:
        await bus.dispatch(CompletePs101(session_id, body.person_id, body.completed_on))
        return body

    @api.post("/applications", status_code=201, tags=["applications"])
    async def submit_application(body: ApplicationIn, who: Principal = anyone) -> ApplicationOut:
        """Apply to the training; the answer names the intake joined. An operator keying
        in an application that arrived on paper gives `received_at`, when it arrived: the
        intake follows from it, and who keyed it is kept with the application and in the
        audit trail (`key paper application`). It cannot be after now (422
        `future_date`); a person cannot backdate their own (403 `operators_only`)."""
        for_self(who, body.person_id)
        paper = body.received_at is not None
        if paper and who.role != Role.OPERATOR:
            raise OperatorsOnly("Only an operator may give the date an application was received.")
        submitted = SubmitApplication(
            person_id=body.person_id,
            transport=body.transport,
            offers_ride=body.offers_ride,
            work_settings=tuple(body.work_settings),
            received_at=body.received_at or datetime.now(UTC),
            keyed_by=who.name if paper else None,
        )
        return _application_out(await bus.dispatch(submitted))

    @api.get("/applications/{application_id}", tags=["applications"])
    async def get_application(application_id: str, who: Principal = anyone) -> ApplicationOut:
        application = await bus.dispatch(GetApplication(application_id))
        return _application_out(own_application(who, application))

    @api.post("/applications/{application_id}/accept", tags=["applications"])
    async def accept(application_id: str, _: Principal = operator) -> ApplicationOut:
        return _application_out(await bus.dispatch(AcceptApplication(application_id)))

    @api.post("/applications/{application_id}/decline", tags=["applications"])
    async def decline(
        application_id: str, body: DeclineIn, _: Principal = operator
    ) -> ApplicationOut:
        declined = await bus.dispatch(DeclineApplication(application_id, body.reason_code))
        return _application_out(declined)

    @api.post("/applications/{application_id}/withdraw", tags=["applications"])
    async def withdraw(application_id: str, who: Principal = anyone) -> ApplicationOut:
        own_application(who, await bus.dispatch(GetApplication(application_id)))
        return _application_out(await bus.dispatch(WithdrawApplication(application_id)))

    @api.put("/cohorts/{cohort_id}/capacity", tags=["cohorts"])
    async def set_capacity(
        cohort_id: CohortId, body: CapacityIn, _: Principal = operator
    ) -> CapacityIn:
        await bus.dispatch(SetCohortCapacity(cohort_id, body.capacity))
        return body

    @api.put("/cohorts/{cohort_id}/schedule", tags=["cohorts"])
    async def schedule_cohort(
        cohort_id: CohortId, body: ScheduleIn, _: Principal = operator
    ) -> ScheduleOut:
        """Set the cohort's place and training days, the whole schedule each time (days
        left out are dropped). Published as `CohortScheduled`."""
        days = tuple(ScheduledDay(d.day, d.starts_at, d.ends_at) for d in body.days)
        return _schedule_out(await bus.dispatch(ScheduleCohort(cohort_id, body.place, days)))

    @api.get("/cohorts/{cohort_id}/schedule", tags=["cohorts"])
    async def cohort_schedule(cohort_id: CohortId, _: Principal = everyone) -> ScheduleOut:
        """Where and when the cohort meets; 404 `no_schedule` until an operator sets it."""
        return _schedule_out(await bus.dispatch(GetSchedule(cohort_id)))

    @api.get("/cohorts/{cohort_id}/applications", tags=["cohorts"])
    async def cohort_applications(
        cohort_id: CohortId, _: Principal = operator
    ) -> list[ApplicationOut]:
        """Every application to this intake, in submission order (the waitlist's order)."""
        return [_application_out(a) for a in await bus.dispatch(ApplicationsTo(cohort_id))]

    @api.post("/cohorts/{cohort_id}/attendance", status_code=201, tags=["cohorts"])
    async def record_attendance(
        cohort_id: CohortId, body: AttendanceIn, _: Principal = staff
    ) -> AttendanceOut:
        completed = await bus.dispatch(
            RecordAttendance(cohort_id, body.person_id, body.day, body.attended_on)
        )
        return AttendanceOut(
            person_id=body.person_id,
            cohort_id=cohort_id,
            day=body.day,
            training_completed=completed,
        )

    @api.get("/cohorts/{cohort_id}/ride-sharing", tags=["cohorts"])
    async def ride_sharing(cohort_id: CohortId, _: Principal = operator) -> list[RideListing]:
        return await bus.dispatch(RideSharing(cohort_id))

    return api
