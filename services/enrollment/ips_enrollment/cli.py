from pathlib import Path
from typing import Annotated

import typer
from rich.progress import track

from ips_shared.cli import cli_settings, service_cli

from . import SERVICE
from .app import create_app
from .domain.errors import EnrollmentError
from .domain.roster import BadRow, RosterFormatError, read_roster
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
    with roster.open(newline="", encoding="utf-8-sig") as handle:
        rows = sum(1 for _ in handle) - 1
    imported = unchanged = 0
    refused: list[BadRow] = []
    try:
        with roster.open(newline="", encoding="utf-8-sig") as handle:
            for line, row in track(
                read_roster(handle), total=max(rows, 0), description="Importing"
            ):
                if isinstance(row, BadRow):
                    refused.append(row)
                    continue
                try:
                    changed = service.import_roster_row(row)
                except EnrollmentError as error:
                    refused.append(BadRow(line, f"{error.code}: {error}"))
                    continue
                imported, unchanged = imported + changed, unchanged + (not changed)
    except RosterFormatError as error:
        typer.echo(f"{roster}: {error}", err=True)
        raise typer.Exit(2) from None
    for bad in refused:
        typer.echo(f"line {bad.line}: {bad.reason}")
    typer.echo(f"imported {imported}, unchanged {unchanged}, refused {len(refused)}")
    if refused:
        raise typer.Exit(1)


def main() -> None:
    cli()
