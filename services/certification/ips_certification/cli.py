from pathlib import Path

from ips_shared.cli import service_cli

from . import SERVICE
from .app import create_app
from .settings import CertificationSettings

cli = service_cli(
    SERVICE, CertificationSettings, create_app, Path(__file__).parent / "db" / "migrations"
)


def main() -> None:
    cli()
