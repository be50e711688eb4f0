import os

import pytest

from ips_certification.settings import CertificationSettings
from ips_directory.settings import DirectorySettings
from ips_enrollment.settings import EnrollmentSettings
from ips_notifications.settings import NotificationsSettings
from ips_shared.settings import load_settings

SETTINGS = {
    "ENROLLMENT_": EnrollmentSettings,
    "CERTIFICATION_": CertificationSettings,
    "NOTIFICATIONS_": NotificationsSettings,
    "DIRECTORY_": DirectorySettings,
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in list(os.environ):
        if name.upper().startswith(tuple(SETTINGS)):
            monkeypatch.delenv(name)


def stderr_lines_naming(capsys, variable: str) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if variable in line]


def expect_exit_naming(capsys, settings_class, variable: str) -> list[str]:
    with pytest.raises(SystemExit) as stopped:
        load_settings(settings_class)
    assert stopped.value.code == 2
    lines = stderr_lines_naming(capsys, variable)
    assert lines, f"stderr does not name {variable}"
    return lines


def test_missing_database_url_stops_with_code_2_naming_the_variable(capsys):
    lines = expect_exit_naming(capsys, EnrollmentSettings, "ENROLLMENT_DATABASE_URL")

    assert any("required" in line.lower() or "missing" in line.lower() for line in lines)


def test_the_error_names_the_settings_class_and_goes_to_stderr_only(capsys):
    with pytest.raises(SystemExit):
        load_settings(EnrollmentSettings)
    captured = capsys.readouterr()

    assert captured.out == ""
    assert captured.err.startswith("EnrollmentSettings:")


def test_an_out_of_range_port_names_the_port_variable(monkeypatch, capsys):
    monkeypatch.setenv("ENROLLMENT_DATABASE_URL", "sqlite://")
    monkeypatch.setenv("ENROLLMENT_HTTP_PORT", "99999")

    lines = expect_exit_naming(capsys, EnrollmentSettings, "ENROLLMENT_HTTP_PORT")

    assert "65535" in lines[0]


def test_an_unknown_time_zone_names_the_time_zone_variable(monkeypatch, capsys):
    monkeypatch.setenv("ENROLLMENT_DATABASE_URL", "sqlite://")
    monkeypatch.setenv("ENROLLMENT_PROGRAM_TIMEZONE", "Mars/Olympus")

    lines = expect_exit_naming(capsys, EnrollmentSettings, "ENROLLMENT_PROGRAM_TIMEZONE")

    assert "Mars/Olympus" in lines[0]


def test_every_bad_variable_is_named_at_once(monkeypatch, capsys):
    monkeypatch.setenv("ENROLLMENT_HTTP_PORT", "0")
    monkeypatch.setenv("ENROLLMENT_NATS_URL", "http://localhost:4222")

    with pytest.raises(SystemExit):
        load_settings(EnrollmentSettings)
    err = capsys.readouterr().err

    for variable in ("ENROLLMENT_DATABASE_URL", "ENROLLMENT_HTTP_PORT", "ENROLLMENT_NATS_URL"):
        assert variable in err


def test_an_empty_database_url_is_rejected(monkeypatch, capsys):
    monkeypatch.setenv("ENROLLMENT_DATABASE_URL", "")

    expect_exit_naming(capsys, EnrollmentSettings, "ENROLLMENT_DATABASE_URL")


def test_valid_environment_loads_the_settings(monkeypatch, capsys):
    monkeypatch.setenv("ENROLLMENT_DATABASE_URL", "postgresql+psycopg://u@db/enrollment")
    monkeypatch.setenv("ENROLLMENT_HTTP_PORT", "9001")
    monkeypatch.setenv("ENROLLMENT_PROGRAM_TIMEZONE", "America/Los_Angeles")
    monkeypatch.setenv("ENROLLMENT_LOG_FORMAT", "console")

    settings = load_settings(EnrollmentSettings)

    assert settings.database_url == "postgresql+psycopg://u@db/enrollment"
    assert settings.http_port == 9001
    assert settings.program_timezone == "America/Los_Angeles"
    assert settings.log_format == "console"
    assert capsys.readouterr().err == ""


def test_defaults_apply_when_only_the_database_url_is_set(monkeypatch):
    monkeypatch.setenv("ENROLLMENT_DATABASE_URL", "sqlite://")

    settings = load_settings(EnrollmentSettings)

    assert settings.http_port == 8001
    assert settings.program_timezone == "America/New_York"
    assert settings.nats_url == "nats://127.0.0.1:4222"
    assert settings.log_format == "json"


def test_another_services_prefix_does_not_satisfy_enrollment(monkeypatch, capsys):
    monkeypatch.setenv("NOTIFICATIONS_DATABASE_URL", "sqlite://")
    monkeypatch.setenv("DATABASE_URL", "sqlite://")

    expect_exit_naming(capsys, EnrollmentSettings, "ENROLLMENT_DATABASE_URL")


def test_each_service_reads_only_its_own_prefix(monkeypatch):
    for prefix in SETTINGS:
        monkeypatch.setenv(f"{prefix}DATABASE_URL", f"sqlite:///{prefix.lower()}db")

    loaded = {prefix: load_settings(cls).database_url for prefix, cls in SETTINGS.items()}

    assert loaded == {prefix: f"sqlite:///{prefix.lower()}db" for prefix in SETTINGS}


@pytest.mark.parametrize("prefix", list(SETTINGS), ids=str.lower)
def test_each_service_stops_when_its_database_url_is_missing(prefix, capsys):
    expect_exit_naming(capsys, SETTINGS[prefix], f"{prefix}DATABASE_URL")


@pytest.mark.parametrize(
    ("prefix", "port"),
    [
        ("ENROLLMENT_", 8001),
        ("CERTIFICATION_", 8002),
        ("NOTIFICATIONS_", 8003),
        ("DIRECTORY_", 8004),
    ],
)
def test_each_service_has_its_own_default_port(monkeypatch, prefix, port):
    monkeypatch.setenv(f"{prefix}DATABASE_URL", "sqlite://")

    assert load_settings(SETTINGS[prefix]).http_port == port
