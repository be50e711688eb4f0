"""docs/operators/guide.md names only commands and options the platform's command lines
have: every `ips-…` command in its code (inline or in a block) is walked through the real
Typer applications."""

from __future__ import annotations

import importlib
import re
import shlex
from typing import Any

import pytest
import typer

from .conftest import ROOT, SERVICES

GUIDE = ROOT / "docs" / "operators" / "guide.md"
# A program name standing alone or under a bin/ folder (not a folder `ips-access/…`, an
# image `ips-x:tag`, a resource `deploy/ips-x` or `ips-x-db`).
COMMAND = re.compile(
    r"(?:(?<=bin/)|(?<![\w/.$-]))(ips-(?:enrollment|certification|notifications|directory|access|partner|<svc>))"
    r"(?=\s|$)(.*)"
)
ENDS = {"<", ">", "|", "#", ";", "&&", "&"}


def applications() -> dict[str, Any]:
    apps = {
        f"ips-{service}": importlib.import_module(f"ips_{service}.entrypoints.cli").cli
        for service in SERVICES
    }
    apps["ips-access"] = importlib.import_module("ips_shared.access_cli").app
    apps["ips-partner"] = importlib.import_module("ips_partner.cli").app
    return {name: typer.main.get_command(app) for name, app in apps.items()}


def code_in_guide() -> list[str]:
    text = GUIDE.read_text()
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    prose = re.sub(r"^```[a-z]*\n.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    inline = re.findall(r"`([^`\n]+)`", prose)
    lines = []
    for block in blocks:
        lines += block.replace("\\\n", " ").splitlines()
    return lines + inline


def commands_in_guide() -> list[tuple[str, list[str]]]:
    found = []
    for line in code_in_guide():
        for match in COMMAND.finditer(line):
            words = []
            for word in shlex.split(match.group(2), comments=False, posix=True):
                if word in ENDS or word.startswith(("#", ">", "|")):
                    break
                words.append(word)
            if line[: match.start()].rstrip().endswith("--entrypoint"):
                words = words[1:]  # docker run ... --entrypoint ips-x IMAGE ARGS
            programs = (
                [f"ips-{service}" for service in SERVICES]
                if match.group(1) == "ips-<svc>"
                else [match.group(1)]
            )
            found += [(program, words) for program in programs]
    return found


def problems_of(command: Any, program: str, words: list[str]) -> list[str]:
    path, options, expect_value = [program], {}, False
    for word in words:
        if expect_value:
            expect_value = False
            continue
        if word.startswith("--"):
            name = word.split("=", 1)[0]
            options = {o: p for p in command.params for o in getattr(p, "opts", [])} | options
            if name not in options:
                return [f"{' '.join(path)}: no option {name}"]
            expect_value = "=" not in word and not getattr(options[name], "is_flag", False)
            continue
        subcommands = getattr(command, "commands", None)
        if subcommands is not None and word in subcommands:
            command = subcommands[word]
            path.append(word)
            options = {}  # a subcommand's options come after it
            continue
        if subcommands is not None and len(path) == 1:
            return [f"{program}: no command {word!r}"]
    return []


def test_the_guide_names_commands():
    programs = {program for program, _ in commands_in_guide()}
    assert {"ips-access", "ips-partner", "ips-certification"} <= programs


@pytest.mark.parametrize(
    ("program", "words"),
    commands_in_guide(),
    ids=lambda value: value if isinstance(value, str) else " ".join(value)[:60],
)
def test_every_command_in_the_guide_exists(program, words):
    assert not problems_of(applications()[program], program, words)


def test_a_misspelt_command_or_option_is_caught():
    apps = applications()
    assert problems_of(apps["ips-access"], "ips-access", ["grant", "partner/x"])
    assert problems_of(apps["ips-certification"], "ips-certification", ["dead-letters", "--force"])
    assert not problems_of(
        apps["ips-certification"],
        "ips-certification",
        ["dead-letters", "--nats-credentials", "/dev/stdin", "replay", "42", "--actor", "dana"],
    )
