"""The ready-made CI pipelines call modelctl with commands and options that exist."""

from __future__ import annotations

import re
import shlex

import pytest
import typer
import yaml

from compiler.cli.main import app
from compiler.paths import PROJECT_ROOT

PIPELINES = sorted((PROJECT_ROOT / "examples" / "ci").glob("*.yml"))


def _scripts(node) -> list[str]:
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (_scripts(v) if k not in ("run", "script") else _lines(v))]
    if isinstance(node, list):
        return [s for item in node for s in _scripts(item)]
    return []


def _lines(value) -> list[str]:
    items = value if isinstance(value, list) else str(value).splitlines()
    return [line.strip() for line in items if isinstance(line, str)]


def _invocations(path) -> list[list[str]]:
    calls = []
    for line in _scripts(yaml.safe_load(path.read_text())):
        for part in re.split(r"\|\||&&|\||>>|>", line):
            words = shlex.split(part.replace("$", "X"))
            if words[:1] == ["modelctl"]:
                calls.append(words[1:])
    return calls


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: p.name)
def test_pipeline_commands_exist(path):
    root = typer.main.get_command(app)
    calls = _invocations(path)
    assert calls, f"{path.name} runs no modelctl command"
    for words in calls:
        cmd = root
        while hasattr(cmd, "commands"):  # a group (typer ships its own click)
            name, words = words[0], words[1:]
            assert name in cmd.commands, f"{path.name}: unknown command {name!r}"
            cmd = cmd.commands[name]
        options = {opt for p in cmd.params for opt in getattr(p, "opts", [])}
        for word in words:
            if word.startswith("--"):
                assert word.split("=", 1)[0] in options, f"{path.name}: {cmd.name} has no option {word}"
