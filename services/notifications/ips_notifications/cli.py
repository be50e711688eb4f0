from pathlib import Path

from ips_shared.cli import service_cli

from . import SERVICE
from .app import create_app
from .settings import NotificationsSettings

cli = service_cli(
    SERVICE, NotificationsSettings, create_app, Path(__file__).parent / "db" / "migrations"
)


def main() -> None:
    cli()
