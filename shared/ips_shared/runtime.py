"""What every service process is made of: broker, database, outbox relay, consumers,
health endpoints and the AsyncAPI document. A service adds its tables, use cases,
subscribers and HTTP routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from faststream.nats import NatsBroker
from faststream.specification import AsyncAPI
from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from .contracts import streams
from .contracts.envelope import CloudEvent, EventPayload
from .db import create_db_engine
from .errors import Refused
from .messaging.consumer import Apply, BatchConsumer, ConsumerSpec, Refuse
from .messaging.records import InboxColumns, OutboxColumns
from .messaging.relay import OutboxRelay
from .messaging.streams import declare_streams, wait_for_streams
from .messaging.unit_of_work import UnitOfWork
from .messaging.worker import Worker
from .settings import ServiceSettings

log = structlog.get_logger("ips.runtime")


class ServiceRuntime:
    def __init__(
        self,
        name: str,
        settings: ServiceSettings,
        *,
        outbox: type[OutboxColumns],
        inbox: type[InboxColumns],
        version: str = "0.1.0",
        description: str = "",
    ) -> None:
        self.name = name
        self.settings = settings
        self.description = description
        self.version = version
        self.engine = create_db_engine(settings.database_url)
        self._outbox = outbox
        self._inbox = inbox
        # FastStream logs two lines per message at the level given here: keep them at
        # DEBUG; consumers log batches and failures themselves, with event ids.
        self.broker = NatsBroker(
            settings.nats_url,
            logger=logging.getLogger(f"ips.{name}.broker"),
            log_level=logging.DEBUG,
            graceful_timeout=15.0,
            max_reconnect_attempts=-1,
        )
        self.relay = OutboxRelay(
            self.engine, outbox, self.jetstream, poll_seconds=settings.relay_poll_seconds
        )
        self.consumers: list[BatchConsumer] = []
        self.workers: list[Worker] = [self.relay]
        self._jetstream: JetStreamContext | None = None
        self._worker_tasks: list[asyncio.Task[None]] = []

    # -- building blocks for the service ----------------------------------------------

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(
            self.engine,
            source=f"service/{self.name}",
            outbox=self._outbox,
            inbox=self._inbox,
            after_commit=self.relay.wake,
        )

    def consume(
        self,
        name: str,
        stream: streams.StreamSpec,
        subject: str,
        events: Sequence[type[Any]],
        apply: Apply,
        description: str = "",
        refuse: Refuse | None = None,
        source_must_match_subject: bool = False,
        batch_size: int | None = None,
    ) -> BatchConsumer:
        """Consume `events` from `subject`; with `refuse`, invalid or misaddressed events are
        answered through it instead of going to the dead-letter stream; `batch_size`
        overrides the service's `CONSUMER_BATCH_SIZE` for a consumer that takes bulk."""
        spec = ConsumerSpec(
            service=self.name,
            name=name,
            stream=stream,
            subject=subject,
            events=tuple(events),
            batch_size=batch_size or self.settings.consumer_batch_size,
            max_deliver=self.settings.consumer_max_deliver,
            backoff_seconds=self.settings.consumer_backoff_seconds,
            description=description,
            source_must_match_subject=source_must_match_subject,
        )
        consumer = BatchConsumer(spec, self.unit_of_work, apply, self.broker, refuse)
        self.consumers.append(consumer)
        return consumer

    def run_alongside(self, worker: Worker) -> None:
        """Run a background loop (a scheduler, say) from start to stop of the service."""
        self.workers.append(worker)

    def publishes(self, *events: type[EventPayload]) -> None:
        """Document the events this service emits (through its outbox) in its AsyncAPI."""
        for model in events:
            self.broker.publisher(
                model.subject,
                schema=CloudEvent[model],  # type: ignore[valid-type]
                title=f"{model.subject}:{model.event_type}",
                description=(model.__doc__ or "").strip() or None,
            )

    def jetstream(self) -> JetStreamContext:
        if self._jetstream is None:
            self._jetstream = self.broker.connection.jetstream()
        return self._jetstream

    # -- lifecycle -----------------------------------------------------------------------

    async def provision(self) -> None:
        """Declare the streams this service owns (also done at every start)."""
        await self.broker.connect()
        try:
            await declare_streams(self.jetstream(), streams.owned_by(self.name))
        finally:
            await self.broker.stop()

    async def start(self) -> None:
        await self.broker.connect()
        await declare_streams(self.jetstream(), streams.owned_by(self.name))
        consumed = {c.spec.stream.name: c.spec.stream for c in self.consumers}
        await wait_for_streams(
            self.jetstream(),
            [spec for spec in consumed.values() if spec.owner != self.name],
            self.settings.stream_wait_seconds,
        )
        # The broker's own subscribers only describe channels (see BatchConsumer): the
        # consumers pull for themselves, so the broker is connected, never started.
        for consumer in self.consumers:
            await consumer.start()
        self._worker_tasks = [
            asyncio.create_task(worker.run(), name=f"{self.name}-{worker.name}")
            for worker in self.workers
        ]
        log.info("service.started", http_port=self.settings.http_port)

    async def stop(self) -> None:
        for consumer in self.consumers:
            await consumer.stop()
        for worker, task in zip(self.workers, self._worker_tasks, strict=True):
            worker.stop()
            try:
                await asyncio.wait_for(task, timeout=20)
            except TimeoutError:
                log.warning("service.worker_stop_timed_out", worker=worker.name)
        try:
            await self.broker.stop()
        except Exception as error:  # NATS gone already: nothing left to drain
            log.warning("service.broker_stop_failed", error=type(error).__name__)
        self.engine.dispose()
        log.info("service.stopped")

    async def readiness(self) -> dict[str, bool]:
        nats_ok = _connected(self.broker)
        try:
            await asyncio.to_thread(self._ping_database)
            database_ok = True
        except Exception:
            database_ok = False
        return {"nats": nats_ok, "database": database_ok}

    def _ping_database(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    # -- outward faces -----------------------------------------------------------------

    def asyncapi(self) -> dict[str, Any]:
        specification = AsyncAPI(
            self.broker,
            title=f"ips-{self.name}",
            version=self.version,
            description=self.description,
            schema_version="3.0.0",
        )
        return specification.to_specification().to_jsonable()

    def http_app(self, *routers: APIRouter) -> FastAPI:
        runtime = self

        @contextlib.asynccontextmanager
        async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
            await runtime.start()
            try:
                yield
            finally:
                await runtime.stop()

        app = FastAPI(
            title=f"ips-{self.name}",
            version=self.version,
            description=self.description,
            lifespan=lifespan,
        )
        app.state.runtime = self

        @app.get("/healthz", tags=["health"])
        async def healthz() -> dict[str, str]:
            """The process is up."""
            return {"status": "ok"}

        @app.get("/readyz", tags=["health"])
        async def readyz() -> JSONResponse:
            """NATS is connected and the database answers."""
            checks = await runtime.readiness()
            ready = all(checks.values())
            return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)

        @app.get("/asyncapi.json", tags=["docs"])
        async def asyncapi() -> dict[str, Any]:
            """The events this service publishes and consumes."""
            return runtime.asyncapi()

        for router in routers:
            app.include_router(router)
        install_error_envelope(app)
        return app


def _connected(broker: NatsBroker) -> bool:
    try:
        return bool(broker.connection.is_connected)
    except Exception:
        return False


def install_error_envelope(app: FastAPI) -> None:
    """Every refusal reads {"code": machine-readable, "detail": a sentence}. Validation
    errors name the fields and never echo the values sent."""

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(part) for part in item["loc"]), "problem": item["msg"]}
            for item in error.errors()
        ]
        sentence = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        return JSONResponse(
            {
                "code": "invalid_request",
                "detail": f"The request is not valid: {sentence}.",
                "errors": problems,
            },
            status_code=422,
        )

    @app.exception_handler(Refused)
    async def refused(_request: Request, error: Refused) -> JSONResponse:
        return JSONResponse({"code": error.code, "detail": str(error)}, status_code=error.status)

    @app.exception_handler(IntegrityError)
    async def concurrent_change(_request: Request, _error: IntegrityError) -> JSONResponse:
        # The checks passed, but another request committed the same change first.
        detail = "The request conflicts with a change made at the same time; check and retry."
        return JSONResponse({"code": "conflict", "detail": detail}, status_code=409)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        body = (
            error.detail
            if isinstance(error.detail, dict)
            else {
                "code": HTTPStatus(error.status_code).phrase.lower().replace(" ", "_"),
                "detail": str(error.detail),
            }
        )
        return JSONResponse(body, status_code=error.status_code, headers=error.headers)
