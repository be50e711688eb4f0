"""`ips-directory`: the commands every service has."""

from pathlib import Path

from ips_shared.cli import service_cli

from .. import SERVICE
from ..bootstrap import bootstrap
from ..settings import DirectorySettings

cli = service_cli(
    SERVICE, DirectorySettings, bootstrap, Path(__file__).parents[1] / "db" / "migrations"
)


def main() -> None:
    cli()
