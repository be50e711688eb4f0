"""structlog set-up, done once per process.

JSON lines in production, a readable console in development. Standard-library loggers
(uvicorn, FastStream, alembic) go through the same renderer. Log ids and codes, never
personal data: event payloads and request bodies are not logged, and an exception is
logged by its type and where it was raised, never its message (a validation error's or a
database error's message may quote the values sent).
"""

from __future__ import annotations

import logging
import sys
import traceback
from typing import Any, Literal, get_args

import structlog
from pydantic import ValidationError
from pydantic_core.core_schema import ErrorType

LogFormat = Literal["json", "console"]

# Pydantic's own error types, whose messages say what was expected, not what was sent;
# less these, whose messages may quote the input or carry a validator's own text.
_MESSAGES_WITHOUT_INPUT = frozenset(get_args(ErrorType)) - {
    "value_error",
    "assertion_error",
    "union_tag_invalid",
    "get_attribute_error",
    "uuid_parsing",
}


def describe_error(error: BaseException) -> str:
    """An exception in words that hold no input values: its type (and the type of the
    driver error under a database error); for a validation error, where it failed and
    why (a field's location and the rule it broke, never the value)."""
    if isinstance(error, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or '<root>'}: "
            + (item["msg"] if item["type"] in _MESSAGES_WITHOUT_INPUT else item["type"])
            for item in error.errors(include_input=False, include_url=False)
        )
        return f"validation failed: {problems}"[:1000]
    described = _type_name(type(error))
    driver_error = getattr(error, "orig", None)  # SQLAlchemy's DBAPIError wraps one
    if isinstance(driver_error, BaseException):
        described += f" ({_type_name(type(driver_error))})"
    return described


def _type_name(kind: type[BaseException]) -> str:
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


def traceback_without_values(error: BaseException) -> str:
    """A traceback as Python prints it (chained exceptions too), with each exception's
    message replaced by `describe_error`: the code positions and lines, no values."""
    chain = [error]
    while (earlier := _earlier_in_chain(chain[-1])) is not None and earlier not in chain:
        chain.append(earlier)
    parts: list[str] = []
    for older, newer in zip(reversed(chain), [*reversed(chain[:-1]), None], strict=True):
        parts.append("Traceback (most recent call last):\n")
        parts.extend(
            traceback.StackSummary.extract(traceback.walk_tb(older.__traceback__)).format()
        )
        described = describe_error(older)
        if isinstance(older, ValidationError):
            described = f"{_type_name(type(older))}: {described}"
        parts.append(f"{described}\n")
        if newer is not None:
            parts.append(
                "\nThe above exception was the direct cause of the following exception:\n\n"
                if newer.__cause__ is older
                else "\nDuring handling of the above exception, another exception occurred:\n\n"
            )
    return "".join(parts).rstrip("\n")


def _earlier_in_chain(error: BaseException) -> BaseException | None:
    if error.__cause__ is not None:
        return error.__cause__
    return None if error.__suppress_context__ else error.__context__


def _exception_without_values(
    _logger: Any, _method: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """A processor in place of structlog's `format_exc_info`: `exc_info` becomes
    `exception`, rendered by `traceback_without_values`."""
    exc_info = event_dict.pop("exc_info", None)
    error: BaseException | None = None
    if isinstance(exc_info, BaseException):
        error = exc_info
    elif isinstance(exc_info, tuple):
        error = exc_info[1]
    elif exc_info:
        error = sys.exc_info()[1]
    if error is not None:
        event_dict["exception"] = traceback_without_values(error)
    return event_dict


def configure_logging(service: str, log_format: LogFormat = "json", level: str = "INFO") -> None:
    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True)
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        timestamper,
        structlog.processors.StackInfoRenderer(),
        _exception_without_values,  # both formats: the renderers see no exc_info
    ]
    renderer: structlog.types.Processor
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        # Plain tracebacks: rich ones print local variables, which may hold personal data.
        renderer = structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )

    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn, started with its own logging config (its default), gives its loggers handlers
    # of their own that bypass this renderer: they are taken back.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)
