"""`ips-enrollment`: the commands every service has, and the roster import."""

from pathlib import Path
from typing import Annotated

import typer

from ips_shared.cli import cli_settings, service_cli
from ips_shared.csv_import import run_import

from .. import SERVICE
from ..bootstrap import bootstrap
from ..commands import ImportRosterRow
from ..domain.roster import RosterRow, read_roster
from ..settings import EnrollmentSettings

cli = service_cli(
    SERVICE, EnrollmentSettings, bootstrap, Path(__file__).parents[1] / "db" / "migrations"
)


@cli.command("import-roster")
def import_roster(
    roster: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV file, UTF-8")],
) -> None:
    """Import people, Peer Support 101 and past training completions from a CSV roster.

    Every row is checked; good rows are imported (again: nothing changes), each bad row is
    reported with its line number and reason, and the exit code is 1 if any was refused.
    Events for the completions are published when the service runs."""
    bus = bootstrap(cli_settings(SERVICE, EnrollmentSettings)).bus

    def import_row(row: RosterRow) -> bool:
        return bus.handle(ImportRosterRow(row))

    run_import(roster, read_roster, import_row)


def main() -> None:
    cli()
