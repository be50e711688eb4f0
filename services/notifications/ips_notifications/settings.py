from pydantic import Field
from pydantic_settings import SettingsConfigDict

from ips_shared.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_")

    http_port: int = Field(default=8003, ge=1, le=65535)
