from pydantic import Field
from pydantic_settings import SettingsConfigDict

from ips_shared.settings import ServiceSettings, TimeZoneName


class DirectorySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DIRECTORY_")

    http_port: int = Field(default=8004, ge=1, le=65535)
    timezone: TimeZoneName = Field(
        default="America/New_York",
        description="The program's time zone: the day on which 'valid through' is computed",
    )
    rebuild_batch_size: int = Field(default=500, ge=1, le=5000)
