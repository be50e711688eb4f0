import tomllib
from pathlib import Path

from pydantic import Field, FilePath, ValidationError, field_validator
from pydantic_settings import SettingsConfigDict

from ips_shared.settings import ServiceSettings

from .domain.policy import read_policy


class CertificationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CERTIFICATION_")

    http_port: int = Field(default=8002, ge=1, le=65535)
    policy_file: FilePath | None = Field(
        default=None,
        description="The program policy (TOML); without it the defaults reproduce Maine's rules",
    )

    @field_validator("policy_file")
    @classmethod
    def _valid_policy(cls, path: Path | None) -> Path | None:
        if path is not None:
            try:
                read_policy(path)
            except tomllib.TOMLDecodeError as error:
                raise ValueError(f"{path} is not valid TOML: {error}") from None
            except ValidationError as error:
                problems = "; ".join(
                    f"{'.'.join(map(str, item['loc']))}: {item['msg']}" for item in error.errors()
                )
                raise ValueError(f"{path} is not a valid policy: {problems}") from None
        return path
