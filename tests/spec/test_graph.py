"""The resolved graph: order, fingerprints that follow dependencies, stages, environments."""

from __future__ import annotations

import shutil

import pytest

from compiler.graph.environments import curated_environments
from compiler.paths import PROJECT_ROOT
from compiler.pipeline import compile_repo

from spec_repo import BASE_REPO

ENV_PARENT = """\
apiVersion: modelctl.io/v1
kind: Environment
metadata:
  name: base-env
spec:
  base: python:3.11-slim
  pip: [numpy==2.0.0, requests==2.0.0]
  env: {A: "1"}
---
apiVersion: modelctl.io/v1
kind: Environment
metadata:
  name: child-env
spec:
  inherit: base-env
  pip: [numpy==2.1.0]
  env: {B: "2"}
"""


def fingerprints(root):
    result = compile_repo(root)
    assert result.ok, result.diagnostics
    return {n.id: n.fingerprint for n in result.graph}


def test_model_file_change_moves_exactly_its_dependants(make_repo):
    root = make_repo()
    before = fingerprints(root)
    (root / "artifacts" / "iris.joblib").write_text("retrained\n")
    after = fingerprints(root)
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"Model/iris", "Image/scorer", "Deployment/blue", "Deployment/green"}


def test_replicas_change_moves_only_that_deployment(make_repo):
    root = make_repo()
    before = fingerprints(root)
    (root / "deployments" / "d.yaml").write_text(BASE_REPO["deployments/d.yaml"].replace("replicas: 2", "replicas: 3"))
    after = fingerprints(root)
    assert {k for k in before if before[k] != after[k]} == {"Deployment/blue"}


def test_writing_a_default_equals_leaving_it_out(make_repo):
    root = make_repo()
    before = fingerprints(root)
    text = BASE_REPO["deployments/d.yaml"].replace("  target: prod\n", "  target: prod\n  auth: {mode: key}\n", 1)
    (root / "deployments" / "d.yaml").write_text(text)
    assert fingerprints(root) == before


def test_moving_a_document_to_another_file_changes_nothing(make_repo):
    root = make_repo()
    before = fingerprints(root)
    (root / "models" / "m.yaml").rename(root / "models" / "renamed.yaml")
    assert fingerprints(root) == before


def test_fingerprints_are_stable_across_runs(make_repo):
    root = make_repo()
    assert fingerprints(root) == fingerprints(root)


@pytest.mark.parametrize("selector, image_moves", [("latest", True), ("3", False), ("tag:stable", False)])
def test_a_pinned_model_use_does_not_follow_the_repo_file(make_repo, selector, image_moves):
    images = BASE_REPO["images/i.yaml"].replace("[iris@latest]", f"[iris@{selector}]")
    before = fingerprints(make_repo({"images/i.yaml": images}))
    after = fingerprints(make_repo({"images/i.yaml": images, "artifacts/iris.joblib": "another model\n"}))
    assert before["Model/iris"] != after["Model/iris"]
    assert (before["Image/scorer"] != after["Image/scorer"]) is image_moves
    assert (before["Deployment/blue"] != after["Deployment/blue"]) is image_moves


def test_stage_overlay_patches_by_kind_and_name(make_repo):
    root = make_repo({"stages/prod/blue.yaml": "kind: Deployment\nmetadata: {name: blue}\nspec:\n  replicas: 7\n"})
    plain = compile_repo(root).graph.get("Deployment/blue")
    staged = compile_repo(root, stage="prod").graph.get("Deployment/blue")
    assert (plain.spec.replicas, staged.spec.replicas) == (2, 7)
    assert plain.fingerprint != staged.fingerprint


def test_stage_error_points_into_the_overlay_file(make_repo):
    root = make_repo({"stages/prod/blue.yaml": "kind: Deployment\nmetadata: {name: blue}\nspec:\n  replicas: many\n"})
    [diag] = compile_repo(root, stage="prod").diagnostics
    assert (diag.location.file, diag.location.line, diag.location.col) == ("stages/prod/blue.yaml", 4, 13)


def test_environment_inheritance_merges_pins(make_repo):
    root = make_repo(
        {"envs/e.yaml": ENV_PARENT, "images/i.yaml": BASE_REPO["images/i.yaml"].replace("curated/sklearn", "child-env")}
    )
    graph = compile_repo(root).require()
    env = graph.get("Environment/child-env")
    assert env.spec.base == "python:3.11-slim"
    assert env.spec.pip == ["requests==2.0.0", "numpy==2.1.0"]
    assert env.spec.env == {"A": "1", "B": "2"}
    assert graph.get("Image/scorer").parents == ("Model/iris", "Environment/child-env")


def test_curated_environments_load_cleanly():
    envs = curated_environments()
    assert {"curated/sklearn", "curated/onnxruntime", "curated/python"} <= set(envs)
    for doc in envs.values():
        assert doc.doc.spec.base and doc.doc.spec.pip
        assert all("==" in pin for pin in doc.doc.spec.pip), "curated environments are pinned"


def test_downstream_in_dependency_order(make_repo):
    graph = compile_repo(make_repo()).require()
    assert [n.id for n in graph.downstream("Model/iris")] == [
        "Image/scorer",
        "Deployment/blue",
        "Deployment/green",
        "Endpoint/web",
    ]


def test_fpga_architecture_mismatch_is_refused(tmp_path):
    root = tmp_path / "ev"
    shutil.copytree(PROJECT_ROOT / "examples" / "edge-vision", root, ignore=shutil.ignore_patterns(".modelctl", "out"))
    path = root / "deployments" / "digits-fpga.yaml"
    path.write_text(path.read_text().replace("architecture: int8-dpu", "architecture: fp16-dpu"))
    diags = compile_repo(root).diagnostics
    assert [(d.location.file, d.location.line, d.message) for d in diags] == [
        (
            "deployments/digits-fpga.yaml",
            15,
            "bitstream architecture 'fp16-dpu' does not match model 'digits' compiled for 'int8-dpu'",
        )
    ]
