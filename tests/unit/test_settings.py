import json
import os
from pathlib import Path

import pytest

from ips_certification.settings import CertificationSettings
from ips_directory.settings import DirectorySettings
from ips_enrollment.settings import EnrollmentSettings
from ips_notifications.settings import NotificationsSettings
from ips_shared.auth import token_digest
from ips_shared.settings import load_settings

POLICY_FILE = Path(__file__).resolve().parents[2] / "deploy" / "policy" / "policy.toml"

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


def test_a_missing_policy_file_names_the_policy_variable(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("ENROLLMENT_DATABASE_URL", "sqlite://")
    monkeypatch.setenv("ENROLLMENT_POLICY_FILE", str(tmp_path / "absent.toml"))

    expect_exit_naming(capsys, EnrollmentSettings, "ENROLLMENT_POLICY_FILE")


def test_an_invalid_policy_names_the_policy_variable_and_the_problem(monkeypatch, capsys, tmp_path):
    policy = tmp_path / "policy.toml"
    policy.write_text(
        'version = "x"\neffective_from = 2026-01-01\n[enrollment]\ntimezone = "Mars/Olympus"\n'
    )
    monkeypatch.setenv("ENROLLMENT_DATABASE_URL", "sqlite://")
    monkeypatch.setenv("ENROLLMENT_POLICY_FILE", str(policy))

    lines = expect_exit_naming(capsys, EnrollmentSettings, "ENROLLMENT_POLICY_FILE")

    assert "Mars/Olympus" in "\n".join(lines)


def test_a_person_token_without_its_person_names_the_tokens_variable(monkeypatch, capsys):
    monkeypatch.setenv("ENROLLMENT_DATABASE_URL", "sqlite://")
    entry = {"sha256": token_digest("a-token"), "role": "person"}
    monkeypatch.setenv("ENROLLMENT_API_TOKENS", json.dumps({"peer": entry}))

    lines = expect_exit_naming(capsys, EnrollmentSettings, "ENROLLMENT_API_TOKENS")

    assert "person_id" in "\n".join(lines)


def test_a_token_configured_in_plain_text_is_refused_without_showing_it(monkeypatch, capsys):
    """The format before tokens were hashed: the key was the token itself."""
    monkeypatch.setenv("ENROLLMENT_DATABASE_URL", "sqlite://")
    monkeypatch.setenv("ENROLLMENT_API_TOKENS", '{"Plain-Secret-42": {"role": "operator"}}')

    lines = expect_exit_naming(capsys, EnrollmentSettings, "ENROLLMENT_API_TOKENS")

    assert "sha256" in "\n".join(lines)
    assert "plain-secret-42" not in "\n".join(lines).lower()


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
    monkeypatch.setenv("ENROLLMENT_POLICY_FILE", str(POLICY_FILE))
    monkeypatch.setenv(
        "ENROLLMENT_API_TOKENS",
        json.dumps({"t1": {"sha256": token_digest("t"), "role": "person", "person_id": "p-1"}}),
    )
    monkeypatch.setenv("ENROLLMENT_LOG_FORMAT", "console")

    settings = load_settings(EnrollmentSettings)

    assert settings.database_url == "postgresql+psycopg://u@db/enrollment"
    assert settings.http_port == 9001
    assert settings.policy_file == POLICY_FILE
    assert settings.api_tokens["t1"].person_id == "p-1"
    assert settings.log_format == "console"
    assert capsys.readouterr().err == ""


def test_defaults_apply_when_only_the_database_url_is_set(monkeypatch):
    monkeypatch.setenv("ENROLLMENT_DATABASE_URL", "sqlite://")

    settings = load_settings(EnrollmentSettings)

    assert settings.http_port == 8001
    assert settings.policy_file is None
    assert settings.api_tokens == {}
    assert settings.nats_url == "nats://127.0.0.1:4222"
    assert settings.log_format == "json"
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.environment == "development"
    assert settings.auth_failure_limit == "10/minute"
    assert settings.public_rate_limit == "60/minute"


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
