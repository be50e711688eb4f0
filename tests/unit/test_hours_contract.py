"""The partner-facing hours contract: what partners build against must not drift."""

import json
import re
from datetime import date
from decimal import Decimal

import pytest
from pydantic import TypeAdapter, ValidationError

from ips_shared.contracts import subjects
from ips_shared.contracts.envelope import CloudEvent
from ips_shared.contracts.events import (
    HOURS_TEXT,
    HoursCategory,
    HoursLogged,
    HoursRejected,
    HoursRejectionCode,
)
from ips_shared.contracts.subjects import InvalidSource, hours_rejected_subject

VALID_DATA = {
    "person_id": "p-1",
    "category": "continuing_education",
    "hours": "1.5",
    "activity_date": "2027-03-01",
}


def hours_logged(**changes) -> HoursLogged:
    return HoursLogged.model_validate_json(json.dumps({**VALID_DATA, **changes}))


def sample() -> HoursLogged:
    return HoursLogged(
        person_id="p-1",
        category=HoursCategory.CO_REFLECTION,
        hours=Decimal("2"),
        activity_date=date(2027, 3, 1),
    )


def test_hours_logged_data_fields_are_exactly_the_published_ones():
    assert set(HoursLogged.model_fields) == {
        "person_id",
        "category",
        "hours",
        "activity_date",
        "note",
    }


def test_hours_logged_optional_fields_are_only_the_note():
    optional = {name for name, field in HoursLogged.model_fields.items() if not field.is_required()}

    assert optional == {"note"}


def test_hours_categories_are_exactly_the_published_values():
    assert {category.value for category in HoursCategory} == {
        "continuing_education",
        "skill_building",
        "co_reflection",
        "volunteer_service",
    }


@pytest.mark.parametrize("category", [c.value for c in HoursCategory])
def test_each_published_category_is_accepted(category):
    assert hours_logged(category=category).category == HoursCategory(category)


@pytest.mark.parametrize("category", ["CO_REFLECTION", "supervision", ""])
def test_an_unpublished_category_is_rejected(category):
    with pytest.raises(ValidationError, match="category"):
        hours_logged(category=category)


def test_a_note_of_200_characters_is_accepted():
    assert hours_logged(note="x" * 200).note == "x" * 200


def test_a_note_over_200_characters_is_rejected():
    with pytest.raises(ValidationError, match="note"):
        hours_logged(note="x" * 201)


def test_the_note_may_be_absent_or_null():
    assert hours_logged().note is None
    assert hours_logged(note=None).note is None


@pytest.mark.parametrize("hours", [1.5, "1.5"], ids=["json-number", "json-string"])
def test_hours_accept_a_json_number_or_string_as_decimal(hours):
    parsed = hours_logged(hours=hours).hours

    assert isinstance(parsed, Decimal)
    assert parsed == Decimal("1.5")


def test_hours_sent_as_a_json_number_keep_their_decimal_value():
    parsed = hours_logged(hours=7.99).hours

    assert isinstance(parsed, Decimal)
    assert parsed == Decimal("7.99")


@pytest.mark.parametrize("hours", ["one and a half", "NaN", "Infinity", None, True])
def test_hours_that_are_not_a_finite_number_are_rejected(hours):
    with pytest.raises(ValidationError, match="hours"):
        hours_logged(hours=hours)


def hours_from_json(raw: str) -> Decimal:
    """`hours` read from a body carrying `raw` as written (a JSON number or string)."""
    body = json.dumps(VALID_DATA).replace('"1.5"', raw)
    return HoursLogged.model_validate_json(body).hours


@pytest.mark.parametrize(
    "raw",
    [
        '"1e30"',
        "1e30",
        "1e100",
        "1e400",  # beyond a float: infinite
        '"NaN"',
        '"sNaN"',
        '"-Infinity"',
        "123456789012345678901234567890",
        '"123456789012345678901234567890"',
        "-1",
        "0",
        '"0.00"',
        '"-0"',
        "24.01",
        '"24.001"',
        "1.005",
        '"1e-30"',
        '"1E+999999999"',
    ],
)
def test_hours_outside_the_contract_are_refused_when_read(raw):
    """Positive, at most 24, to the hundredth: refused here, answered as an invalid payload
    on first delivery (never a number the ledger cannot compute with)."""
    with pytest.raises(ValidationError, match="hours"):
        hours_from_json(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0.01", "0.01"),
        ('"0.01"', "0.01"),
        ("24", "24"),
        ('"24.00"', "24"),
        ("23.99", "23.99"),
        ('"1.50"', "1.5"),
        ("1e1", "10"),
    ],
)
def test_hours_at_the_bounds_of_the_contract_are_read(raw, expected):
    assert hours_from_json(raw) == Decimal(expected)


def test_the_schema_describes_hours_as_the_model_reads_them():
    [number, text] = HoursLogged.model_json_schema()["properties"]["hours"]["anyOf"]

    assert (number["type"], number["exclusiveMinimum"], number["maximum"]) == ("number", 0, 24)
    assert (text["type"], text["pattern"]) == ("string", HOURS_TEXT)
    hundredths = [Decimal(n) / 100 for n in range(0, 2601)]
    spellings = {f"{h:.2f}" for h in hundredths} | {f"{h.normalize():f}" for h in hundredths}
    for spelling in sorted(spellings | {"1e1", "01.5", "-1", "1.", ".5", "1.505", "abc"}):
        if re.match(HOURS_TEXT, spelling):
            assert 0 < hours_from_json(json.dumps(spelling)) <= 24, spelling
    for spelling in spellings:  # the plain spellings: the pattern and the model agree
        read = True
        try:
            hours_from_json(json.dumps(spelling))
        except ValidationError:
            read = False
        assert bool(re.match(HOURS_TEXT, spelling)) is read, spelling


@pytest.mark.parametrize("field", ["person_id", "category", "hours", "activity_date"])
def test_each_required_hours_field_is_enforced(field):
    data = {key: value for key, value in VALID_DATA.items() if key != field}

    with pytest.raises(ValidationError, match=field):
        HoursLogged.model_validate_json(json.dumps(data))


def test_the_activity_date_must_be_a_date():
    with pytest.raises(ValidationError, match="activity_date"):
        hours_logged(activity_date="yesterday")


def test_a_partner_message_parses_into_the_typed_envelope():
    body = {
        "specversion": "1.0",
        "id": "0b6c1a9e-partner-1",
        "source": "partner/smhc",
        "type": "HoursLogged",
        "time": "2027-03-01T17:00:00-05:00",
        "datacontenttype": "application/json",
        "data": {**VALID_DATA, "hours": 1.5, "note": "peer group"},
    }

    envelope = TypeAdapter(CloudEvent[HoursLogged]).validate_json(json.dumps(body))

    assert envelope.data.hours == Decimal("1.5")
    assert envelope.schemaversion == 1
    assert envelope.correlationid is None
    assert envelope.nats_subject == "ips.hours.logged.smhc"


# Subjects ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "subject"),
    [
        ("partner/smhc", "ips.hours.logged.smhc"),
        ("service/certification", "ips.hours.logged.service-certification"),
        ("trainer/42", "ips.hours.logged.trainer-42"),
        ("partner/maine_peer-org2", "ips.hours.logged.maine_peer-org2"),
        ("partner/" + "a" * 63, "ips.hours.logged." + "a" * 63),
    ],
)
def test_hours_logged_subject_is_derived_from_the_source(source, subject):
    assert CloudEvent.wrap(sample(), source=source).nats_subject == subject


@pytest.mark.parametrize(
    "source",
    [
        "partner/SMHC",
        "partner/a.b",
        "partner/a*",
        "partner/a>",
        "partner/a b",
        "partner/service-x",
        "partner/trainer-7",
        "partner/-smhc",
        "partner/_smhc",
        "partner/" + "a" * 64,
        "hospital/x",
        "partner/",
        "partner",
        "smhc",
        "partner/smhc/extra",
        "Partner/smhc",
    ],
)
def test_a_source_no_hours_subject_can_be_derived_from_raises_invalid_source(source):
    envelope = CloudEvent.wrap(sample(), source=source)

    with pytest.raises(InvalidSource):
        envelope.nats_subject  # noqa: B018


@pytest.mark.parametrize("source", ["partner/smhc\n", "partner/smhc\r\n", "trainer/42\n"])
def test_a_source_with_a_trailing_line_break_raises_invalid_source(source):
    with pytest.raises(InvalidSource):
        subjects.hours_logged_subject(source)


def test_invalid_source_is_a_value_error():
    assert issubclass(InvalidSource, ValueError)


def test_hours_rejected_data_fields_are_exactly_the_published_ones():
    assert set(HoursRejected.model_fields) == {"rejected_event_id", "reason_code", "reason"}


def test_hours_rejected_reason_codes_are_stable():
    assert {code.value for code in HoursRejectionCode} == {
        "invalid_payload",
        "unknown_person",
        "non_positive_hours",
        "daily_limit_exceeded",
        "future_date",
        "before_record_began",
        "unknown_category",
        "source_mismatch",
    }


def test_hours_rejected_reason_is_limited_to_500_characters():
    HoursRejected(rejected_event_id="e", reason_code="future_date", reason="x" * 500)
    with pytest.raises(ValidationError, match="reason"):
        HoursRejected(rejected_event_id="e", reason_code="future_date", reason="x" * 501)


def test_hours_rejected_subject_ends_in_the_source_token():
    assert hours_rejected_subject("smhc") == "ips.hours.rejected.smhc"


def test_a_rejection_goes_back_on_the_token_the_hours_came_from():
    for source in ("partner/smhc", "trainer/42", "service/enrollment"):
        logged = subjects.hours_logged_subject(source)
        token = subjects.source_token(source)

        assert logged.rsplit(".", 1)[1] == token
        assert hours_rejected_subject(token).rsplit(".", 1)[1] == token


def test_hours_rejected_without_an_explicit_subject_cannot_be_published():
    rejection = HoursRejected(rejected_event_id="e", reason_code="future_date", reason="in 2099")

    with pytest.raises(ValueError, match="explicit subject"):
        CloudEvent.wrap(rejection, source="service/certification").nats_subject  # noqa: B018
