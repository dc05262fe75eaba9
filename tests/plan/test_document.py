"""The plan document: JSON round trip, schema validation, refusal of bad files, no secrets, explain output."""

from __future__ import annotations

import json

import jsonschema
import pytest
from live_support import LiveFacts, make_plan
from rich.console import Console

from compiler.plan import PlanError
from compiler.plan.document import dumps, from_document, json_schema, read_plan, to_document, write_plan
from compiler.plan.explain import render_markdown, render_text


def plain(markup: str) -> str:
    console = Console(width=200, record=True, force_terminal=False)
    console.print(markup, soft_wrap=True)
    return console.export_text()


@pytest.fixture
def changed_plan(repo, converge):
    live = converge(repo.graph())
    repo.write("artifacts/iris.bin", "iris v2")
    return make_plan(repo.graph(), live, git_commit="abc123")


def test_round_trip_is_lossless(changed_plan, tmp_path):
    path = tmp_path / "plan.json"
    write_plan(changed_plan, path)
    loaded = read_plan(path)
    assert loaded == changed_plan
    assert dumps(loaded) == path.read_text()


def test_document_validates_against_its_schema(changed_plan):
    doc = to_document(changed_plan)
    jsonschema.Draft202012Validator(json_schema()).validate(doc)
    assert doc["schemaVersion"] == 1 and doc["kind"] == "modelctl-plan"
    assert doc["liveStateFingerprint"] == changed_plan.live_fingerprint
    assert doc["summary"] == {"add": 0, "change": 4, "destroy": 0}
    assert doc["gitCommit"] == "abc123"


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.update(schemaVersion=99), "schemaVersion 99"),
        (lambda d: d["actions"][0].update(action="explode"), "actions.0.action"),
        (lambda d: d.update(liveStateFingerprint="nope"), "liveStateFingerprint"),
        (lambda d: d.update(extra=1), "extra"),
        (lambda d: d["actions"][0].update(resource="../../etc"), "resource"),
    ],
)
def test_invalid_documents_are_refused_with_a_reason(changed_plan, mutate, message):
    doc = json.loads(dumps(changed_plan))
    mutate(doc)
    with pytest.raises(PlanError, match=message):
        from_document(doc)


def test_a_non_json_file_is_refused(tmp_path):
    path = tmp_path / "plan.json"
    path.write_bytes(b"\x80\x04pickle")
    with pytest.raises(PlanError, match="not JSON"):
        read_plan(path)


def test_checked_in_schema_is_current():
    from compiler.paths import SCHEMAS_DIR
    from compiler.schemas import dumps as schema_dumps

    path = SCHEMAS_DIR / "plan.json"
    assert path.is_file(), "run 'modelctl schema --write'"
    assert path.read_text() == schema_dumps(json_schema())


def test_no_secret_value_in_any_plan_output(repo, converge, monkeypatch):
    secret = "s3cr3t-value-that-must-not-leak"
    monkeypatch.setenv("MODELCTL_SECRET_IRIS_KEYS", secret)
    repo.write(".modelctl/secrets/iris-keys", secret)
    plan = make_plan(repo.graph(), LiveFacts())
    for text in (dumps(plan), render_text(plan), render_markdown(plan)):
        assert secret not in text
    assert "iris-keys" in dumps(plan)  # the reference is shown, the value never


def test_text_output_looks_like_terraform(changed_plan, repo, converge):
    text = plain(render_text(changed_plan))
    assert "~ Model/iris" in text and "~ Image/iris-scorer" in text
    assert "rebuild: model iris 1 → 2" in text
    assert text.strip().endswith("Plan: 0 to add, 4 to change, 0 to destroy.")
    assert "~ Deployment/iris-prod" in text  # kubernetes deployments are planned (no "render only" section)
    same = make_plan(repo.graph(), converge(repo.graph()))
    assert "No changes." in plain(render_text(same))


def test_replace_is_not_an_action_kind(changed_plan):
    """A roll-out is an update (blue/green on the target), never a destroy-then-create: the planner has no
    'replace', and a document claiming one is refused."""
    doc = to_document(changed_plan)
    doc["actions"][0]["action"] = "replace"
    with pytest.raises(PlanError, match="actions.0.action"):
        from_document(doc)


def test_markdown_for_pull_requests(changed_plan):
    md = render_markdown(changed_plan)
    assert "| `~` update | `Model/iris` |" in md
    assert "**Plan: 0 to add, 4 to change, 0 to destroy.**" in md
