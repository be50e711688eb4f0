"""The operator command line every service starts from (`ips-<service> --help`)."""

from __future__ import annotations

import asyncio
import getpass
import json
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import uvicorn
from pydantic import TypeAdapter, ValidationError

from .auth import Role, TokenName, new_token, token_entry
from .contracts.credentials import InvalidCredentials, NatsEndpoint, read_credentials
from .db import migrate, pending_migrations
from .logs import configure_logging
from .messaging.dead_letter_admin import (
    DeadLetterError,
    Replayed,
    discard_dead_letter,
    list_audit,
    list_dead_letters,
    replay_all_dead_letters,
    replay_dead_letter,
    show_dead_letter,
)
from .service import Service
from .settings import ServiceSettings, SettingsT, load_settings, refuse_unfit_for_production

T = TypeVar("T")


def cli_settings(name: str, settings_class: type[SettingsT]) -> SettingsT:
    """Settings for a command, with logging set up (or exit naming what is wrong)."""
    loaded = load_settings(settings_class)
    configure_logging(name, loaded.log_format, loaded.log_level)
    return loaded


def wait_for_schema(name: str, settings: ServiceSettings, migrations_dir: Path) -> None:
    """Serve only a database at the newest migration: a deployment migrates in a Job of its
    own, and a replica started before it finished waits (up to `schema_wait_seconds`)."""
    deadline = time.monotonic() + settings.schema_wait_seconds
    while pending_migrations(settings.database_url, migrations_dir):
        if time.monotonic() >= deadline:
            typer.echo(
                f"the database is not at the newest migration: run `ips-{name} migrate`", err=True
            )
            raise typer.Exit(2)
        time.sleep(1.0)


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
    def provision_command(
        credentials: Annotated[
            Path | None,
            typer.Option(
                "--nats-credentials",
                help="The admin identity's credentials file: only it may create streams",
            ),
        ] = None,
    ) -> None:
        """Declare the JetStream streams this service owns (idempotent)."""
        chosen = settings()
        if credentials is not None:
            chosen = chosen.model_copy(update={"nats_credentials": credentials})
        asyncio.run(bootstrap(chosen).runtime.provision())

    @cli.command("serve")
    def serve_command() -> None:
        """Run the service: HTTP API, event consumers and the outbox relay."""
        app_settings = settings()
        refuse_unfit_for_production(app_settings)
        wait_for_schema(name, app_settings, migrations_dir)
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

    cli.add_typer(dead_letters_cli(name, lambda: settings().nats_endpoint()), name="dead-letters")
    prefix = str(settings_class.model_config.get("env_prefix", ""))
    cli.add_typer(token_cli(f"{prefix}API_TOKENS"), name="token")
    return cli


def token_cli(variable: str) -> typer.Typer:
    """`ips-<name> token new`: bearer tokens for the API. The configuration keeps only a
    token's digest, so the token is printed once and nowhere kept."""
    app = typer.Typer(help=f"Bearer tokens for the API ({variable} holds their digests).")

    @app.command("new")
    def new_command(
        name: Annotated[
            str, typer.Argument(help="Who holds it, as the audit trail shows (e.g. dana-obh)")
        ],
        role: Annotated[Role, typer.Option(help="What it may do")],
        person_id: Annotated[
            str | None, typer.Option(help="The one record a person token acts on (role person)")
        ] = None,
    ) -> None:
        """Mint a token: print it (once) and its entry for the configuration."""
        token = new_token()
        try:
            TypeAdapter(TokenName).validate_python(name)
            entry = token_entry(token, role, person_id)
        except ValidationError as error:
            problems = "; ".join(item["msg"] for item in error.errors(include_input=False))
            raise typer.BadParameter(problems) from None
        typer.echo(f"The token for {name}, shown only now: hand it over, keep no copy.", err=True)
        typer.echo(token)
        typer.echo(f"Its entry in {variable} (a JSON object of such entries):", err=True)
        typer.echo(json.dumps({name: entry}))

    return app


def dead_letters_cli(name: str, service_endpoint: Callable[[], NatsEndpoint]) -> typer.Typer:
    """`ips-<name> dead-letters ...`: what the consumers could not apply, and what to do
    with it. Payloads are printed only by `show --payload`: they may hold personal data."""
    app = typer.Typer(
        help="What this service's consumers dead-lettered: list (the default), show, replay,"
        " discard, audit."
    )
    limit_option = typer.Option(50, min=1, help="How many, newest last")
    sequence_argument = typer.Argument(min=1, help="The dead letter's sequence (see `list`)")
    actor_option = typer.Option(
        None, help="Who does this, for the audit trail (default: the OS user)"
    )

    # A replay publishes on the original subject, which belongs to another party (a
    # partner's hours, another service's events): only the admin identity may do that.
    chosen: dict[str, Path] = {}

    def endpoint() -> NatsEndpoint:
        given = service_endpoint()
        if "credentials" not in chosen:
            return given
        try:
            return NatsEndpoint(given.url, read_credentials(chosen["credentials"]))
        except InvalidCredentials as error:
            raise typer.BadParameter(str(error), param_hint="--nats-credentials") from None

    def list_letters(limit: int) -> None:
        for line in _run(list_dead_letters(endpoint(), name, limit)):
            typer.echo(json.dumps(line))

    @app.callback(invoke_without_command=True)
    def default(
        context: typer.Context,
        limit: int = limit_option,
        credentials: Annotated[
            Path | None,
            typer.Option(
                "--nats-credentials",
                help="Connect as this identity instead of the service (replays need the admin's)",
            ),
        ] = None,
    ) -> None:
        if credentials is not None:
            chosen["credentials"] = credentials
        if context.invoked_subcommand is None:
            list_letters(limit)

    @app.command("list")
    def list_command(limit: int = limit_option) -> None:
        """The dead letters (one JSON line each): where each came from and why, no payload."""
        list_letters(limit)

    @app.command("show")
    def show_command(
        sequence: int = sequence_argument,
        payload: bool = typer.Option(False, "--payload", help="Print the payload too"),
    ) -> None:
        """One dead letter: the reason, its headers and where it came from."""
        shown = _run(show_dead_letter(endpoint(), name, sequence, with_payload=payload))
        typer.echo(json.dumps(shown, indent=2))

    @app.command("replay")
    def replay_command(
        sequence: int | None = typer.Argument(None, min=1, help="The dead letter's sequence"),
        every: bool = typer.Option(False, "--all", help="Replay every dead letter"),
        actor: str | None = actor_option,
    ) -> None:
        """Send a letter's event back through the consumer, then remove the letter.

        The original body is published again on its original subject; the consumer's inbox
        skips an event applied meanwhile, so a replay is applied once at most."""
        who = _actor(actor)
        if every and sequence is None:
            replayed, failed = _run(replay_all_dead_letters(endpoint(), name, actor=who))
        elif sequence is not None and not every:
            replayed = [_run(replay_dead_letter(endpoint(), name, sequence, actor=who))]
            failed = []
        else:
            raise typer.BadParameter("give one dead letter's sequence, or --all")
        for done in replayed:
            typer.echo(_replayed_line(done))
        for error in failed:
            typer.echo(str(error), err=True)
        if every:
            typer.echo(f"replayed {len(replayed)}, kept {len(failed)}")
        if failed:
            raise typer.Exit(1)

    @app.command("discard")
    def discard_command(
        sequence: int = sequence_argument,
        reason: str = typer.Option(..., help="Why, for the audit trail"),
        actor: str | None = actor_option,
    ) -> None:
        """Delete a dead letter for good, recording who, when, which letter and why."""
        why = _audit_text(reason, "--reason", 500)
        _run(discard_dead_letter(endpoint(), name, sequence, actor=_actor(actor), reason=why))
        typer.echo(f"discarded dead letter {sequence}")

    @app.command("audit")
    def audit_command(limit: int = limit_option) -> None:
        """The replays and discards (one JSON line each): who, when, which letter, why."""
        for line in _run(list_audit(endpoint(), name, limit)):
            typer.echo(json.dumps(line))

    return app


def _run(work: Coroutine[Any, Any, T]) -> T:
    """Run a dead-letter command; what prevents it is said in one line, exit code 1."""
    try:
        return asyncio.run(work)
    except DeadLetterError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None


def _actor(given: str | None) -> str:
    if given is not None:
        return _audit_text(given, "--actor", 100)
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user name in this environment (a bare container)
        raise typer.BadParameter(
            "no OS user name here: say who you are", param_hint="--actor"
        ) from None


def _audit_text(value: str, option: str, longest: int) -> str:
    if not value.strip() or len(value) > longest:
        raise typer.BadParameter(f"1 to {longest} characters, not blank", param_hint=option)
    return value.strip()


def _replayed_line(replayed: Replayed) -> str:
    line = (
        f"replayed dead letter {replayed.sequence} (event {replayed.event_id or 'without id'})"
        f" to {replayed.subject}: {replayed.stream} sequence {replayed.stream_sequence}"
    )
    return line + (" (already there: not stored twice)" if replayed.duplicate else "")
