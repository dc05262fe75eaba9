"""The loader without libyaml: PyYAML's pure-Python parser builds the same documents."""

from __future__ import annotations

import json
import subprocess
import sys

from compiler.load import parse_text
from compiler.paths import PROJECT_ROOT

TEXT = """\
defaults: &defaults {replicas: 2, port: 8080}
a: 1
b: [x, no, 0x1f, 1.5, ~]
c:
  <<: *defaults
  port: 9090
---
d: !!float 3
"""

# Parse with yaml._yaml hidden (as on a machine without libyaml), print documents and diagnostics.
SCRIPT = """
import json, sys
sys.modules["yaml._yaml"] = None
from compiler.load import yaml_source
assert yaml_source._Parser.__module__ == "compiler.load.yaml_source", "the fallback parser is in use"
docs, diags = yaml_source.parse_text(sys.stdin.read(), "f.yaml")
print(json.dumps([[d.data, sorted(map(repr, d.positions.items()))] for d in docs] + [[g.code for g in diags]]))
"""


def _fallback(text: str) -> list:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        input=text,
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_ROOT,
        env={"PYTHONPATH": str(PROJECT_ROOT), "PATH": ""},
    )
    return json.loads(out.stdout)


def test_the_pure_python_parser_builds_what_libyaml_builds():
    docs, diags = parse_text(TEXT, "f.yaml")
    assert not diags
    expected = [[d.data, sorted(map(repr, d.positions.items()))] for d in docs] + [[]]
    assert _fallback(TEXT) == json.loads(json.dumps(expected))


def test_the_pure_python_parser_reports_syntax_errors():
    assert _fallback("a: [1, 2\nb: 3\n")[-1] == ["yaml-syntax"]
