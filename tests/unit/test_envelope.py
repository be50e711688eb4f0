import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import TypeAdapter, ValidationError

from ips_shared.contracts import events, streams, subjects
from ips_shared.contracts.envelope import CloudEvent, EventPayload
from ips_shared.messaging.consumer_spec import ConsumerSpec, UnknownEventType

SUBMITTED_AT = datetime(2027, 1, 10, 14, 30, tzinfo=UTC)

SAMPLES: dict[type[EventPayload], EventPayload] = {
    events.PeerSupport101Completed: events.PeerSupport101Completed(
        person_id="p-1", session_id="s-2027-01", completed_on=date(2027, 1, 5)
    ),
    events.ApplicationSubmitted: events.ApplicationSubmitted(
        application_id="a-1",
        person_id="p-1",
        intake="2027-spring",
        submitted_at=SUBMITTED_AT,
        transport=events.Transport.NEEDS_RIDE,
        work_settings=("clinic", "community"),
    ),
    events.ApplicationAccepted: events.ApplicationAccepted(
        application_id="a-1", person_id="p-1", intake="2027-spring", cohort_id="c-7"
    ),
    events.ApplicationWaitlisted: events.ApplicationWaitlisted(
        application_id="a-1", person_id="p-1", intake="2027-summer", position=3
    ),
    events.ApplicationDeclined: events.ApplicationDeclined(
        application_id="a-1", person_id="p-1", intake="2027-fall", reason_code="ps101_missing"
    ),
    events.ApplicationWithdrawn: events.ApplicationWithdrawn(
        application_id="a-1", person_id="p-1", intake="2027-winter"
    ),
    events.TrainingDayAttended: events.TrainingDayAttended(
        person_id="p-1", cohort_id="c-7", day=8, attended_on=date(2027, 2, 12)
    ),
    events.TrainingCompleted: events.TrainingCompleted(
        person_id="p-1", cohort_id="c-7", completed_on=date(2027, 2, 12)
    ),
    events.CohortScheduled: events.CohortScheduled(
        cohort_id="c-7",
        place="Augusta, Room 2",
        days=(
            events.TrainingDay(
                day=1,
                starts_at=datetime(2027, 2, 1, 9, tzinfo=UTC),
                ends_at=datetime(2027, 2, 1, 16, tzinfo=UTC),
            ),
        ),
    ),
    events.PersonContactChanged: events.PersonContactChanged(
        person_id="p-1",
        name="Sam",
        email="sam@example.org",
        phone="+12075550100",
        preferred_channel=events.Channel.SMS,
        sms_consent=True,
        language=events.Language.SPANISH,
    ),
    events.HoursLogged: events.HoursLogged(
        person_id="p-1",
        category=events.HoursCategory.SKILL_BUILDING,
        hours=Decimal("7.99"),
        activity_date=date(2027, 3, 1),
        note="group facilitation",
    ),
    events.HoursRejected: events.HoursRejected(
        rejected_event_id="e-123",
        reason_code=events.HoursRejectionCode.DAILY_LIMIT_EXCEEDED,
        reason="more than 12 hours on one day",
    ),
    events.CertificationStatusChanged: events.CertificationStatusChanged(
        person_id="p-1",
        old_status=events.CertificationStatus.TRAINED,
        new_status=events.CertificationStatus.CERTIFIED,
        reason_code="requirements_met",
        effective_date=date(2027, 4, 1),
        policy_version="2027.1",
        caused_by=("e-1", "e-2"),
        certificate_number="ME-2027-0001",
    ),
    events.ReviewDue: events.ReviewDue(person_id="p-1", due_date=date(2028, 4, 1)),
    events.ReviewCompleted: events.ReviewCompleted(
        person_id="p-1", reviewed_on=date(2028, 3, 20), outcome=events.ReviewOutcome.AFFIRMED
    ),
    events.HoursVoided: events.HoursVoided(
        person_id="p-1",
        entry_event_id="e-1",
        category=events.HoursCategory.SKILL_BUILDING,
        hours=Decimal("2.5"),
        activity_date=date(2028, 3, 1),
        voided_on=date(2028, 3, 5),
    ),
    events.NotificationDelivered: events.NotificationDelivered(
        notification_id="n-1",
        person_id="p-1",
        reason="application_received",
        channel=events.Channel.EMAIL,
        delivered_at=SUBMITTED_AT,
    ),
    events.NotificationFailed: events.NotificationFailed(
        notification_id="n-1",
        person_id="p-1",
        reason="application_received",
        channel=events.Channel.SMS,
        failure_code="unreachable",
        final=True,
    ),
}

SOURCES: dict[type[EventPayload], str] = {events.HoursLogged: "partner/smhc"}


def wrap(sample: EventPayload, **kwargs) -> CloudEvent:
    return CloudEvent.wrap(sample, source=SOURCES.get(type(sample), "service/test"), **kwargs)


def reparse(model: type[EventPayload], body: bytes | str) -> CloudEvent:
    return TypeAdapter(CloudEvent[model]).validate_json(body)


def catalogue_ids(model: type[EventPayload]) -> str:
    return model.event_type


def test_every_catalogue_event_has_a_sample():
    missing = [model.event_type for model in events.CATALOGUE if model not in SAMPLES]
    assert not missing, f"add a sample payload for {missing}"


@pytest.mark.parametrize("model", events.CATALOGUE, ids=catalogue_ids)
def test_event_round_trips_through_the_envelope_to_an_equal_object(model):
    envelope = wrap(SAMPLES[model], partition_key="p-1")

    parsed = reparse(model, envelope.to_json())

    assert parsed == envelope
    assert parsed.data == SAMPLES[model]
    assert type(parsed.data) is model


@pytest.mark.parametrize("model", events.CATALOGUE, ids=catalogue_ids)
def test_envelope_attributes_follow_cloudevents_and_the_model(model):
    envelope = wrap(SAMPLES[model])

    assert envelope.specversion == "1.0"
    assert envelope.datacontenttype == "application/json"
    assert envelope.time.tzinfo is not None
    assert envelope.time.utcoffset() is not None
    assert envelope.schemaversion == model.schema_version
    assert envelope.type == model.event_type
    assert envelope.correlationid == envelope.id


def _accepts_none(annotation) -> bool:
    try:
        TypeAdapter(annotation).validate_python(None)
    except ValidationError:
        return False
    return True


def test_required_nullable_payload_fields_survive_serialisation_as_none():
    lost = []
    for model in events.CATALOGUE:
        nullable_required = [
            name
            for name, field in model.model_fields.items()
            if field.is_required() and _accepts_none(field.annotation)
        ]
        if not nullable_required:
            continue
        payload = SAMPLES[model].model_copy(update=dict.fromkeys(nullable_required))
        body = json.loads(wrap(payload).to_json())
        lost += [
            f"{model.event_type}.{name}" for name in nullable_required if name not in body["data"]
        ]

    assert not lost, f"to_json() drops required fields whose value is None: {lost}"


def test_first_certification_status_change_with_no_old_status_round_trips():
    first = events.CertificationStatusChanged(
        person_id="p-1",
        old_status=None,
        new_status=events.CertificationStatus.TRAINED,
        reason_code="training_completed",
        effective_date=date(2027, 2, 12),
        policy_version="2027.1",
    )
    envelope = CloudEvent.wrap(first, source="service/certification")

    parsed = reparse(events.CertificationStatusChanged, envelope.to_json())

    assert parsed.data.old_status is None
    assert parsed == envelope


def test_explicit_correlation_id_partition_key_event_id_and_time_are_kept():
    at = datetime(2027, 1, 1, 9, 0, tzinfo=timezone(timedelta(hours=-5)))
    envelope = wrap(
        SAMPLES[events.ReviewDue],
        correlation_id="corr-9",
        partition_key="p-1",
        event_id="evt-1",
        time=at,
    )

    assert envelope.id == "evt-1"
    assert envelope.correlationid == "corr-9"
    assert envelope.partitionkey == "p-1"
    assert envelope.time == at


def test_each_wrap_gets_a_fresh_event_id():
    first = wrap(SAMPLES[events.ReviewDue])
    second = wrap(SAMPLES[events.ReviewDue])

    assert first.id != second.id
    assert first.correlationid != second.correlationid


def test_to_json_omits_envelope_attributes_that_are_none():
    envelope = CloudEvent.wrap(SAMPLES[events.ReviewDue], source="service/certification")
    assert envelope.partitionkey is None

    body = json.loads(envelope.to_json())

    assert "partitionkey" not in body
    assert None not in body.values()
    assert body["correlationid"] == envelope.id


def test_an_optional_payload_field_left_none_round_trips():
    without_note = SAMPLES[events.HoursLogged].model_copy(update={"note": None})
    envelope = wrap(without_note)

    body = json.loads(envelope.to_json())

    assert body["data"]["note"] is None
    assert reparse(events.HoursLogged, envelope.to_json()) == envelope


def test_decimal_hours_survive_serialisation_exactly():
    envelope = wrap(SAMPLES[events.HoursLogged])

    body = envelope.to_json()
    parsed = reparse(events.HoursLogged, body)

    assert isinstance(parsed.data.hours, Decimal)
    assert parsed.data.hours == Decimal("7.99")
    assert str(parsed.data.hours) == "7.99"
    assert not isinstance(json.loads(body)["data"]["hours"], float)


@pytest.mark.parametrize("hours", ["0.1", "0.30", "12.25", "1E+1"])
def test_decimal_hours_keep_their_exact_value(hours):
    sample = SAMPLES[events.HoursLogged].model_copy(update={"hours": Decimal(hours)})

    parsed = reparse(events.HoursLogged, wrap(sample).to_json())

    assert isinstance(parsed.data.hours, Decimal)
    assert parsed.data.hours == Decimal(hours)


def test_wrap_rejects_a_naive_time():
    with pytest.raises(ValidationError, match="time"):
        wrap(SAMPLES[events.ReviewDue], time=datetime(2027, 1, 1, 9, 0))


def test_parsing_rejects_a_naive_time():
    body = json.loads(wrap(SAMPLES[events.ReviewDue]).to_json())
    body["time"] = "2027-01-01T09:00:00"

    with pytest.raises(ValidationError, match="time"):
        reparse(events.ReviewDue, json.dumps(body))


def test_parsing_rejects_a_naive_datetime_inside_the_payload():
    body = json.loads(wrap(SAMPLES[events.ApplicationSubmitted]).to_json())
    body["data"]["submitted_at"] = "2027-01-10T14:30:00"

    with pytest.raises(ValidationError, match="submitted_at"):
        reparse(events.ApplicationSubmitted, json.dumps(body))


@pytest.mark.parametrize("model", events.CATALOGUE, ids=catalogue_ids)
def test_unknown_payload_fields_are_ignored_for_forward_compatibility(model):
    envelope = wrap(SAMPLES[model])
    body = json.loads(envelope.to_json())
    body["data"]["added_in_a_later_minor_version"] = {"nested": [1, 2]}
    body["someextension"] = "x"

    parsed = reparse(model, json.dumps(body))

    assert parsed == envelope
    assert "added_in_a_later_minor_version" not in parsed.data.model_dump()


@pytest.mark.parametrize("model", events.CATALOGUE, ids=catalogue_ids)
def test_a_missing_required_payload_field_fails_validation(model):
    required = [name for name, field in model.model_fields.items() if field.is_required()]
    assert required, f"{model.event_type} has no required field"
    body = json.loads(wrap(SAMPLES[model]).to_json())
    body["data"].pop(required[0], None)

    with pytest.raises(ValidationError, match=required[0]):
        reparse(model, json.dumps(body))


@pytest.mark.parametrize("attribute", ["source", "type", "data"])
def test_a_missing_required_envelope_attribute_fails_validation(attribute):
    body = json.loads(wrap(SAMPLES[events.ReviewDue]).to_json())
    del body[attribute]

    with pytest.raises(ValidationError, match=attribute):
        reparse(events.ReviewDue, json.dumps(body))


def test_another_specversion_is_rejected():
    body = json.loads(wrap(SAMPLES[events.ReviewDue]).to_json())
    body["specversion"] = "0.3"

    with pytest.raises(ValidationError, match="specversion"):
        reparse(events.ReviewDue, json.dumps(body))


def test_payloads_are_immutable():
    with pytest.raises(ValidationError):
        SAMPLES[events.ReviewDue].person_id = "someone-else"


def test_log_context_carries_ids_and_never_the_payload():
    envelope = wrap(SAMPLES[events.HoursLogged], event_id="evt-7", correlation_id="corr-7")

    context = envelope.log_context()

    assert context == {"event_id": "evt-7", "event_type": "HoursLogged", "correlation_id": "corr-7"}


def test_an_event_caused_by_another_names_it_and_keeps_its_chain():
    cause = wrap(SAMPLES[events.TrainingCompleted], correlation_id="request-1")
    effect = CloudEvent.wrap(
        SAMPLES[events.CertificationStatusChanged],
        source="service/certification",
        correlation_id=cause.correlationid,
        causation_id=cause.id,
    )

    body = json.loads(effect.to_json())

    assert (body["correlationid"], body["causationid"]) == ("request-1", cause.id)
    assert effect.log_context()["causation_id"] == cause.id
    assert "causationid" not in json.loads(cause.to_json())  # a chain's first event has none


def test_fixed_subject_events_publish_on_their_catalogue_subject():
    envelope = wrap(SAMPLES[events.ApplicationSubmitted])

    assert envelope.nats_subject == subjects.APPLICATION_SUBMITTED


# ConsumerSpec.parse --------------------------------------------------------------------


@pytest.fixture(scope="module")
def submitted_consumer() -> ConsumerSpec:
    return ConsumerSpec(
        service="notifications",
        name="application-submitted",
        stream=streams.ENROLLMENT,
        subject=subjects.APPLICATION_SUBMITTED,
        events=(events.ApplicationSubmitted,),
    )


def test_consumer_parses_a_valid_body_into_the_typed_envelope(submitted_consumer):
    envelope = wrap(SAMPLES[events.ApplicationSubmitted])

    parsed = submitted_consumer.parse(envelope.to_json())

    assert parsed == envelope
    assert isinstance(parsed.data, events.ApplicationSubmitted)


def test_consumer_picks_the_model_by_type_among_several():
    spec = ConsumerSpec(
        service="notifications",
        name="enrollment-all",
        stream=streams.ENROLLMENT,
        subject="ips.enrollment.>",
        events=(events.ApplicationSubmitted, events.ApplicationAccepted),
    )

    parsed = spec.parse(wrap(SAMPLES[events.ApplicationAccepted]).to_json())

    assert isinstance(parsed.data, events.ApplicationAccepted)


def test_consumer_rejects_an_event_type_it_does_not_consume(submitted_consumer):
    body = wrap(SAMPLES[events.ApplicationAccepted]).to_json()

    with pytest.raises(UnknownEventType, match="ApplicationAccepted"):
        submitted_consumer.parse(body)


def test_consumer_rejects_a_schema_version_it_does_not_know(submitted_consumer):
    body = json.loads(wrap(SAMPLES[events.ApplicationSubmitted]).to_json())
    body["schemaversion"] = 2

    with pytest.raises(UnknownEventType):
        submitted_consumer.parse(json.dumps(body).encode())


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b'{"specversion": "1.0", "id": "x"', b"[]", b"null"],
    ids=["empty", "text", "truncated", "array", "null"],
)
def test_consumer_rejects_malformed_json_with_a_validation_error(submitted_consumer, body):
    with pytest.raises(ValidationError):
        submitted_consumer.parse(body)


def test_consumer_rejects_invalid_data_with_a_validation_error(submitted_consumer):
    body = json.loads(wrap(SAMPLES[events.ApplicationSubmitted]).to_json())
    body["data"]["intake"] = "2027-autumn"

    with pytest.raises(ValidationError, match="intake"):
        submitted_consumer.parse(json.dumps(body).encode())


def test_consumer_rejects_a_body_without_specversion(submitted_consumer):
    body = json.loads(wrap(SAMPLES[events.ApplicationSubmitted]).to_json())
    del body["specversion"]

    with pytest.raises(ValidationError, match="specversion"):
        submitted_consumer.parse(json.dumps(body).encode())


def test_consumer_rejects_a_body_whose_data_is_missing(submitted_consumer):
    body = json.loads(wrap(SAMPLES[events.ApplicationSubmitted]).to_json())
    del body["data"]

    with pytest.raises(ValidationError, match="data"):
        submitted_consumer.parse(json.dumps(body).encode())
