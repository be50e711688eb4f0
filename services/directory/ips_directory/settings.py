from pydantic import Field
from pydantic_settings import SettingsConfigDict

from ips_shared.settings import ServiceSettings


class DirectorySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DIRECTORY_")

    http_port: int = Field(default=8004, ge=1, le=65535)
