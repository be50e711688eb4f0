from pathlib import Path

from pydantic import Field, FilePath, field_validator
from pydantic_settings import SettingsConfigDict

from ips_shared.settings import ServiceSettings, readable_policy

from .domain.policy import read_policy


class CertificationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CERTIFICATION_")

    http_port: int = Field(default=8002, ge=1, le=65535)
    hours_batch_size: int = Field(
        default=2000,
        ge=1,
        le=5000,
        description="Hours reports applied per transaction at most (bulk from every source)",
    )
    scheduler_poll_seconds: float = Field(
        default=60.0, gt=0, description="How often the scheduler looks for dates that came"
    )
    scheduler_settle_seconds: float = Field(
        default=1.0,
        ge=0,
        description="After new facts wake the scheduler, wait this long so that a burst of "
        "reports is evaluated once per person",
    )
    policy_file: FilePath | None = Field(
        default=None,
        description="The program policy (TOML); without it the defaults reproduce Maine's rules",
    )

    @field_validator("policy_file")
    @classmethod
    def _valid_policy(cls, path: Path | None) -> Path | None:
        return None if path is None else readable_policy(path, read_policy)
