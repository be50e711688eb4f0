"""`ips-certification`: the commands every service has, and the import of certificates a
state granted before this system."""

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import IntegrityError

from ips_shared.cli import cli_settings, service_cli
from ips_shared.csv_import import run_import

from .. import SERVICE
from ..bootstrap import bootstrap
from ..commands import ImportCertificate
from ..domain.certificates import CertificateRow, read_certificates
from ..domain.errors import CertificateConflict
from ..settings import CertificationSettings

cli = service_cli(
    SERVICE, CertificationSettings, bootstrap, Path(__file__).parents[1] / "db" / "migrations"
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
    bus = bootstrap(cli_settings(SERVICE, CertificationSettings)).bus

    def apply(row: CertificateRow) -> bool:
        try:
            return bus.handle(ImportCertificate(row, certificates.name))
        except IntegrityError:  # another import took the person or number meanwhile
            raise CertificateConflict(
                "changed by another import at the same time; import the file again."
            ) from None

    run_import(certificates, read_certificates, apply)


def main() -> None:
    cli()
