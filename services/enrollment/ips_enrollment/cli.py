from pathlib import Path
from typing import Annotated

import typer

from ips_shared.cli import cli_settings, service_cli
from ips_shared.csv_import import run_import

from . import SERVICE
from .app import create_app
from .domain.roster import read_roster
from .service import EnrollmentService
from .settings import EnrollmentSettings

cli = service_cli(
    SERVICE, EnrollmentSettings, create_app, Path(__file__).parent / "db" / "migrations"
)


@cli.command("import-roster")
def import_roster(
    roster: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV file, UTF-8")],
) -> None:
    """Import people, Peer Support 101 and past training completions from a CSV roster.

    Every row is checked; good rows are imported (again: nothing changes), each bad row is
    reported with its line number and reason, and the exit code is 1 if any was refused.
    Events for the completions are published when the service runs."""
    settings = cli_settings(SERVICE, EnrollmentSettings)
    service: EnrollmentService = create_app(settings).state.enrollment
    run_import(roster, read_roster, service.import_roster_row)


def main() -> None:
    cli()
