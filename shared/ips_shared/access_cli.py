"""`ips-access`: the operator's command for NATS identities (see `nats_access`).

ips-access init                   the admin's and the services' identities
ips-access add partner/mmc        a reporter's credentials file, to hand over
ips-access list                   the reporters (one JSON line each)
ips-access revoke partner/mmc     takes effect at once on a server started with the folder
ips-access rotate service/enrollment   new keys for the admin or a service (then restart it)
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import typer

from .nats_access import AccessDirectory, AccessError

app = typer.Typer(
    name="ips-access",
    help="NATS identities: the services', the admin's and each hours reporter's.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
folder_option = typer.Option(
    Path(os.environ.get("IPS_ACCESS_DIR", ".data/access")),
    "--dir",
    help="The access folder (IPS_ACCESS_DIR); keep it private",
)
source_argument = typer.Argument(help="partner/<id>, trainer/<id> or obh/<id>")


def _reloaded(access: AccessDirectory) -> None:
    if access.reload_server():
        typer.echo("the NATS server reloaded its configuration")
    else:
        typer.echo(
            f"no local NATS server runs with {access.root}: reload yours"
            " (`nats-server --signal reload`) so that it reads the new auth.conf"
        )


@app.command("init")
def init_command(folder: Path = folder_option) -> None:
    """Make the admin's and the services' identities (kept if they exist) and auth.conf."""
    access = AccessDirectory(folder)
    access.initialise()
    typer.echo(f"identities in {folder / 'identities'}; server authorization in {access.auth_conf}")


@app.command("add")
def add_command(source: str = source_argument, folder: Path = folder_option) -> None:
    """Issue a reporter's identity: it may publish its own hours and read its own answers."""
    access = AccessDirectory(folder)
    try:
        path = access.add_reporter(source)
    except AccessError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"credentials for {source}: {path} (hand it over privately)")
    _reloaded(access)


@app.command("list")
def list_command(folder: Path = folder_option) -> None:
    """The reporters allowed now."""
    for reporter in AccessDirectory(folder).reporters():
        typer.echo(json.dumps(dataclasses.asdict(reporter)))


@app.command("revoke")
def revoke_command(source: str = source_argument, folder: Path = folder_option) -> None:
    """Withdraw a reporter's identity; its connection is closed on reload."""
    access = AccessDirectory(folder)
    try:
        access.revoke_reporter(source)
    except AccessError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"revoked {source}")
    _reloaded(access)


@app.command("rotate")
def rotate_command(
    identity: str = typer.Argument(help="admin or service/<name>"),
    folder: Path = folder_option,
) -> None:
    """New keys for the admin's or a service's identity; the old ones stop working when the
    server reloads: give the new file to whoever uses it and restart them."""
    access = AccessDirectory(folder)
    try:
        path = access.rotate_internal(identity)
    except AccessError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"new credentials for {identity}: {path}")
    _reloaded(access)


def main() -> None:
    app()
