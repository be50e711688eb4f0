"""`ips-partner check FILE.csv` and `ips-partner publish FILE.csv --creds FILE --server URL`.

Exit codes: 0 all good; 1 a row was rejected or is invalid; 2 the command could not do its
work (a usage error, an unreadable file or credentials, the server unreachable or refusing
the credentials, reports unacknowledged). Problems are one line, never a traceback, and
never show the credentials' seed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from ips_shared.contracts.credentials import Credentials, InvalidCredentials, read_credentials

from . import ids, publishing
from .rows import FileProblem, Invalid, Row, read_file
from .summary import OK, REFUSED, TROUBLE, summarise

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # a traceback's locals could hold the seed
    help="Publish peer support hours to the IPS platform from a CSV file (docs/partners/guide.md).",
)

CsvFile = Annotated[Path, typer.Argument(dir_okay=False, help="the hours file, UTF-8 CSV")]


def fail(message: str) -> typer.Exit:
    typer.echo(f"ips-partner: {message}", err=True)
    return typer.Exit(TROUBLE)


def secret_free(text: str, credentials: Credentials) -> str:
    return text.replace(credentials.seed, "<seed>")


def read(path: Path) -> tuple[list[Row], list[Invalid]]:
    try:
        rows = read_file(path)
    except FileProblem as error:
        raise fail(f"{path}: {error}") from None
    return [r for r in rows if isinstance(r, Row)], [r for r in rows if isinstance(r, Invalid)]


@app.command()
def check(file: CsvFile) -> None:
    """Check every row of FILE against the hours contract, without connecting."""
    valid, invalid = read(file)
    for bad in invalid:
        typer.echo(f"line {bad.line}: invalid: {bad.reason}")
    typer.echo(f"valid {len(valid)}, invalid {len(invalid)}")
    raise typer.Exit(REFUSED if invalid else OK)


@app.command()
def publish(
    file: CsvFile,
    creds: Annotated[
        Path, typer.Option(dir_okay=False, help="the credentials file the office gave you")
    ],
    server: Annotated[str, typer.Option(help="the platform's NATS address, e.g. tls://host:4222")],
    wait: Annotated[
        float,
        typer.Option(
            min=0,
            help="seconds without any answer after which reports are taken as accepted "
            "(accepted reports get no answer)",
        ),
    ] = 5.0,
) -> None:
    """Check FILE, publish its valid rows and report what the platform answered.

    Re-running the same file is safe: every row keeps its event id, and a report the
    platform already has is never counted twice."""
    valid, invalid = read(file)
    try:
        credentials = read_credentials(creds)
    except InvalidCredentials as error:  # names no part of the file's content
        message = str(error)
        raise fail(message if str(creds) in message else f"{creds}: {message}") from None
    results = publishing.Results()
    if valid:
        try:
            source = publishing.source_of(credentials)
            reports = [
                publishing.Report(row, event_id)
                for row, event_id in zip(valid, ids.event_ids(source, valid), strict=True)
            ]
            results = asyncio.run(_publish(reports, credentials, server, wait))
        except publishing.ConnectionProblem as error:
            raise fail(secret_free(str(error), credentials)) from None
        except KeyboardInterrupt:
            raise fail("interrupted; running the same file again is safe") from None
        except Exception as error:  # one line, whatever it is
            message = secret_free(f"{type(error).__name__}: {error}", credentials)
            raise fail(f"unexpected error: {message}") from None
    summary = summarise(results, invalid, wait)
    for line in summary.lines:
        typer.echo(secret_free(line, credentials))
    raise typer.Exit(summary.exit_code)


async def _publish(
    reports: list[publishing.Report],
    credentials: Credentials,
    server: str,
    wait: float,
) -> publishing.Results:
    console = Console(stderr=True)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[count]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,  # a log file gets the summary alone
    )
    with progress:
        total = len(reports)
        sending = progress.add_task("publishing", total=total, count=f"0/{total}")
        answers = progress.add_task("", total=None, visible=False, count="")

        def acknowledged() -> None:
            progress.advance(sending)
            done = int(progress.tasks[sending].completed)
            progress.update(sending, count=f"{done}/{total}")

        def waiting(answered: int, expected: int) -> None:
            progress.update(
                answers,
                description=f"waiting for refusals ({wait:g}s without one ends it)",
                count=f"{answered} refused",
                visible=True,
            )

        return await publishing.publish(
            reports,
            credentials,
            server,
            wait,
            on_acknowledged=acknowledged,
            on_waiting=waiting,
        )


def main() -> None:
    app()
