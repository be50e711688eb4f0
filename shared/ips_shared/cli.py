"""The operator command line every service starts from (`ips-<service> --help`)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
import uvicorn

from .db import migrate
from .logs import configure_logging
from .messaging.dead_letters import list_dead_letters
from .service import Service
from .settings import SettingsT, load_settings


def cli_settings(name: str, settings_class: type[SettingsT]) -> SettingsT:
    """Settings for a command, with logging set up (or exit naming what is wrong)."""
    loaded = load_settings(settings_class)
    configure_logging(name, loaded.log_format, loaded.log_level)
    return loaded


def service_cli(
    name: str,
    settings_class: type[SettingsT],
    bootstrap: Callable[[SettingsT], Service],
    migrations_dir: Path,
) -> typer.Typer:
    """The commands every service has; a service adds its own to the returned app."""
    cli = typer.Typer(
        name=f"ips-{name}",
        help=f"The {name} service.",
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,  # locals may hold personal data
    )

    def settings() -> SettingsT:
        return cli_settings(name, settings_class)

    @cli.command("migrate")
    def migrate_command() -> None:
        """Apply the database migrations (idempotent)."""
        migrate(settings().database_url, migrations_dir)

    @cli.command("provision")
    def provision_command() -> None:
        """Declare the JetStream streams this service owns (idempotent)."""
        asyncio.run(bootstrap(settings()).runtime.provision())

    @cli.command("serve")
    def serve_command() -> None:
        """Run the service: HTTP API, event consumers and the outbox relay."""
        app_settings = settings()
        uvicorn.run(
            bootstrap(app_settings).http_app(),
            host=app_settings.http_host,
            port=app_settings.http_port,
            log_config=None,  # keep the structlog set-up
            access_log=False,
        )

    @cli.command("asyncapi")
    def asyncapi_command() -> None:
        """Print the AsyncAPI document (no database or NATS needed)."""
        offline = settings_class(database_url="sqlite://")
        document: dict[str, Any] = bootstrap(offline).runtime.asyncapi()
        typer.echo(json.dumps(document, indent=2, sort_keys=True))

    @cli.command("dead-letters")
    def dead_letters_command(limit: int = typer.Option(50, help="How many, newest last")) -> None:
        """List what this service's consumers dead-lettered, with the reasons."""
        app_settings = settings()
        for line in asyncio.run(list_dead_letters(app_settings.nats_url, name, limit)):
            typer.echo(json.dumps(line))

    return cli
