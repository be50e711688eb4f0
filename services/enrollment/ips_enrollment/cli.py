from pathlib import Path

from ips_shared.cli import service_cli

from . import SERVICE
from .app import create_app
from .settings import EnrollmentSettings

cli = service_cli(
    SERVICE, EnrollmentSettings, create_app, Path(__file__).parent / "db" / "migrations"
)


def main() -> None:
    cli()
