"""Settings from the environment, one prefix per service (for example `ENROLLMENT_`)."""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import parse as parse_rate_limit
from pydantic import AfterValidator, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from .auth import COMMITTED_TOKEN_DIGESTS, ApiTokens
from .contracts.credentials import (
    InvalidCredentials,
    NatsEndpoint,
    read_credentials,
)
from .logs import LogFormat


def valid_rate_limit(value: str) -> str:
    """A validator: a limit in the `limits` notation ("10/minute", "100 per hour") that
    allows at least one call."""
    try:
        item = parse_rate_limit(value)
    except ValueError:
        raise ValueError(
            f"not a rate limit: {value!r} (write N/second, N/minute, N per 10 minutes...)"
        ) from None
    if item.amount < 1:
        raise ValueError("a rate limit allows at least 1 call")
    return value


RateLimitText = Annotated[str, AfterValidator(valid_rate_limit)]


def readable_credentials(path: Path | None) -> Path | None:
    """A validator: the credentials file reads as one (the error never shows its content)."""
    if path is not None:
        try:
            read_credentials(path)
        except InvalidCredentials as error:
            raise ValueError(str(error)) from None
    return path


class ServiceSettings(BaseSettings):
    """What every service needs; a service subclass sets its own `env_prefix`."""

    model_config = SettingsConfigDict(extra="ignore", validate_default=True)

    database_url: str = Field(
        min_length=1, description="SQLAlchemy URL of the service's own database"
    )
    nats_url: str = Field(
        default="nats://127.0.0.1:4222",
        pattern=r"^(nats|tls)://[^,\s]+(,(nats|tls)://[^,\s]+)*$",
        description="A server, or a cluster's servers separated by commas",
    )
    nats_credentials: Annotated[Path | None, AfterValidator(readable_credentials)] = Field(
        default=None,
        description="The service's own NATS credentials file (from `ips-access`); none on an"
        " open server",
    )
    http_host: str = "127.0.0.1"
    http_port: int = Field(ge=1, le=65535)
    log_format: LogFormat = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    relay_poll_seconds: float = Field(default=0.5, gt=0)
    consumer_batch_size: int = Field(default=200, ge=1, le=5000)
    consumer_max_deliver: int = Field(default=5, ge=1, le=100)
    consumer_backoff_seconds: tuple[float, ...] = Field(
        default=(1.0, 5.0, 15.0, 30.0, 60.0),
        min_length=1,
        description="Delay before redelivery after the 1st, 2nd, ... failure (last one repeats)",
    )
    environment: Literal["development", "production"] = Field(
        default="development",
        description="production refuses to serve with no API token or a committed one",
    )
    api_tokens: ApiTokens = Field(
        default_factory=dict,
        description="JSON: token name -> {sha256 (hex digest of the token), role, person_id?}",
    )
    auth_failure_limit: RateLimitText = Field(
        default="10/minute",
        description="Failed authentications per client address; beyond it every call gets 429",
    )
    public_rate_limit: RateLimitText = Field(
        default="60/minute", description="Calls per client address to a public endpoint"
    )
    max_body_bytes: int = Field(
        default=1_048_576, ge=1, description="Largest request body accepted; larger ones get 413"
    )
    stream_wait_seconds: float = Field(
        default=60.0, ge=0, description="How long to wait at start for streams other services own"
    )
    schema_wait_seconds: float = Field(
        default=60.0,
        ge=0,
        description="How long `serve` waits for the database to reach the newest migration"
        " (`ips-<service> migrate`, a deployment's Job) before giving up",
    )
    stream_replicas: int = Field(
        default=1,
        ge=1,
        le=5,
        description="Copies a NATS cluster keeps of each stream this service provisions: 1 for"
        " one server (`make run`), 3 for a production cluster of three",
    )

    otlp_endpoint: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="Where to send traces (OTLP over HTTP, e.g. http://collector:4318; needs the"
        " opentelemetry-exporter-otlp-proto-http package); none: spans are not recorded, the"
        " trace context is passed on",
    )

    def nats_endpoint(self) -> NatsEndpoint:
        credentials = read_credentials(self.nats_credentials) if self.nats_credentials else None
        return NatsEndpoint(self.nats_url, credentials)


SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


def load_settings(settings_class: type[SettingsT]) -> SettingsT:
    """Read the settings or stop the process with a message naming each bad variable."""
    try:
        return settings_class()
    except ValidationError as error:
        prefix = settings_class.model_config.get("env_prefix", "")
        lines = [f"{settings_class.__name__}: invalid or missing settings:"]
        for problem in error.errors():
            variable = prefix + "_".join(str(part) for part in problem["loc"]).upper()
            lines.append(f"  {variable}: {problem['msg']}")
        print("\n".join(lines), file=sys.stderr)
        raise SystemExit(2) from None


def production_problems(settings: ServiceSettings) -> list[tuple[str, str]]:
    """(setting, problem) pairs that make these settings unfit to serve in production."""
    if settings.environment != "production":
        return []
    if not settings.api_tokens:
        return [("api_tokens", "no token is configured: every API call would be refused")]
    committed = [
        name
        for name, token in settings.api_tokens.items()
        if token.sha256 in COMMITTED_TOKEN_DIGESTS
    ]
    if committed:
        return [
            (
                "api_tokens",
                f"{', '.join(sorted(committed))}: a development token, published in the"
                " repository; mint one with `token new`",
            )
        ]
    return []


def refuse_unfit_for_production(settings: ServiceSettings) -> None:
    """Before serving: stop the process, as `load_settings` does, naming each variable."""
    problems = production_problems(settings)
    if not problems:
        return
    prefix = type(settings).model_config.get("env_prefix", "")
    lines = [f"{type(settings).__name__}: unfit for {prefix}ENVIRONMENT=production:"]
    lines += [f"  {prefix}{setting.upper()}: {problem}" for setting, problem in problems]
    print("\n".join(lines), file=sys.stderr)
    raise SystemExit(2)


def known_time_zone(value: str) -> str:
    """A validator: an IANA time zone name."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
    return value


TimeZoneName = Annotated[str, AfterValidator(known_time_zone)]


def readable_policy(path: Path, read: Callable[[Path], object]) -> Path:
    """A validator for a policy file setting: the file parses, or the error says why."""
    try:
        read(path)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path} is not valid TOML: {error}") from None
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, item['loc']))}: {item['msg']}" for item in error.errors()
        )
        raise ValueError(f"{path} is not a valid policy: {problems}") from None
    return path
