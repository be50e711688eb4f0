"""`ips-directory`: the commands every service has, and `rebuild`."""

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from ips_shared.cli import cli_settings, service_cli

from .. import SERVICE
from ..bootstrap import bootstrap
from ..settings import DirectorySettings
from .rebuild import rebuild

cli = service_cli(
    SERVICE, DirectorySettings, bootstrap, Path(__file__).parents[1] / "db" / "migrations"
)


@cli.command("rebuild")
def rebuild_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would differ; change nothing")
    ] = False,
    credentials: Annotated[
        Path | None,
        typer.Option(
            "--nats-credentials",
            help="Connect as this identity (one that may read the CERTIFICATION stream from"
            " its start with a consumer of its own)",
        ),
    ] = None,
) -> None:
    """Make the certificates' read model again from the start of the status stream (one
    transaction; the live consumer waits meanwhile). Prints what was read and how many
    people's certificates differ from the model before (their ids with --dry-run)."""
    settings = cli_settings(SERVICE, DirectorySettings)
    if credentials is not None:
        settings = settings.model_copy(update={"nats_credentials": credentials})
    done = asyncio.run(
        rebuild(bootstrap(settings), batch_size=settings.rebuild_batch_size, dry_run=dry_run)
    )
    summary = {
        "events": done.events,
        "skipped": done.skipped,
        "people": done.people,
        "differences": len(done.differences),
        "committed": done.committed,
    }
    if dry_run:
        summary["differing_people"] = done.differences  # type: ignore[assignment]
    typer.echo(json.dumps(summary))


def main() -> None:
    cli()
