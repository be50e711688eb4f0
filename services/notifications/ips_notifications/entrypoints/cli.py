"""`ips-notifications`: the commands every service has."""

from pathlib import Path

from ips_shared.cli import service_cli

from .. import SERVICE
from ..bootstrap import bootstrap
from ..settings import NotificationsSettings

cli = service_cli(
    SERVICE, NotificationsSettings, bootstrap, Path(__file__).parents[1] / "db" / "migrations"
)


def main() -> None:
    cli()
