from pydantic import Field
from pydantic_settings import SettingsConfigDict

from ips_shared.settings import ServiceSettings


class CertificationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CERTIFICATION_")

    http_port: int = Field(default=8002, ge=1, le=65535)
