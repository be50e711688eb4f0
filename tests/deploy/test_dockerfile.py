"""deploy/docker/Dockerfile, read as BuildKit would: the locked dependencies in a layer of
their own before any code, uv pinned, a non-root user."""

from __future__ import annotations

import re

from .conftest import ROOT

DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments left out."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def copy_sources(rest: str) -> list[str]:
    """The sources of a COPY from the build context (none for COPY --from=...)."""
    words = rest.split()
    if any(word.startswith("--from") for word in words):
        return []
    return [word for word in words if not word.startswith("--")][:-1]


def test_uv_is_pinned_to_an_exact_release():
    args = dict(
        rest.split("=", 1) for word, rest in instructions() if word == "ARG" and "=" in rest
    )
    assert re.fullmatch(r"ghcr\.io/astral-sh/uv:\d+\.\d+\.\d+", args["UV_IMAGE"])
    assert not any("pip install uv" in rest for _, rest in instructions())


def test_dependencies_are_installed_from_the_lock_before_the_code_is_copied():
    steps = instructions()
    syncs = [i for i, (word, rest) in enumerate(steps) if word == "RUN" and "uv sync" in rest]
    assert len(syncs) == 2
    for index in syncs:
        assert "--frozen" in steps[index][1] and "--no-dev" in steps[index][1]
        assert '--package "ips-${SERVICE}"' in steps[index][1]
    first, second = syncs
    assert "--no-install-workspace" in steps[first][1]
    assert "--no-editable" in steps[second][1]
    copies = [(i, copy_sources(rest)) for i, (word, rest) in enumerate(steps) if word == "COPY"]
    before = [source for i, sources in copies if i < first for source in sources]
    assert before, "the lock and the pyproject files come first"
    for source in before:
        assert source in ("pyproject.toml", "uv.lock") or source.endswith("/pyproject.toml")
    code = [i for i, sources in copies if {"shared", "services"} & set(sources)]
    assert code and min(code) > first and max(code) < second


def test_every_workspace_member_is_copied_for_the_dependency_layer():
    copied = {s for word, rest in instructions() if word == "COPY" for s in copy_sources(rest)}
    members = {str(p.relative_to(ROOT)) for p in ROOT.glob("services/*/pyproject.toml")}
    members |= {"shared/pyproject.toml", "tools/partner/pyproject.toml", "uv.lock"}
    assert members <= copied
    for source in copied:
        assert (ROOT / source).exists(), source


def test_the_image_runs_as_a_non_root_user():
    steps = instructions()
    last_stage = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    users = [rest for word, rest in steps[last_stage:] if word == "USER"]
    assert users == ["10001:10001"]


def test_the_two_ignore_lists_are_the_same():
    def entries(name: str) -> list[str]:
        lines = (ROOT / "deploy" / "docker" / name).read_text().splitlines()
        return [line for line in lines if line and not line.startswith("#")]

    assert entries("Dockerfile.dockerignore") == entries("dockerignore.txt")
