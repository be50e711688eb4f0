"""The event catalogue: one payload model and one subject per event.

Payloads carry ids, codes, dates and quantities only: never a diagnosis, a lived-experience
detail or free text about a person's health. Hours are `Decimal`; times are aware.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from . import subjects
from .envelope import EventPayload

Ident = Annotated[str, StringConstraints(min_length=1, max_length=64)]
PersonId = Ident
IntakeId = Annotated[
    str,
    StringConstraints(pattern=r"^\d{4}-(spring|summer|fall|winter)$"),
    Field(examples=["2027-spring"]),
]


# Hours as a string, as the JSON Schema describes them: more than 0, at most 24, at most two
# decimal places (the model also reads other spellings of such a number, such as `"1e1"`).
HOURS_TEXT = r"^(0\.(0[1-9]|[1-9][0-9]?)|([1-9]|1[0-9]|2[0-3])(\.[0-9]{1,2})?|24(\.00?)?)$"


def _hours_text_pattern(schema: dict[str, Any]) -> None:
    for branch in schema.get("anyOf", ()):
        if branch.get("type") == "string":
            branch["pattern"] = HOURS_TEXT


# Bounded by the contract so that an absurd number (`"1e30"`, thirty digits, `NaN`) is
# refused when read, and answered at once, rather than failing in the ledger.
Hours = Annotated[
    Decimal,
    Field(
        gt=0,
        le=24,
        decimal_places=2,
        allow_inf_nan=False,
        description="Hours, more than 0 and at most 24, to the hundredth at most: "
        'a JSON number or string, for example 1.5 or "1.5"',
        json_schema_extra=_hours_text_pattern,
    ),
]


class HoursCategory(StrEnum):
    CONTINUING_EDUCATION = "continuing_education"
    SKILL_BUILDING = "skill_building"
    CO_REFLECTION = "co_reflection"
    VOLUNTEER_SERVICE = "volunteer_service"


class Transport(StrEnum):
    OWN_CAR = "own_car"
    MILEAGE_REIMBURSEMENT = "mileage_reimbursement"
    NEEDS_RIDE = "needs_ride"


class CertificationStatus(StrEnum):
    TRAINED = "trained"
    CERTIFIED = "certified"
    AT_RISK = "at_risk"
    LAPSED = "lapsed"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"


class ReviewOutcome(StrEnum):
    AFFIRMED = "affirmed"
    NOT_AFFIRMED = "not_affirmed"


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class HoursRejectionCode(StrEnum):
    INVALID_PAYLOAD = "invalid_payload"
    UNKNOWN_PERSON = "unknown_person"
    NON_POSITIVE_HOURS = "non_positive_hours"
    DAILY_LIMIT_EXCEEDED = "daily_limit_exceeded"
    FUTURE_DATE = "future_date"
    BEFORE_RECORD_BEGAN = "before_record_began"
    UNKNOWN_CATEGORY = "unknown_category"
    SOURCE_MISMATCH = "source_mismatch"


# Enrollment ---------------------------------------------------------------------------


class PeerSupport101Completed(EventPayload):
    event_type: ClassVar[str] = "PeerSupport101Completed"
    subject: ClassVar[str] = subjects.PS101_COMPLETED

    person_id: PersonId
    session_id: Ident
    completed_on: date


class ApplicationSubmitted(EventPayload):
    event_type: ClassVar[str] = "ApplicationSubmitted"
    subject: ClassVar[str] = subjects.APPLICATION_SUBMITTED

    application_id: Ident
    person_id: PersonId
    intake: IntakeId
    submitted_at: AwareDatetime
    transport: Transport
    work_settings: tuple[str, ...] = ()


class ApplicationAccepted(EventPayload):
    event_type: ClassVar[str] = "ApplicationAccepted"
    subject: ClassVar[str] = subjects.APPLICATION_ACCEPTED

    application_id: Ident
    person_id: PersonId
    intake: IntakeId
    cohort_id: Ident


class ApplicationWaitlisted(EventPayload):
    event_type: ClassVar[str] = "ApplicationWaitlisted"
    subject: ClassVar[str] = subjects.APPLICATION_WAITLISTED

    application_id: Ident
    person_id: PersonId
    intake: IntakeId
    position: int = Field(ge=1)


class ApplicationDeclined(EventPayload):
    event_type: ClassVar[str] = "ApplicationDeclined"
    subject: ClassVar[str] = subjects.APPLICATION_DECLINED

    application_id: Ident
    person_id: PersonId
    intake: IntakeId
    reason_code: str = Field(min_length=1, max_length=64)


class ApplicationWithdrawn(EventPayload):
    event_type: ClassVar[str] = "ApplicationWithdrawn"
    subject: ClassVar[str] = subjects.APPLICATION_WITHDRAWN

    application_id: Ident
    person_id: PersonId
    intake: IntakeId


class TrainingDayAttended(EventPayload):
    event_type: ClassVar[str] = "TrainingDayAttended"
    subject: ClassVar[str] = subjects.TRAINING_DAY_ATTENDED

    person_id: PersonId
    cohort_id: Ident
    day: int = Field(ge=1, le=8)
    attended_on: date


class TrainingCompleted(EventPayload):
    event_type: ClassVar[str] = "TrainingCompleted"
    subject: ClassVar[str] = subjects.TRAINING_COMPLETED

    person_id: PersonId
    cohort_id: Ident
    completed_on: date
    region: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="The person's region or county when training completed (added after v1)",
    )


class TrainingDay(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    day: int = Field(ge=1, le=8)
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class CohortScheduled(EventPayload):
    """An operator set, or changed, a cohort's training days and place (the whole schedule
    each time: the latest one is the schedule)."""

    event_type: ClassVar[str] = "CohortScheduled"
    subject: ClassVar[str] = subjects.COHORT_SCHEDULED

    cohort_id: Ident
    place: str = Field(min_length=1, max_length=200)
    days: tuple[TrainingDay, ...] = Field(min_length=1, max_length=8)


class Language(StrEnum):
    ENGLISH = "en"
    SPANISH = "es"


class PersonContactChanged(EventPayload):
    """A person's current contact details, from enrollment, which owns them. Published on
    the person's own subject in CONTACTS, a stream that keeps the latest message per
    subject (so it holds current details only) and that notifications alone may read. No
    other event carries contact details. `erased`: the details were erased; forget them
    (the erasure, carrying no details, is then all the stream holds on the subject)."""

    event_type: ClassVar[str] = "PersonContactChanged"
    subject: ClassVar[str] = subjects.PERSON_CONTACT_ALL

    person_id: PersonId
    name: str = Field(default="", max_length=200, description="The name to address them by")
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    phone: str | None = Field(default=None, pattern=r"^\+[1-9][0-9]{6,14}$", description="E.164")
    preferred_channel: Channel = Channel.EMAIL
    sms_consent: bool = False
    language: Language = Language.ENGLISH
    erased: bool = False

    def subject_for(self, source: str) -> str:
        return subjects.person_contact_subject(self.person_id)


# Hours: the partner-facing contract ----------------------------------------------------


class HoursLogged(EventPayload):
    """Published by trainers, OBH and partners on `ips.hours.logged.<source_id>`.

    The envelope `source` is `partner/<source_id>` (or `trainer/<id>`).
    """

    event_type: ClassVar[str] = "HoursLogged"
    subject: ClassVar[str] = subjects.HOURS_LOGGED_ALL

    person_id: PersonId
    category: HoursCategory
    hours: Hours
    activity_date: date
    note: str | None = Field(default=None, max_length=200)

    def subject_for(self, source: str) -> str:
        return subjects.hours_logged_subject(source)


class HoursRejected(EventPayload):
    """The answer to a rejected `HoursLogged`, on `ips.hours.rejected.<source_id>`."""

    event_type: ClassVar[str] = "HoursRejected"
    subject: ClassVar[str] = subjects.HOURS_REJECTED_ALL

    rejected_event_id: str = Field(min_length=1, max_length=128)
    reason_code: HoursRejectionCode
    reason: str = Field(max_length=500)


# Certification -----------------------------------------------------------------------


class Shortfall(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    requirement: str = Field(min_length=1, max_length=64)
    missing: Decimal = Field(ge=0, max_digits=8, decimal_places=2)
    unit: Literal["hours", "requirements"]


class CertificationStatusChanged(EventPayload):
    event_type: ClassVar[str] = "CertificationStatusChanged"
    subject: ClassVar[str] = subjects.CERTIFICATION_STATUS_CHANGED

    person_id: PersonId
    old_status: CertificationStatus | None
    new_status: CertificationStatus
    reason_code: str = Field(
        min_length=1,
        max_length=64,
        description="Why, for machines: training_completed, first_year_met, "
        "certificate_imported, requirements_met, hours_short_near_year_end, "
        "review_due_by_year_end, review_overdue, year_ended_unmet, reinstated, "
        "operator_suspended, operator_withdrew, operator_reinstated (more may be added)",
    )
    effective_date: date
    policy_version: str = Field(min_length=1, max_length=32)
    caused_by: tuple[str, ...] = Field(default=(), description="Ids of the events that led to it")
    certificate_number: str | None = None
    shortfall: tuple[Shortfall, ...] = Field(
        default=(), description="With hours_short_near_year_end: what is still missing"
    )
    year_ends_on: date | None = Field(
        default=None,
        description="With hours_short_near_year_end: the anniversary that ends the year (hours"
        " dated before it count)",
    )


class ReviewDue(EventPayload):
    event_type: ClassVar[str] = "ReviewDue"
    subject: ClassVar[str] = subjects.REVIEW_DUE

    person_id: PersonId
    due_date: date


class ReviewCompleted(EventPayload):
    event_type: ClassVar[str] = "ReviewCompleted"
    subject: ClassVar[str] = subjects.REVIEW_COMPLETED

    person_id: PersonId
    reviewed_on: date
    outcome: ReviewOutcome


class HoursVoided(EventPayload):
    """An operator voided an accepted hours entry: it no longer counts. What the person may
    be told: which hours (category, amount, date), never the operator's reason nor who
    reported them."""

    event_type: ClassVar[str] = "HoursVoided"
    subject: ClassVar[str] = subjects.HOURS_VOIDED

    person_id: PersonId
    entry_event_id: str = Field(
        min_length=1, max_length=128, description="The voided HoursLogged's event id"
    )
    category: HoursCategory
    hours: Decimal = Field(gt=0, max_digits=6, decimal_places=2)
    activity_date: date
    voided_on: date


# Notifications -----------------------------------------------------------------------


class NotificationDelivered(EventPayload):
    event_type: ClassVar[str] = "NotificationDelivered"
    subject: ClassVar[str] = subjects.NOTIFICATION_DELIVERED

    notification_id: Ident
    person_id: PersonId
    reason: str = Field(min_length=1, max_length=64)
    channel: Channel
    delivered_at: AwareDatetime


class NotificationFailed(EventPayload):
    event_type: ClassVar[str] = "NotificationFailed"
    subject: ClassVar[str] = subjects.NOTIFICATION_FAILED

    notification_id: Ident
    person_id: PersonId
    reason: str = Field(min_length=1, max_length=64)
    channel: Channel
    failure_code: str = Field(min_length=1, max_length=64)
    final: bool


CATALOGUE: tuple[type[EventPayload], ...] = (
    PeerSupport101Completed,
    ApplicationSubmitted,
    ApplicationAccepted,
    ApplicationWaitlisted,
    ApplicationDeclined,
    ApplicationWithdrawn,
    TrainingDayAttended,
    TrainingCompleted,
    CohortScheduled,
    PersonContactChanged,
    HoursLogged,
    HoursRejected,
    CertificationStatusChanged,
    ReviewDue,
    ReviewCompleted,
    HoursVoided,
    NotificationDelivered,
    NotificationFailed,
)

BY_TYPE: dict[tuple[str, int], type[EventPayload]] = {
    (model.event_type, model.schema_version): model for model in CATALOGUE
}
