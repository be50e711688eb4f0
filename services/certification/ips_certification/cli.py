from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import IntegrityError

from ips_shared.cli import cli_settings, service_cli
from ips_shared.csv_import import run_import

from . import SERVICE
from .app import create_app
from .domain.certificates import CertificateRow, read_certificates
from .domain.errors import CertificateConflict
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

    def apply(row: CertificateRow) -> bool:
        try:
            with unit_of_work() as uow:
                changed = service.import_certificate_row(uow, row, certificates.name)
                if changed:
                    uow.commit()
        except IntegrityError:  # another import took the person or number meanwhile
            raise CertificateConflict(
                "changed by another import at the same time; import the file again."
            ) from None
        return changed

    run_import(certificates, read_certificates, apply)


def main() -> None:
    cli()
