from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from ips_enrollment.domain.policy import EnrollmentPolicy, IntakeDeadline, Policy, read_policy

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "deploy" / "policy" / "policy.toml"

HEADER = 'version = "test-1"\neffective_from = 2026-01-01\n'

MAINE_INTAKES = """
[[enrollment.intakes]]
season = "spring"
month = 1
day = 15

[[enrollment.intakes]]
season = "summer"
month = 5
day = 1
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(HEADER + text)
    return path


def test_the_committed_policy_parses():
    policy = read_policy(COMMITTED)

    assert policy.version
    assert isinstance(policy.effective_from, date)


def test_the_committed_enrollment_section_equals_the_defaults():
    assert read_policy(COMMITTED).enrollment == EnrollmentPolicy()


def test_the_defaults_are_maines_program():
    policy = EnrollmentPolicy()

    assert policy.cohort_capacity == 20
    assert policy.makeup_window_months == 12
    assert policy.timezone == "America/New_York"
    assert [(d.season, d.month, d.day) for d in policy.intakes] == [
        ("spring", 1, 15),
        ("summer", 5, 1),
        ("fall", 8, 1),
        ("winter", 11, 1),
    ]


def test_a_policy_without_an_enrollment_section_uses_the_defaults(tmp_path):
    assert read_policy(write(tmp_path, "")).enrollment == EnrollmentPolicy()


def test_a_valid_custom_section_is_read(tmp_path):
    path = write(
        tmp_path,
        '[enrollment]\ntimezone = "America/Los_Angeles"\ncohort_capacity = 12\n'
        "makeup_window_months = 6\n" + MAINE_INTAKES,
    )

    enrollment = read_policy(path).enrollment

    assert enrollment.timezone == "America/Los_Angeles"
    assert enrollment.cohort_capacity == 12
    assert enrollment.makeup_window_months == 6
    assert enrollment.intakes == (
        IntakeDeadline(season="spring", month=1, day=15),
        IntakeDeadline(season="summer", month=5, day=1),
    )


def test_other_sections_pass_through(tmp_path):
    path = write(
        tmp_path,
        "[certification]\nreview_every_months = 24\nsomething_new = true\n\n"
        "[notifications]\nquiet = [1, 2]\n",
    )

    policy = read_policy(path)

    assert policy.enrollment == EnrollmentPolicy()
    assert policy.model_extra["certification"] == {
        "review_every_months": 24,
        "something_new": True,
    }


@pytest.mark.parametrize(
    "section",
    [
        pytest.param('[enrollment]\ntimezone = "Mars/Olympus_Mons"\n', id="unknown-zone"),
        pytest.param('[enrollment]\ntimezone = "EST5EDT/../x"\n', id="malformed-zone"),
        pytest.param('[enrollment]\ntimezone = ""\n', id="empty-zone"),
        pytest.param("[enrollment]\ncohort_capacity = 0\n", id="capacity-0"),
        pytest.param("[enrollment]\ncohort_capacity = -3\n", id="capacity-negative"),
        pytest.param("[enrollment]\nmakeup_window_months = -1\n", id="window-negative"),
        pytest.param("[enrollment]\nseats = 20\n", id="unknown-key"),
        pytest.param("[enrollment]\nintakes = []\n", id="no-intakes"),
        pytest.param(
            """
[[enrollment.intakes]]
season = "summer"
month = 5
day = 1

[[enrollment.intakes]]
season = "spring"
month = 1
day = 15
""",
            id="out-of-order",
        ),
        pytest.param(MAINE_INTAKES + MAINE_INTAKES, id="duplicate-intakes"),
        pytest.param(
            """
[[enrollment.intakes]]
season = "spring"
month = 1
day = 15

[[enrollment.intakes]]
season = "summer"
month = 1
day = 15
""",
            id="duplicate-date",
        ),
        pytest.param(
            """
[[enrollment.intakes]]
season = "spring"
month = 1
day = 15

[[enrollment.intakes]]
season = "spring"
month = 5
day = 1
""",
            id="duplicate-season",
        ),
        pytest.param(
            '[[enrollment.intakes]]\nseason = "spring"\nmonth = 2\nday = 30\n', id="feb-30"
        ),
        pytest.param(
            '[[enrollment.intakes]]\nseason = "spring"\nmonth = 4\nday = 31\n', id="apr-31"
        ),
        pytest.param(
            '[[enrollment.intakes]]\nseason = "spring"\nmonth = 13\nday = 1\n', id="month-13"
        ),
        pytest.param(
            '[[enrollment.intakes]]\nseason = "monsoon"\nmonth = 6\nday = 1\n', id="bad-season"
        ),
        pytest.param(
            '[[enrollment.intakes]]\nseason = "spring"\nmonth = 1\nday = 15\nhour = 17\n',
            id="unknown-intake-key",
        ),
    ],
)
def test_an_invalid_enrollment_section_is_rejected(tmp_path, section):
    with pytest.raises(ValidationError):
        read_policy(write(tmp_path, section))


def test_a_leap_day_deadline_is_allowed():
    assert IntakeDeadline(season="spring", month=2, day=29).day == 29


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("effective_from = 2026-01-01\n", id="no-version"),
        pytest.param('version = "x"\n', id="no-effective-from"),
        pytest.param('version = ""\neffective_from = 2026-01-01\n', id="empty-version"),
    ],
)
def test_the_policy_header_is_required(tmp_path, text):
    path = tmp_path / "policy.toml"
    path.write_text(text)

    with pytest.raises(ValidationError):
        read_policy(path)


def test_the_policy_is_immutable():
    policy = Policy(version="v", effective_from=date(2026, 1, 1))

    with pytest.raises(ValidationError):
        policy.enrollment.cohort_capacity = 5  # type: ignore[misc]


def test_the_kubernetes_policy_config_map_mirrors_the_policy_file():
    root = Path(__file__).resolve().parents[2]
    manifest = (root / "deploy" / "k8s" / "base" / "policy.yaml").read_text().splitlines()
    start = manifest.index("  policy.toml: |") + 1
    block = []
    for line in manifest[start:]:
        if line and not line.startswith("    "):
            break
        block.append(line[4:])
    assert "\n".join(block).rstrip("\n") == (
        root / "deploy" / "policy" / "policy.toml"
    ).read_text().rstrip("\n"), (
        "deploy/k8s/base/policy.yaml must carry deploy/policy/policy.toml unchanged"
    )
