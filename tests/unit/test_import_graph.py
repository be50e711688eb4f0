"""Services talk over NATS only: no service imports another, shared imports none."""

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("enrollment", "certification", "notifications", "directory")
SERVICE_PACKAGES = frozenset(f"ips_{service}" for service in SERVICES)
PACKAGE_DIRS = {
    **{f"ips_{service}": ROOT / "services" / service / f"ips_{service}" for service in SERVICES},
    "ips_shared": ROOT / "shared" / "ips_shared",
}


@dataclass(frozen=True)
class Violation:
    module: str
    line: int
    imported: str


def module_name(package_dir: Path, path: Path) -> str:
    parts = [package_dir.name, *path.relative_to(package_dir).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """Absolute names of every module `source` imports, relative imports resolved."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module or ""
            else:
                anchor = package.split(".") if package else []
                if node.level - 1 >= len(anchor):
                    found.append((node.lineno, "." * node.level + (node.module or "")))
                    continue
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            if node.module:
                found.append((node.lineno, base))
            else:
                found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
        elif (
            isinstance(node, ast.Call)
            and _called_name(node.func) in {"import_module", "__import__"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def forbidden_imports(source: str, module: str, is_package: bool = False) -> list[Violation]:
    """Imports of a service package other than the module's own top-level package."""
    own = module.split(".")[0]
    violations = []
    for line, imported in imported_modules(source, module, is_package):
        top = imported.split(".")[0]
        escapes = imported.startswith(".")
        if escapes or (top in SERVICE_PACKAGES and top != own):
            violations.append(Violation(module, line, imported))
    return violations


def package_sources(package: str) -> list[tuple[str, bool, str]]:
    package_dir = PACKAGE_DIRS[package]
    return [
        (module_name(package_dir, path), path.name == "__init__.py", path.read_text())
        for path in sorted(package_dir.rglob("*.py"))
        if "__pycache__" not in path.parts
    ]


@pytest.mark.parametrize("package", sorted(PACKAGE_DIRS))
def test_package_imports_no_other_service(package):
    sources = package_sources(package)
    assert len(sources) >= 3, f"found too few files under {PACKAGE_DIRS[package]}"

    violations = [
        violation
        for module, is_package, source in sources
        for violation in forbidden_imports(source, module, is_package)
    ]

    assert not violations, f"{package} reaches into another service: {violations}"


def test_services_do_use_the_shared_package():
    importing_shared = {
        module.split(".")[0]
        for package in SERVICE_PACKAGES
        for module, is_package, source in package_sources(package)
        for _, imported in imported_modules(source, module, is_package)
        if imported.split(".")[0] == "ips_shared"
    }

    assert importing_shared == SERVICE_PACKAGES


# The checker itself ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "import ips_certification\n",
        "import ips_certification.db.tables as t\n",
        "import os, ips_directory.app\n",
        "from ips_notifications import service\n",
        "from ips_certification.db.tables import Outbox\n",
        "def later():\n    from ips_directory import app\n",
        "import importlib\nimportlib.import_module('ips_notifications.app')\n",
    ],
)
def test_checker_reports_an_import_of_another_service(source):
    violations = forbidden_imports(source, "ips_enrollment.service")

    assert len(violations) == 1
    assert violations[0].imported.split(".")[0] in SERVICE_PACKAGES - {"ips_enrollment"}


def test_checker_reports_the_line_of_the_violation():
    source = "import os\n\nfrom ips_directory.app import create_app\n"

    assert forbidden_imports(source, "ips_enrollment.api") == [
        Violation("ips_enrollment.api", 3, "ips_directory.app")
    ]


def test_checker_reports_a_service_import_from_shared():
    source = "from ips_enrollment.settings import EnrollmentSettings\n"

    assert forbidden_imports(source, "ips_shared.cli")


@pytest.mark.parametrize(
    "source",
    [
        "import ips_enrollment.db\n",
        "from ips_enrollment.domain.intakes import IntakeCalendar\n",
        "from ips_shared.contracts import events\n",
        "from . import SERVICE\n",
        "from .db.tables import Inbox\n",
        "from ..settings import EnrollmentSettings\n",
        "import sqlalchemy\n",
    ],
)
def test_checker_accepts_imports_within_the_own_package_and_shared(source):
    assert forbidden_imports(source, "ips_enrollment.domain.intakes") == []


def test_relative_imports_resolve_inside_their_own_package():
    source = "from . import SERVICE\nfrom .db import tables\nfrom ..contracts import events\n"

    assert [name for _, name in imported_modules(source, "ips_enrollment.app", False)] == [
        "ips_enrollment.SERVICE",
        "ips_enrollment.db",
        "..contracts",
    ]
    assert [name for _, name in imported_modules(source, "ips_shared.messaging", True)] == [
        "ips_shared.messaging.SERVICE",
        "ips_shared.messaging.db",
        "ips_shared.contracts",
    ]


def test_checker_reports_a_relative_import_that_escapes_the_package():
    violations = forbidden_imports("from ...ips_directory import app\n", "ips_enrollment.domain.x")

    assert [violation.imported for violation in violations] == ["...ips_directory"]


def test_module_names_follow_the_file_layout():
    enrollment = PACKAGE_DIRS["ips_enrollment"]

    assert module_name(enrollment, enrollment / "__init__.py") == "ips_enrollment"
    assert module_name(enrollment, enrollment / "domain" / "intakes.py") == (
        "ips_enrollment.domain.intakes"
    )
