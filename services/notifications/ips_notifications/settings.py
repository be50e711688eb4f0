from datetime import time
from pathlib import Path
from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, FilePath, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from ips_shared.settings import ServiceSettings, readable_policy

from .domain.policy import read_policy


class NotificationsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_")

    http_port: int = Field(default=8003, ge=1, le=65535)
    policy_file: FilePath | None = Field(
        default=None,
        description="The program policy (TOML): the intake deadlines and the days before them"
        " to remind; without it the defaults reproduce Maine's",
    )

    # Email (SMTP)
    smtp_host: str = Field(default="127.0.0.1", min_length=1)
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = Field(default=False, description="Upgrade the connection (STARTTLS)")
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    mail_from: str = Field(
        default="IPS Peer Support <no-reply@ips.example.org>",
        min_length=3,
        description="The sender of every email; its domain also names the Message-IDs",
    )

    # Text messages (the provider's HTTP API: POST {to, body})
    sms_url: str | None = Field(
        default=None, description="The text provider's endpoint; without it texts go by email"
    )
    sms_timeout_seconds: float = Field(default=15.0, gt=0)

    # What the messages point to
    portal_url: str = Field(
        default="https://ips.example.org", description="Where a person signs in to see more"
    )
    help_contact: str = Field(
        default="the Office of Behavioral Health peer support team",
        description="Who to ask for help, named in every message",
    )

    # The delivery worker
    delivery_poll_seconds: float = Field(default=30.0, gt=0)
    delivery_batch_size: int = Field(default=20, ge=1, le=500)
    delivery_retry_seconds: tuple[float, ...] = Field(
        default=(60.0, 300.0, 900.0, 3600.0, 14400.0),
        min_length=1,
        description="Delay before the next attempt after the 1st, 2nd, ... transient failure"
        " (the last one repeats)",
    )
    delivery_max_attempts: int = Field(default=8, ge=1, le=100)
    delivery_lease_seconds: float = Field(
        default=900.0,
        gt=0,
        description="An attempt in flight this long is taken for abandoned by a crashed worker"
        " (of any replica) and sent again, with the same Message-ID; must exceed the time a"
        " batch may take to send",
    )
    delivery_expire_after_hours: float = Field(
        default=14 * 24.0,
        gt=0,
        description="A notification not sent this long after it fell due is given up (final)",
    )

    # The reminder scheduler (the day before each training day; deadlines coming)
    reminder_poll_seconds: float = Field(
        default=300.0, gt=0, description="How often the calendar is looked at for reminders"
    )

    # Quiet hours for texts, in the program's time zone (also the reminders' calendar)
    timezone: str = "America/New_York"
    quiet_hours_start: time = time(21, 0)
    quiet_hours_end: time = time(8, 0)

    @field_validator("policy_file")
    @classmethod
    def _valid_policy(cls, path: Path | None) -> Path | None:
        return None if path is None else readable_policy(path, read_policy)

    @model_validator(mode="after")
    def _lease_outlasts_a_batch(self) -> Self:
        """A worker sends a batch one message after another, each within its timeout: a
        lease shorter than that would let another replica send a message still in hand."""
        slowest = self.delivery_batch_size * max(
            self.smtp_timeout_seconds, self.sms_timeout_seconds
        )
        if self.delivery_lease_seconds <= slowest:
            raise ValueError(
                "delivery_lease_seconds must exceed delivery_batch_size times the longest"
                f" channel timeout ({slowest:g} s)"
            )
        return self

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}") from None
        return name
