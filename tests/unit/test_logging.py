import json
import logging
import logging.config
from datetime import datetime

import pytest
import structlog
import uvicorn.config
from pydantic import BaseModel, Field, ValidationError

from ips_shared.logs import configure_logging, describe_error

SECRET = "Zebulon-Secret"  # a value no log line may show (so never in a line that raises)


@pytest.fixture(autouse=True)
def restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    access_level = logging.getLogger("uvicorn.access").level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("uvicorn.access").setLevel(access_level)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def json_lines(text: str) -> list[dict]:
    lines = [line for line in text.splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]
    assert all(isinstance(entry, dict) for entry in parsed)
    return parsed


def test_a_structlog_line_is_one_json_object_with_service_event_level_and_time(capsys):
    configure_logging("enrollment", "json")

    structlog.get_logger("ips.test").info("application.received", intake="2027-spring")
    entries = json_lines(capsys.readouterr().err)

    assert len(entries) == 1
    entry = entries[0]
    assert entry["service"] == "enrollment"
    assert entry["event"] == "application.received"
    assert entry["level"] == "info"
    assert entry["intake"] == "2027-spring"
    assert entry["logger"] == "ips.test"
    timestamp = datetime.fromisoformat(entry["timestamp"])
    assert timestamp.utcoffset() is not None
    assert timestamp.utcoffset().total_seconds() == 0


def test_each_log_call_is_its_own_line(capsys):
    configure_logging("enrollment", "json")
    log = structlog.get_logger("ips.test")

    log.info("first")
    log.warning("second", detail="multi\nline")
    entries = json_lines(capsys.readouterr().err)

    assert [(entry["event"], entry["level"]) for entry in entries] == [
        ("first", "info"),
        ("second", "warning"),
    ]
    assert entries[1]["detail"] == "multi\nline"


def test_bound_context_variables_appear_in_the_line_and_go_away_after(capsys):
    configure_logging("enrollment", "json")
    log = structlog.get_logger("ips.test")

    with structlog.contextvars.bound_contextvars(event_id="e1", correlation_id="c1"):
        log.info("event.applied")
    log.info("after")
    inside, after = json_lines(capsys.readouterr().err)

    assert inside["event_id"] == "e1"
    assert inside["correlation_id"] == "c1"
    assert inside["service"] == "enrollment"
    assert "event_id" not in after
    assert after["service"] == "enrollment"


def test_a_standard_library_log_line_is_json_with_the_service(capsys):
    configure_logging("enrollment", "json")

    logging.getLogger("x").warning("hi")
    entries = json_lines(capsys.readouterr().err)

    assert len(entries) == 1
    assert entries[0]["service"] == "enrollment"
    assert entries[0]["event"] == "hi"
    assert entries[0]["level"] == "warning"
    assert entries[0]["logger"] == "x"
    assert "timestamp" in entries[0]


def test_standard_library_lines_carry_bound_context_variables(capsys):
    configure_logging("certification", "json")

    with structlog.contextvars.bound_contextvars(event_id="e2"):
        logging.getLogger("uvicorn.error").error("boom %s", 42)
    (entry,) = json_lines(capsys.readouterr().err)

    assert entry["event"] == "boom 42"
    assert entry["event_id"] == "e2"
    assert entry["service"] == "certification"


def test_an_exception_is_rendered_inside_the_json_line_by_type_and_place_not_message(capsys):
    configure_logging("enrollment", "json")

    try:
        raise RuntimeError(f"no room for {SECRET}")
    except RuntimeError:
        structlog.get_logger("ips.test").exception("request.failed")
    (entry,) = json_lines(capsys.readouterr().err)

    assert entry["level"] == "error"
    assert entry["exception"].startswith("Traceback (most recent call last):")
    assert "test_logging.py" in entry["exception"]
    assert entry["exception"].endswith("\nRuntimeError")
    assert "Zebulon" not in entry["exception"]


class Person(BaseModel):
    name: str = Field(max_length=5)
    day: int = Field(le=8)


def raise_chained_errors_quoting(value: str) -> None:
    """A validation error (whose message quotes input), handled by raising another, whose
    cause is a third: every link of the chain names the value."""
    try:
        try:
            Person(name=value, day=value)  # type: ignore[arg-type]
        except ValidationError as invalid:
            raise LookupError(f"no {value}") from invalid
    except LookupError:
        # Raised while handling that one, not from it: the other kind of link.
        raise KeyError(value)  # noqa: B904


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_no_exception_message_of_a_chain_reaches_the_log_in_either_format(capsys, log_format):
    configure_logging("certification", log_format)

    try:
        raise_chained_errors_quoting(SECRET)
    except KeyError:
        structlog.get_logger("ips.test").exception("structlog.line")
        logging.getLogger("uvicorn.error").exception("standard.line")
    err = capsys.readouterr().err

    assert "Zebulon" not in err
    assert err.count("During handling of the above exception") == 2
    assert err.count("The above exception was the direct cause") == 2
    # What failed stays readable: types, places, and a validation error's fields and rules.
    assert "LookupError" in err and "KeyError" in err
    assert "name: String should have at most 5 characters" in err
    assert "day: Input should be a valid integer" in err
    assert "raise_chained_errors_quoting" in err


def test_a_described_error_names_types_and_fields_never_values():
    try:
        Person(name=SECRET, day=9)
    except ValidationError as invalid:
        described = describe_error(invalid)

    assert described == (
        "validation failed: name: String should have at most 5 characters;"
        " day: Input should be less than or equal to 8"
    )
    assert describe_error(ValueError(SECRET)) == "ValueError"


def test_lines_below_the_configured_level_are_dropped(capsys):
    configure_logging("enrollment", "json", level="warning")

    structlog.get_logger("ips.test").info("quiet")
    logging.getLogger("x").info("quiet too")
    structlog.get_logger("ips.test").warning("loud")
    entries = json_lines(capsys.readouterr().err)

    assert [entry["event"] for entry in entries] == ["loud"]


def test_reconfiguring_replaces_the_handler_instead_of_duplicating_lines(capsys):
    configure_logging("enrollment", "json")
    configure_logging("directory", "json")

    logging.getLogger("x").warning("once")
    entries = json_lines(capsys.readouterr().err)

    assert len(entries) == 1
    assert entries[0]["service"] == "directory"


def test_nothing_is_written_to_stdout(capsys):
    configure_logging("enrollment", "json")

    structlog.get_logger("ips.test").error("to.stderr")
    logging.getLogger("x").error("also")

    assert capsys.readouterr().out == ""


def test_console_format_is_readable_text_not_json(capsys):
    configure_logging("enrollment", "console")

    structlog.get_logger("ips.test").info("application.received", intake="2027-spring")
    err = capsys.readouterr().err

    assert "application.received" in err
    assert "intake=2027-spring" in err
    with pytest.raises(json.JSONDecodeError):
        json.loads(err.splitlines()[0])


def test_uvicorn_s_own_logging_config_is_taken_back(capsys):
    """uvicorn started with its default config gives its loggers handlers of their own; the
    service's logging takes them back, so its lines are rendered like every other."""
    logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)
    configure_logging("directory", "json")

    logging.getLogger("uvicorn.error").error("standard.line")
    (entry,) = json_lines(capsys.readouterr().err)
    assert (entry["event"], entry["service"], entry["logger"]) == (
        "standard.line",
        "directory",
        "uvicorn.error",
    )
