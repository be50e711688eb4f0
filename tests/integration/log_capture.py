"""The log lines a service writes, as it writes them (JSON, through `configure_logging`),
captured in memory for a test to search."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import structlog

from ips_shared.logs import configure_logging


@contextmanager
def captured_log_lines(service: str) -> Iterator[io.StringIO]:
    """Every line logged meanwhile, at DEBUG and above, rendered as in production."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    access_level = logging.getLogger("uvicorn.access").level
    configure_logging(service, "json", "DEBUG")
    lines = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(lines)
    try:
        yield lines
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.getLogger("uvicorn.access").setLevel(access_level)
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()
