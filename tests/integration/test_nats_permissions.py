"""Everyone confined on NATS: a real nats-server started with the configuration
`ips-access` writes. Each forbidden action is tried and must be refused by the server;
the count refused equals the count tried, and nothing it touched changed."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import nats
import nats.errors
import pytest
from nats.js.api import ConsumerConfig

from ips_shared.contracts.permissions import CONSUMERS
from ips_shared.nats_access import AccessError

from .harness import eventually
from .secured_nats import Party, SecuredNats, start_secured

Attempt = tuple[str, Callable[[Party], Awaitable[Any]]]


@pytest.fixture
async def secured(tmp_path: Path) -> AsyncIterator[SecuredNats]:
    nats_server = await start_secured(tmp_path)
    # The ledger's durable consumer, as certification makes it: the one to protect.
    async with nats_server.connected_as("service/certification") as certification:
        [hours] = [read for read in CONSUMERS["certification"] if read.durable == "hours-logged"]
        await certification.connection.jetstream().add_consumer(
            hours.stream.name,
            ConsumerConfig(
                name=hours.durable, durable_name=hours.durable, filter_subject=hours.filter_subject
            ),
        )
    yield nats_server
    nats_server.server.stop()


def publish(subject: str) -> Attempt:
    async def attempt(party: Party) -> None:
        await party.connection.jetstream().publish(subject, b"{}", timeout=0.5)

    return subject, attempt


def subscribe(subject: str) -> Attempt:
    async def attempt(party: Party) -> None:
        await party.connection.subscribe(subject)

    return subject, attempt


def js_api(subject: str, call: Callable[[Any], Awaitable[Any]]) -> Attempt:
    async def attempt(party: Party) -> None:
        await call(party.connection.jetstream(timeout=0.5))

    return subject, attempt


STREAM_AND_CONSUMER_DAMAGE = [
    js_api(
        "$JS.API.CONSUMER.CREATE.HOURS.spy.ips.hours.logged.*",
        lambda js: js.add_consumer(
            "HOURS",
            ConsumerConfig(name="spy", durable_name="spy", filter_subject="ips.hours.logged.*"),
        ),
    ),
    js_api(
        "$JS.API.CONSUMER.DELETE.HOURS.hours-logged",
        lambda js: js.delete_consumer("HOURS", "hours-logged"),
    ),
    js_api("$JS.API.STREAM.PURGE.HOURS", lambda js: js.purge_stream("HOURS")),
    js_api("$JS.API.STREAM.DELETE.HOURS", lambda js: js.delete_stream("HOURS")),
    js_api("$JS.API.STREAM.PURGE.NOTIFICATIONS", lambda js: js.purge_stream("NOTIFICATIONS")),
    js_api("$JS.API.STREAM.DELETE.ENROLLMENT", lambda js: js.delete_stream("ENROLLMENT")),
    js_api(
        "$JS.API.STREAM.CREATE.ROGUE",
        lambda js: js.add_stream(name="ROGUE", subjects=["rogue.>"]),
    ),
]

PARTNER_FORBIDDEN: list[Attempt] = [
    publish("ips.hours.logged.smhc"),  # another partner's subject
    publish("ips.hours.logged.trainer-t1"),
    publish("ips.enrollment.training.completed"),
    publish("ips.certification.status.changed"),
    publish("ips.hours.rejected.mmc"),  # answering itself
    js_api("$JS.API.STREAM.LIST", lambda js: js.streams_info()),
    js_api("$JS.API.INFO", lambda js: js.account_info()),
    subscribe(">"),
    subscribe("ips.>"),
    subscribe("_INBOX.>"),
    subscribe("_INBOX.smhc.>"),  # another partner's replies
    subscribe("ips.hours.rejected.smhc"),  # another partner's rejections
    subscribe("ips.hours.rejected.*"),
    *STREAM_AND_CONSUMER_DAMAGE,
]

SERVICE_FORBIDDEN: dict[str, list[Attempt]] = {
    "service/certification": [
        publish("ips.hours.logged.mmc"),  # may answer reports, never make them
        publish("ips.enrollment.training.completed"),
        publish("ips.notifications.notification.delivered"),
        publish("ips.deadletter.enrollment.any"),
        subscribe(">"),
        subscribe("_INBOX.>"),
        subscribe("_INBOX.service-enrollment.>"),
        js_api(
            "$JS.API.CONSUMER.CREATE.ENROLLMENT.training-completed.ips.enrollment.>",
            lambda js: js.add_consumer(
                "ENROLLMENT",
                ConsumerConfig(
                    name="training-completed",
                    durable_name="training-completed",
                    filter_subject="ips.enrollment.>",  # wider than it reads
                ),
            ),
        ),
        *STREAM_AND_CONSUMER_DAMAGE[2:],
    ],
    "service/notifications": [
        publish("ips.enrollment.training.completed"),
        publish("ips.certification.status.changed"),
        publish("ips.hours.rejected.mmc"),
        subscribe("ips.hours.>"),
        *STREAM_AND_CONSUMER_DAMAGE,
    ],
    "service/directory": [
        publish("ips.certification.status.changed"),
        subscribe("ips.>"),
        *STREAM_AND_CONSUMER_DAMAGE,
    ],
}


async def damage_report(secured: SecuredNats) -> dict[str, Any]:
    """What the forbidden actions would have changed: streams, their sizes, consumers."""
    async with secured.connected_as("admin") as admin:
        js = admin.connection.jetstream()
        return {
            info.config.name: (
                info.state.messages,
                sorted(c.name for c in await js.consumers_info(info.config.name)),
            )
            for info in await js.streams_info()
        }


async def refusals(secured: SecuredNats, identity: str, attempts: list[Attempt]) -> list[str]:
    refused = []
    async with secured.connected_as(identity) as party:
        for subject, attempt in attempts:
            if await party.refused(functools.partial(attempt, party), subject):
                refused.append(subject)
    return refused


async def test_a_partner_can_do_nothing_but_report_its_own_hours(secured: SecuredNats) -> None:
    before = await damage_report(secured)

    refused = await refusals(secured, "partner/mmc", PARTNER_FORBIDDEN)

    assert refused == [subject for subject, _ in PARTNER_FORBIDDEN]
    assert len(refused) == len(PARTNER_FORBIDDEN) == 20
    assert await damage_report(secured) == before
    # What it may do, it can: publish on its own subject (acknowledged), hear its answers.
    async with secured.connected_as("partner/mmc") as partner:
        await partner.connection.subscribe("ips.hours.rejected.mmc")
        ack = await partner.connection.jetstream().publish("ips.hours.logged.mmc", b"{}")
        assert ack.stream == "HOURS"
        assert not partner.errors


@pytest.mark.parametrize("identity", sorted(SERVICE_FORBIDDEN))
async def test_a_service_cannot_touch_what_it_does_not_own(
    secured: SecuredNats, identity: str
) -> None:
    attempts = SERVICE_FORBIDDEN[identity]
    before = await damage_report(secured)

    refused = await refusals(secured, identity, attempts)

    assert refused == [subject for subject, _ in attempts]
    assert await damage_report(secured) == before


async def test_no_credentials_no_connection(secured: SecuredNats) -> None:
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(secured.url, max_reconnect_attempts=0, allow_reconnect=False)


async def test_a_revoked_partner_is_cut_off_without_restarting_anything(
    secured: SecuredNats,
) -> None:
    async with (
        secured.connected_as("partner/mmc") as revoked,
        secured.connected_as("partner/smhc") as other,
        secured.connected_as("service/certification") as service,
    ):
        await revoked.connection.jetstream().publish("ips.hours.logged.mmc", b"{}")

        kept = secured.access.credentials("partner/mmc")  # the hospital still has its file
        secured.access.revoke_reporter("partner/mmc")
        assert secured.access.reload_server()  # through the pid file, as `ips-access` does

        # The server drops the connection and refuses it back in.
        await eventually(
            lambda: (
                not revoked.connection.is_connected
                and any("Authorization Violation" in error for error in revoked.errors)
            )
        )
        with pytest.raises(nats.errors.Error):
            await revoked.connection.jetstream().publish("ips.hours.logged.mmc", b"{}", timeout=1)
        # The others keep their connections and their rights.
        assert (await other.connection.jetstream().publish("ips.hours.logged.smhc", b"{}")).seq
        assert service.connection.is_connected
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(secured.url, allow_reconnect=False, **kept.connect_options())
    assert [r.source for r in secured.access.reporters()] == ["partner/smhc", "trainer/t1"]


async def test_a_rotated_service_identity_works_with_its_new_keys_only(
    secured: SecuredNats,
) -> None:
    old = secured.access.credentials("service/enrollment")
    with pytest.raises(AccessError):
        secured.access.rotate_internal("partner/mmc")  # reporters are revoked and re-added
    secured.access.rotate_internal("service/enrollment")
    assert secured.access.reload_server()

    async def old_key_refused() -> bool:  # the server reloads on its own time
        try:
            connection = await nats.connect(
                secured.url, allow_reconnect=False, **old.connect_options()
            )
        except nats.errors.Error as error:
            return "Authorization Violation" in str(error)
        await connection.close()
        return False

    await eventually(old_key_refused, timeout=10)
    async with secured.connected_as("service/enrollment") as enrollment:  # the new file
        ack = await enrollment.connection.jetstream().publish(
            "ips.enrollment.ps101.completed", b"{}"
        )
        assert ack.stream == "ENROLLMENT" and not enrollment.errors
