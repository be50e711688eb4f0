"""The NATS permission model against what the services really do: each service's
consumers are the reads it is allowed, each event it publishes falls under its publish
rules, and a confined stream is read by its readers alone."""

from __future__ import annotations

import pytest

from ips_shared.contracts import permissions, streams
from ips_shared.contracts.permissions import CONSUMERS, PUBLISHES, NotPermitted, permissions_of
from ips_shared.nats_access import render_authorization
from tests.unit.offline_service import offline_runtime

SERVICES = streams.SERVICES


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_reads_exactly_what_its_identity_may(service, monkeypatch):
    runtime = offline_runtime(service, monkeypatch)
    consumed = {(c.spec.stream.name, c.spec.name, c.spec.subject) for c in runtime.consumers}
    allowed = {(r.stream.name, r.durable, r.filter_subject) for r in CONSUMERS[service]}
    assert consumed == allowed


@pytest.mark.parametrize("service", SERVICES)
def test_every_event_a_service_publishes_is_under_its_publish_rules(service, monkeypatch):
    runtime = offline_runtime(service, monkeypatch)
    allowed = permissions_of(f"service/{service}").publish
    for event in runtime.published_events:
        assert any(streams._matches(rule, event.subject) for rule in allowed), event.subject
    for rule in PUBLISHES[service]:
        assert rule in allowed


def test_a_confined_stream_is_read_by_its_readers_alone(monkeypatch):
    monkeypatch.setitem(permissions.CONFINED_STREAMS, streams.ENROLLMENT.name, ("notifications",))
    assert permissions_of("service/notifications").subscribe  # a reader keeps its reads
    with pytest.raises(NotPermitted, match="readable by notifications only"):
        permissions_of("service/certification")


def test_a_reporter_may_publish_its_own_subject_and_hear_its_own_answers_only():
    assert permissions_of("partner/mmc") == permissions.Permissions(
        publish=("ips.hours.logged.mmc",),
        subscribe=("ips.hours.rejected.mmc", "_INBOX.mmc.>"),
    )
    assert permissions_of("trainer/t1").publish == ("ips.hours.logged.trainer-t1",)
    assert permissions_of("obh/jo").publish == ("ips.hours.logged.obh-jo",)


@pytest.mark.parametrize("identity", ["service/billing", "robot/x", "partner/service-x", ""])
def test_an_identity_the_system_does_not_know_gets_no_permissions(identity):
    with pytest.raises(ValueError):
        permissions_of(identity)


def test_no_service_may_create_purge_or_delete_a_stream():
    for service in SERVICES:
        for rule in permissions_of(f"service/{service}").publish:
            assert ">" not in rule or not rule.startswith("$JS.API"), rule
            for forbidden in ("STREAM.CREATE", "STREAM.UPDATE", "STREAM.PURGE", "STREAM.DELETE"):
                assert forbidden not in rule, (service, rule)


def test_the_server_configuration_names_each_identity_with_its_permissions():
    rendered = render_authorization([("partner/mmc", "UPARTNER"), ("admin", "UADMIN")])
    assert "# partner/mmc" in rendered and '"nkey": "UPARTNER"' in rendered
    assert '"allow": ["ips.hours.logged.mmc"]' in rendered
    assert rendered.count('{"nkey"') == 2
