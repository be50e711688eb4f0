"""The HTTP face every service shares: health, readiness, metrics, the AsyncAPI document,
the request's correlation id and trace, one error envelope, and the guards of
`http_limits` (a body limit, security headers). The OpenAPI document is served at
`/openapi.json`; the Swagger and ReDoc pages are off, as they load their scripts from a
third-party CDN.

Every refusal reads `{"code": machine-readable, "detail": a sentence}`. The kinds of
`ips_shared.errors` map to HTTP statuses here and nowhere else; validation errors name
the fields and never echo the values sent."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import errors
from .auth import ApiToken, Principal, Role, principal_of, principals_by_digest
from .http_audit import install_audit_trail
from .http_limits import BodyLimit, SecurityHeaders
from .listing import LARGEST_PAGE, PageRequest, csv_text
from .messaging.causation import CORRELATION_HEADER, chain_of_request, within
from .metrics import METRICS_PATH, HttpMetrics
from .rate_limits import RateLimits, client_of, rate_limits_of, too_many_requests
from .tracing import TracedRequests

if TYPE_CHECKING:
    from .runtime import ServiceRuntime

STATUS_OF_ERROR: dict[type[errors.DomainError], int] = {
    errors.NotFound: 404,
    errors.Forbidden: 403,
    errors.Conflict: 409,
    errors.Invalid: 422,
}


def status_of(error: errors.DomainError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_OF_ERROR:
            return STATUS_OF_ERROR[kind]
    return 422


def http_app(runtime: ServiceRuntime, *routers: APIRouter) -> FastAPI:
    """The service's FastAPI app; its lifespan starts and stops the runtime."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title=f"ips-{runtime.name}",
        version=runtime.version,
        description=runtime.description,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.rate_limits = RateLimits(
        failed_authentication=runtime.settings.auth_failure_limit,
        public=runtime.settings.public_rate_limit,
    )

    @app.middleware("http")
    async def correlation(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """A request starts a chain (or continues the one its caller names); the events
        its work emits and the lines it logs carry that id."""
        with within(chain_of_request(request.headers.get(CORRELATION_HEADER))) as chain:
            response = await call_next(request)
        response.headers[CORRELATION_HEADER] = chain.correlation_id
        return response

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    async def readyz() -> JSONResponse:
        """NATS is connected, the database answers, and every consumer is consuming: its
        loop runs, its stream and durable consumer exist. When not, `problems` says why."""
        checks = await runtime.readiness()
        problems = runtime.consumer_problems()
        ready = all(checks.values()) and not problems
        body: dict[str, Any] = {"ready": ready, **checks}
        if problems:
            body["problems"] = problems
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get(METRICS_PATH, include_in_schema=False)
    async def metrics() -> Response:
        """Prometheus metrics (`ips_shared.metrics`): counts and timings, no personal data."""
        body, content_type = runtime.metrics.exposition()
        return Response(body, media_type=content_type)

    @app.get("/asyncapi.json", tags=["docs"])
    async def asyncapi() -> dict[str, Any]:
        """The events this service publishes and consumes."""
        return runtime.asyncapi()

    for router in routers:
        app.include_router(router)
    install_error_envelope(app)
    # Added last, so outermost: a refused body never reaches the app, and the 413 carries
    # the security headers too.
    app.add_middleware(BodyLimit, max_bytes=runtime.settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    if runtime.audit is not None:  # last, so outermost: it sees the guards' refusals too
        operators = require(bearer_principal(runtime.settings.api_tokens), Role.OPERATOR)
        install_audit_trail(app, runtime.engine, runtime.audit, operators)
    # Outside even the audit trail: every answer is counted and traced, the guards' too, and
    # the request's span is current wherever the request is handled.
    app.add_middleware(TracedRequests, tracing=runtime.tracing)
    app.add_middleware(HttpMetrics, metrics=runtime.metrics)
    return app


def install_error_envelope(app: FastAPI) -> None:
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

    @app.exception_handler(errors.DomainError)
    async def refused(_request: Request, error: errors.DomainError) -> JSONResponse:
        return JSONResponse(
            {"code": error.code, "detail": str(error)}, status_code=status_of(error)
        )

    @app.exception_handler(IntegrityError)
    async def concurrent_change(_request: Request, _error: IntegrityError) -> JSONResponse:
        # The checks passed, but another request committed the same change first.
        detail = "The request conflicts with a change made at the same time; check and retry."
        return JSONResponse({"code": "conflict", "detail": detail}, status_code=409)

    @app.exception_handler(DataError)
    async def unstorable(_request: Request, _error: DataError) -> JSONResponse:
        # Passed the request's own checks, refused by the database: a NUL character in
        # text (PostgreSQL stores none), a number out of a column's range.
        detail = "A value in the request cannot be stored or searched for (a control character?)."
        return JSONResponse({"code": "invalid_value", "detail": detail}, status_code=422)

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


# -- who asks ------------------------------------------------------------------------


def _unauthorized(detail: str, request: Request) -> HTTPException:
    # Counted for the caller's address: past the limit, `bearer_principal` answers 429.
    rate_limits_of(request).failed_authentication.count(client_of(request))
    return HTTPException(
        401, {"code": "unauthorized", "detail": detail}, {"WWW-Authenticate": "Bearer"}
    )


def bearer_principal(
    tokens: Mapping[str, ApiToken | Mapping[str, str]],
) -> Callable[[Request], Principal]:
    """A dependency: the principal whose token the request bears (`Authorization: Bearer`).
    A client address with too many failed attempts is answered 429 before its token is
    looked at, so guessing tokens is slow; successful calls are not counted."""
    principals = principals_by_digest(tokens)

    def principal(request: Request) -> Principal:
        failures = rate_limits_of(request).failed_authentication
        if (retry_after := failures.wait_before_next(client_of(request))) is not None:
            raise too_many_requests(retry_after, "Too many failed authentications.")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized("A bearer token is required.", request)
        who = principal_of(token, principals)
        if who is None:
            raise _unauthorized("The token is not recognised.", request)
        request.state.principal = who  # who asked, for the audit trail
        return who

    return principal


def require(principal: Callable[[Request], Principal], *roles: Role) -> Callable[..., Principal]:
    """A dependency admitting only the given roles."""

    def check(who: Principal = Depends(principal)) -> Principal:  # noqa: B008
        if who.role not in roles:
            raise HTTPException(
                403, {"code": "forbidden", "detail": f"This needs the {' or '.join(roles)} role."}
            )
        return who

    return check


# Operators' lists (`ips_shared.listing`): the query parameters and the CSV answer.
PageNumber = Annotated[int, Query(ge=1, le=1_000_000, description="From 1")]
PageSize = Annotated[int, Query(ge=1, le=LARGEST_PAGE, description="Rows per page")]
ListFormat = Annotated[
    Literal["json", "csv"], Query(description="`csv`: every matching row, as a CSV file")
]


def requested_page(format: str, page: int, page_size: int) -> PageRequest | None:
    """The page asked for; a CSV export has every matching row (no page)."""
    return None if format == "csv" else PageRequest(page, page_size)


def csv_response(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[str], filename: str
) -> Response:
    """The rows as a CSV file to download (UTF-8, a header line)."""
    return Response(
        csv_text(rows, columns),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
