"""spec.runtime.batching: validated at file:line:col, and a scoring script that does not declare it
takes batches is a warning (the runtime would not batch it)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from compiler.cli.main import app
from compiler.graph.checks import declares_batchable
from compiler.pipeline import compile_repo

DEPLOYMENT = """\
apiVersion: modelctl.io/v1
kind: Deployment
metadata:
  name: dev
spec:
  image: {image}
  target: local
  runtime:
    batching: {batching}
"""
SCRIPTED_IMAGE = """\
apiVersion: modelctl.io/v1
kind: Image
metadata:
  name: scripted
spec:
  models: [iris@latest]
  environment: curated/sklearn
  scoring: {script: score/score.py}
"""
SCRIPT = "import json\n{flag}\n\ndef init():\n    pass\n\ndef run(raw):\n    return json.loads(raw)['data']\n"


def _repo(make_repo, batching: str, image: str = "scorer", flag: str | None = None):
    files = {"deployments/dev.yaml": DEPLOYMENT.format(image=image, batching=batching)}
    if flag is not None:
        files |= {"images/scripted.yaml": SCRIPTED_IMAGE, "score/score.py": SCRIPT.format(flag=flag)}
    return make_repo(files)


@pytest.mark.parametrize(
    ("batching", "col", "message", "hint"),
    [
        (
            "{maxBatchSize: 1}",
            30,
            "invalid value integer 1 for 'maxBatchSize': input should be greater than or equal to 2",
            "use a value at least 2",
        ),
        (
            "{maxBatchSize: 100000}",
            30,
            "invalid value integer 100000 for 'maxBatchSize': input should be less than or equal to 4096",
            None,
        ),
        ("{maxLatencyMs: 2.5}", 30, "wrong type for 'maxLatencyMs': expected an integer, got number 2.5", None),
        (
            "{maxLatencyMs: -1}",
            30,
            "invalid value integer -1 for 'maxLatencyMs': input should be greater than or equal to 0",
            None,
        ),
        ("{maxLatncyMs: 2}", 16, "unknown field 'maxLatncyMs'", "did you mean 'maxLatencyMs'?"),
        ("32", 15, "wrong type for 'batching': expected a mapping, got integer 32", None),
    ],
)
def test_bad_batching_is_located_and_explained(make_repo, batching, col, message, hint):
    result = compile_repo(_repo(make_repo, batching))
    errors = [d for d in result.diagnostics if d.severity == "error"]
    shown = [(d.location.file, d.location.line, d.location.col, d.message) for d in errors]
    assert ("deployments/dev.yaml", 9, col, message) in shown, shown
    if hint is not None:
        assert [d.suggestion for d in errors if d.message == message] == [hint]


def test_valid_batching_reaches_the_spec(make_repo):
    graph = compile_repo(_repo(make_repo, "{maxBatchSize: 64, maxLatencyMs: 0}")).require()
    batching = graph.get("Deployment/dev").spec.runtime.batching
    assert (batching.max_batch_size, batching.max_latency_ms) == (64, 0)
    defaults = compile_repo(_repo(make_repo, "{}")).require().get("Deployment/dev").spec.runtime.batching
    assert (defaults.max_batch_size, defaults.max_latency_ms) == (32, 2)


def test_a_script_without_batchable_is_a_warning_at_the_batching_field(make_repo):
    root = _repo(make_repo, "{maxBatchSize: 16}", image="scripted", flag="")
    result = compile_repo(root)
    assert result.ok
    [warning] = [d for d in result.diagnostics if d.severity == "warning"]
    assert (warning.location.file, warning.location.line, warning.location.col) == ("deployments/dev.yaml", 9, 5)
    assert warning.path == "spec.runtime.batching" and warning.code == "batching-script"
    assert warning.message == (
        "batching is off for image 'scripted': its scoring script score/score.py does not declare BATCHABLE = True"
    )
    cli = CliRunner().invoke(app, ["validate", str(root)])
    assert cli.exit_code == 0 and "warning" in cli.output and "BATCHABLE" in cli.output


@pytest.mark.parametrize("flag", ["BATCHABLE = True", "BATCHABLE: bool = True"])
def test_a_script_that_declares_batchable_is_fine(make_repo, flag):
    result = compile_repo(_repo(make_repo, "{maxBatchSize: 16}", image="scripted", flag=flag))
    assert result.ok and not result.diagnostics, result.diagnostics


def test_no_batching_no_warning_for_any_script(make_repo):
    files = {"images/scripted.yaml": SCRIPTED_IMAGE, "score/score.py": SCRIPT.format(flag="")}
    files["deployments/dev.yaml"] = DEPLOYMENT.format(image="scripted", batching="null").replace(
        "  runtime:\n    batching: null\n", ""
    )
    result = compile_repo(make_repo(files))
    assert result.ok and not result.diagnostics, result.diagnostics


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("BATCHABLE = True\n", True),
        ("BATCHABLE = False\n", False),
        ("BATCHABLE = 1\n", False),  # the runtime wants exactly True
        ("def f():\n    BATCHABLE = True\n", False),  # not at module level
        ("x = 1\n", False),
        ("def broken(:\n", None),  # cannot tell: no warning
    ],
)
def test_declares_batchable(source, expected):
    assert declares_batchable(source) is expected
