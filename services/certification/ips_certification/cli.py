from pathlib import Path
from typing import Annotated

import typer
from rich.progress import track
from sqlalchemy.exc import IntegrityError

from ips_shared.cli import cli_settings, service_cli

from . import SERVICE
from .app import create_app
from .domain.certificates import BadRow, CertificatesFormatError, read_certificates
from .domain.errors import CertificateConflict, CertificationError
from .service import CertificationService
from .settings import CertificationSettings

cli = service_cli(
    SERVICE, CertificationSettings, create_app, Path(__file__).parent / "db" / "migrations"
)


@cli.command("import-certificates")
def import_certificates(
    certificates: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="CSV file, UTF-8")
    ],
) -> None:
    """Import certificates granted before this system from a CSV file, one per person.

    Every row is checked; good rows are imported (again: nothing changes), each bad row is
    reported with its line number and reason, and the exit code is 1 if any was refused.
    Each imported person's status change is published when the service runs."""
    settings = cli_settings(SERVICE, CertificationSettings)
    app = create_app(settings)
    service: CertificationService = app.state.certification
    unit_of_work = app.state.runtime.unit_of_work
    with certificates.open(newline="", encoding="utf-8-sig") as handle:
        rows = sum(1 for _ in handle) - 1
    imported = unchanged = 0
    refused: list[BadRow] = []
    try:
        with certificates.open(newline="", encoding="utf-8-sig") as handle:
            for line, row in track(
                read_certificates(handle), total=max(rows, 0), description="Importing"
            ):
                if isinstance(row, BadRow):
                    refused.append(row)
                    continue
                try:
                    with unit_of_work() as uow:
                        changed = service.import_certificate_row(uow, row, certificates.name)
                        if changed:
                            uow.commit()
                except CertificationError as error:
                    refused.append(BadRow(line, f"{error.code}: {error}"))
                    continue
                except IntegrityError:  # another import took the person or number meanwhile
                    refused.append(
                        BadRow(
                            line,
                            f"{CertificateConflict.code}: changed by another import at the "
                            "same time; import the file again.",
                        )
                    )
                    continue
                imported, unchanged = imported + changed, unchanged + (not changed)
    except CertificatesFormatError as error:
        typer.echo(f"{certificates}: {error}", err=True)
        raise typer.Exit(2) from None
    for bad in refused:
        typer.echo(f"line {bad.line}: {bad.reason}")
    typer.echo(f"imported {imported}, unchanged {unchanged}, refused {len(refused)}")
    if refused:
        raise typer.Exit(1)


def main() -> None:
    cli()
