"""Which sources a consumer accepts: by default the service owning the stream, and for
hours reports those who may report hours (partners, trainers), never a service."""

from __future__ import annotations

import pytest

from ips_shared.contracts import events, streams, subjects
from ips_shared.messaging.consumer_spec import ConsumerSpec


def spec(stream: streams.StreamSpec, subject: str, **options: object) -> ConsumerSpec:
    return ConsumerSpec(
        "certification", "c", stream, subject, (events.TrainingCompleted,), **options
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("source", "accepted"),
    [
        ("service/enrollment", True),
        ("service/certification", False),
        ("service/enrollment-x", False),  # exact, not a prefix
        ("partner/evil", False),
        ("trainer/t-1", False),
        ("", False),
    ],
)
def test_an_internal_event_is_accepted_from_the_stream_owner_only(source, accepted):
    training = spec(streams.ENROLLMENT, subjects.TRAINING_COMPLETED)

    assert training.senders == ("service/enrollment",)
    assert training.may_send(source) is accepted


@pytest.mark.parametrize(
    ("source", "accepted"),
    [
        ("partner/smhc", True),
        ("trainer/t-1", True),
        ("service/certification", False),
        ("service/enrollment", False),
        ("partners/smhc", False),
        ("partner", False),
        ("obh/dana", True),
        ("obhx/dana", False),
    ],
)
def test_hours_are_accepted_from_partners_trainers_and_obh_staff_only(source, accepted):
    ledger = spec(streams.HOURS, subjects.HOURS_LOGGED_ALL)

    assert ledger.may_send(source) is accepted


def test_the_hours_rejections_come_from_certification_which_owns_the_stream():
    answers = spec(streams.HOURS, subjects.HOURS_REJECTED_ALL)

    assert answers.may_send("service/certification")
    assert not answers.may_send("partner/smhc")


def test_senders_named_for_a_consumer_replace_the_stream_owner():
    both = spec(
        streams.ENROLLMENT, subjects.TRAINING_COMPLETED, senders=("service/test", "trainer/")
    )

    assert both.may_send("service/test") and both.may_send("trainer/t-1")
    assert not both.may_send("service/enrollment")
