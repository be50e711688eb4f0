"""Services talk over NATS only: what the import-linter contracts cannot see.

The rules (no service imports another, shared imports none, pure domain, layers) are the
`[tool.importlinter]` contracts in pyproject.toml, checked by `lint-imports` in `make test`.
Import-linter reads only `import` statements of modules in its graph, so this test checks the
rest the same way: `importlib.import_module("...")`/`__import__("...")` calls, relative imports
that climb out of the package, and every import in files outside the graph (Alembic's
`db/migrations/env.py` and `versions/*.py`, loaded by path, are in no package).
"""

import ast
from dataclasses import dataclass
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("enrollment", "certification", "notifications", "directory")
SERVICE_PACKAGES = frozenset(f"ips_{service}" for service in SERVICES)
PACKAGE_DIRS = {
    **{f"ips_{service}": ROOT / "services" / service / f"ips_{service}" for service in SERVICES},
    "ips_shared": ROOT / "shared" / "ips_shared",
    "ips_partner": ROOT / "tools" / "partner" / "ips_partner",
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


def imported_modules(
    source: str, module: str, is_package: bool, *, dynamic_only: bool = False
) -> list[tuple[int, str]]:
    """Names `source` imports, relative ones resolved; one climbing out stays `...name`.

    With `dynamic_only`, only string arguments of `import_module`/`__import__` calls and
    relative imports that climb out of the package: what import-linter misses in its modules.
    """
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import) and not dynamic_only:
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
            if dynamic_only:
                continue
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


def forbidden_imports(
    source: str, module: str, is_package: bool = False, *, dynamic_only: bool = False
) -> list[Violation]:
    """Imports of a service package other than the module's own top-level package."""
    own = module.split(".")[0]
    return [
        Violation(module, line, imported)
        for line, imported in imported_modules(
            source, module, is_package, dynamic_only=dynamic_only
        )
        if imported.startswith(".") or imported.split(".")[0] in SERVICE_PACKAGES - {own}
    ]


def package_sources(package: str) -> list[tuple[str, bool, str]]:
    package_dir = PACKAGE_DIRS[package]
    return [
        (module_name(package_dir, path), path.name == "__init__.py", path.read_text())
        for path in sorted(package_dir.rglob("*.py"))
        if "__pycache__" not in path.parts
    ]


@pytest.fixture(scope="module")
def graph_modules() -> set[str]:
    """The modules import-linter sees (the same grimp graph, uncached)."""
    return grimp.build_graph(*sorted(PACKAGE_DIRS), cache_dir=None).modules


@pytest.mark.parametrize("package", sorted(PACKAGE_DIRS))
def test_package_imports_no_other_service_where_import_linter_cannot_see(package, graph_modules):
    sources = package_sources(package)
    assert len(sources) >= 3, f"found too few files under {PACKAGE_DIRS[package]}"
    assert package in graph_modules

    violations = [
        violation
        for module, is_package, source in sources
        for violation in forbidden_imports(
            source, module, is_package, dynamic_only=module in graph_modules
        )
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


def test_migration_files_are_outside_the_graph_and_so_checked_here(graph_modules):
    env = PACKAGE_DIRS["ips_enrollment"] / "db" / "migrations" / "env.py"

    assert module_name(PACKAGE_DIRS["ips_enrollment"], env) not in graph_modules


# The checker itself ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "import importlib\nimportlib.import_module('ips_notifications.app')\n",
        "from importlib import import_module\nimport_module('ips_directory')\n",
        "__import__('ips_certification.db')\n",
        "from ...ips_directory import app\n",
    ],
)
def test_checker_reports_what_import_linter_misses(source):
    violations = forbidden_imports(source, "ips_enrollment.domain.x", dynamic_only=True)

    assert len(violations) == 1


@pytest.mark.parametrize(
    "source",
    [
        "import ips_certification.db.tables as t\n",
        "from ips_notifications import service\n",
        "def later():\n    from ips_directory import app\n",
    ],
)
def test_checker_reports_static_imports_only_outside_the_graph(source):
    assert forbidden_imports(source, "ips_enrollment.db.migrations.env")
    assert not forbidden_imports(source, "ips_enrollment.service", dynamic_only=True)


@pytest.mark.parametrize(
    "source",
    [
        "import ips_enrollment.db\n",
        "from ips_shared.contracts import events\n",
        "from . import SERVICE\n",
        "from ..settings import EnrollmentSettings\n",
        "import importlib\nimportlib.import_module('ips_enrollment.db')\n",
    ],
)
def test_checker_accepts_imports_within_the_own_package_and_shared(source):
    assert forbidden_imports(source, "ips_enrollment.domain.intakes") == []


def test_checker_reports_a_service_import_from_shared():
    source = "from ips_enrollment.settings import EnrollmentSettings\n"

    assert forbidden_imports(source, "ips_shared.cli") == [
        Violation("ips_shared.cli", 1, "ips_enrollment.settings")
    ]


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
