import re

import pytest
from nats.js.api import StorageType

from ips_shared.contracts import events, streams, subjects

SERVICES = {"enrollment", "certification", "notifications", "directory"}

FIXED_SUBJECTS = sorted(model.subject for model in events.CATALOGUE if "*" not in model.subject)

EXPECTED_STREAM = {
    subjects.PS101_COMPLETED: "ENROLLMENT",
    subjects.APPLICATION_SUBMITTED: "ENROLLMENT",
    subjects.APPLICATION_ACCEPTED: "ENROLLMENT",
    subjects.APPLICATION_WAITLISTED: "ENROLLMENT",
    subjects.APPLICATION_DECLINED: "ENROLLMENT",
    subjects.APPLICATION_WITHDRAWN: "ENROLLMENT",
    subjects.TRAINING_DAY_ATTENDED: "ENROLLMENT",
    subjects.TRAINING_COMPLETED: "ENROLLMENT",
    subjects.COHORT_SCHEDULED: "ENROLLMENT",
    subjects.CERTIFICATION_STATUS_CHANGED: "CERTIFICATION",
    subjects.REVIEW_DUE: "CERTIFICATION",
    subjects.REVIEW_COMPLETED: "CERTIFICATION",
    subjects.HOURS_VOIDED: "CERTIFICATION",
    subjects.NOTIFICATION_DELIVERED: "NOTIFICATIONS",
    subjects.NOTIFICATION_FAILED: "NOTIFICATIONS",
}

IRREGULAR_PAST_PARTICIPLES = {"Withdrawn"}
NOT_PAST_TENSE = {"ReviewDue"}

SUBJECT_SHAPE = re.compile(r"^ips(\.[a-z0-9_]+){2}\.([a-z0-9_]+|\*)$")


def nats_matches(pattern: str, subject: str) -> bool:
    """NATS wildcard semantics: `*` is one token, a final `>` is one or more."""
    pattern_tokens, tokens = pattern.split("."), subject.split(".")
    if pattern_tokens[-1] == ">":
        head = pattern_tokens[:-1]
        return len(tokens) > len(head) and all(
            p in ("*", t) for p, t in zip(head, tokens, strict=False)
        )
    return len(tokens) == len(pattern_tokens) and all(
        p in ("*", t) for p, t in zip(pattern_tokens, tokens, strict=True)
    )


def capturing_streams(subject: str) -> list[str]:
    return [
        spec.name
        for spec in streams.ALL
        if any(nats_matches(pattern, subject) for pattern in spec.subjects)
    ]


def test_the_catalogue_has_fixed_subjects_to_check():
    assert set(FIXED_SUBJECTS) == set(EXPECTED_STREAM)


@pytest.mark.parametrize("subject", FIXED_SUBJECTS)
def test_each_fixed_catalogue_subject_is_captured_by_exactly_one_stream(subject):
    assert capturing_streams(subject) == [EXPECTED_STREAM[subject]]
    assert streams.stream_for_subject(subject).name == EXPECTED_STREAM[subject]


@pytest.mark.parametrize(
    "subject",
    [
        "ips.hours.logged.smhc",
        "ips.hours.logged.service-certification",
        "ips.hours.logged.trainer-42",
        "ips.hours.rejected.smhc",
        subjects.hours_logged_subject("partner/smhc"),
        subjects.hours_rejected_subject(subjects.source_token("trainer/42")),
    ],
)
def test_per_source_hours_subjects_land_in_hours_only(subject):
    assert streams.stream_for_subject(subject) is streams.HOURS
    assert capturing_streams(subject) == ["HOURS"]


@pytest.mark.parametrize(
    "subject",
    [
        "ips.hours.logged",
        "ips.hours.logged.smhc.extra",
        "ips.hours.corrected.smhc",
        "ips.unknown.thing.happened",
        "other.enrollment.application.submitted",
        "ips.enrollment",
        "ips.deadletter.enrollment",
    ],
)
def test_a_subject_no_stream_captures_raises_lookup_error(subject):
    assert capturing_streams(subject) == []
    with pytest.raises(LookupError):
        streams.stream_for_subject(subject)


@pytest.mark.parametrize("person_id", ["p-1", "a.b*c >d", "x" * 64])
def test_contact_subjects_land_in_contacts_only_one_subject_per_person(person_id):
    subject = subjects.person_contact_subject(person_id)
    assert capturing_streams(subject) == ["CONTACTS"]
    assert subject == subjects.person_contact_subject(person_id)
    assert subject != subjects.person_contact_subject(person_id + "x")
    assert streams.CONTACTS.config().max_msgs_per_subject == 1


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_dead_letter_subjects_land_in_the_services_own_dead_letter_stream(service):
    subject = subjects.dead_letter_subject(service, "some-consumer")

    assert streams.stream_for_subject(subject).name == f"DEADLETTER_{service.upper()}"
    assert capturing_streams(subject) == [f"DEADLETTER_{service.upper()}"]


def test_stream_names_are_unique():
    names = [spec.name for spec in streams.ALL]

    assert len(names) == len(set(names))


def test_no_two_streams_declare_the_same_subject_pattern():
    patterns = [pattern for spec in streams.ALL for pattern in spec.subjects]

    assert len(patterns) == len(set(patterns))


@pytest.mark.parametrize("spec", streams.ALL, ids=lambda spec: spec.name)
def test_every_stream_has_one_owner_among_the_four_services(spec):
    assert isinstance(spec.owner, str)
    assert spec.owner in SERVICES


def test_stream_owners_are_the_expected_services():
    owners = {spec.name: spec.owner for spec in streams.ALL}

    assert owners == {
        "ENROLLMENT": "enrollment",
        "HOURS": "certification",
        "CERTIFICATION": "certification",
        "CONTACTS": "enrollment",
        "NOTIFICATIONS": "notifications",
        "DEADLETTER_ENROLLMENT": "enrollment",
        "DEADLETTER_CERTIFICATION": "certification",
        "DEADLETTER_NOTIFICATIONS": "notifications",
        "DEADLETTER_DIRECTORY": "directory",
    }


def test_the_stream_module_knows_exactly_the_four_services():
    assert set(streams.SERVICES) == SERVICES


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_service_owns_its_dead_letter_stream(service):
    owned = {spec.name: spec for spec in streams.owned_by(service)}
    dead_letters = owned[f"DEADLETTER_{service.upper()}"]

    assert dead_letters.owner == service
    assert dead_letters.subjects == (f"ips.deadletter.{service}.>",)
    assert dead_letters.max_age_seconds > 0


def test_owned_by_partitions_all_streams():
    owned = [spec for service in sorted(SERVICES) for spec in streams.owned_by(service)]

    assert sorted(spec.name for spec in owned) == sorted(spec.name for spec in streams.ALL)


@pytest.mark.parametrize("spec", streams.ALL, ids=lambda spec: spec.name)
def test_stream_config_is_durable_and_deduplicating(spec):
    config = spec.config()

    assert config.name == spec.name
    assert config.subjects == list(spec.subjects)
    assert config.storage == StorageType.FILE
    assert config.duplicate_window is not None
    assert config.duplicate_window > 0
    assert config.max_age == spec.max_age_seconds


def test_stream_config_survives_conversion_to_the_server_request():
    request = streams.HOURS.config().as_dict()

    assert request["storage"] == "file"
    assert request["duplicate_window"] == int(streams.DUPLICATE_WINDOW_SECONDS * 1_000_000_000)
    assert request["subjects"] == ["ips.hours.logged.*", "ips.hours.rejected.*"]


def test_subject_constants_read_area_entity_fact():
    constants = {
        name: value
        for name, value in vars(subjects).items()
        if name.isupper()
        and isinstance(value, str)
        and value.startswith("ips.")
        and not name.endswith("_PREFIX")
    }
    assert len(constants) >= len(events.CATALOGUE)

    malformed = {name: value for name, value in constants.items() if not SUBJECT_SHAPE.match(value)}

    assert not malformed, f"subjects must read ips.<area>.<entity>.<fact>: {malformed}"


def test_subject_prefixes_complete_to_area_entity_fact():
    prefixes = {
        name: value
        for name, value in vars(subjects).items()
        if name.endswith("_PREFIX") and isinstance(value, str)
    }
    assert prefixes
    completed = {
        name: value + ".x" * (4 - len(value.split("."))) for name, value in prefixes.items()
    }

    malformed = {name: value for name, value in completed.items() if not SUBJECT_SHAPE.match(value)}

    assert not malformed
    assert SUBJECT_SHAPE.match(subjects.dead_letter_subject("enrollment", "consumer_1"))


@pytest.mark.parametrize("model", events.CATALOGUE, ids=lambda model: model.event_type)
def test_catalogue_subjects_read_area_entity_fact(model):
    assert SUBJECT_SHAPE.match(model.subject), model.subject


@pytest.mark.parametrize("model", events.CATALOGUE, ids=lambda model: model.event_type)
def test_event_type_names_a_past_fact(model):
    fact = re.findall(r"[A-Z][a-z0-9]*", model.event_type)[-1]

    assert (
        fact.endswith("ed")
        or fact in IRREGULAR_PAST_PARTICIPLES
        or model.event_type in NOT_PAST_TENSE
    ), model.event_type
    assert model.event_type[0].isupper()


def test_catalogue_event_types_and_subjects_are_unique():
    types = [(model.event_type, model.schema_version) for model in events.CATALOGUE]
    fixed = [model.subject for model in events.CATALOGUE if "*" not in model.subject]

    assert len(types) == len(set(types))
    assert len(fixed) == len(set(fixed))
    assert set(events.BY_TYPE) == set(types)


def test_streams_are_kept_in_as_many_copies_as_the_settings_say():
    assert all(spec.config().num_replicas == 1 for spec in streams.ALL)  # one server
    assert all(spec.config(3).num_replicas == 3 for spec in streams.ALL)  # a cluster of three
