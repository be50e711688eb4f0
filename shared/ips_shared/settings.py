"""Settings from the environment, one prefix per service (for example `ENROLLMENT_`)."""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from .auth import Principal
from .logs import LogFormat


class ServiceSettings(BaseSettings):
    """What every service needs; a service subclass sets its own `env_prefix`."""

    model_config = SettingsConfigDict(extra="ignore", validate_default=True)

    database_url: str = Field(
        min_length=1, description="SQLAlchemy URL of the service's own database"
    )
    nats_url: str = Field(default="nats://127.0.0.1:4222", pattern=r"^(nats|tls)://")
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
    api_tokens: dict[str, Principal] = Field(
        default_factory=dict, description="JSON: token -> {role, person_id?}", repr=False
    )
    max_body_bytes: int = Field(
        default=1_048_576, ge=1, description="Largest request body accepted; larger ones get 413"
    )
    stream_wait_seconds: float = Field(
        default=60.0, ge=0, description="How long to wait at start for streams other services own"
    )


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
