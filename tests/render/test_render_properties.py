"""Determinism, fingerprints, secrets, --only, errors with template locations, atomic publishing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.diagnostics import DiagnosticError
from compiler.pipeline import compile_repo
from compiler.render import render_graph
from compiler.render.templating import Templates
from compiler.targets import TARGET_TYPES

PROJECT = Path(__file__).resolve().parents[2]
MODELCTL = [sys.executable, "-m", "compiler.cli.main"]


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("example", ["iris", "edge-vision"])
def test_rendering_twice_gives_identical_bytes(example, tmp_path):
    graph = compile_repo(PROJECT / "examples" / example).require()
    render_graph(graph, tmp_path / "a", types=TARGET_TYPES)
    again = compile_repo(PROJECT / "examples" / example).require()  # a fresh graph, too
    render_graph(again, tmp_path / "b", types=TARGET_TYPES)
    first, second = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert len(first) > 10 and first == second


def test_manifest_lists_every_file_with_its_hash(tmp_path):
    graph = compile_repo(PROJECT / "examples" / "iris").require()
    result = render_graph(graph, tmp_path / "out", types=TARGET_TYPES)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    on_disk = {k: v for k, v in _tree(tmp_path / "out").items() if k != "manifest.json"}
    assert set(manifest["files"]) == set(on_disk) == {f.path for f in result.files}
    import hashlib

    for path, entry in manifest["files"].items():
        assert entry["sha256"] == hashlib.sha256(on_disk[path]).hexdigest()
    assert manifest["nodes"]["Deployment/iris-blue"] == graph.get("Deployment/iris-blue").fingerprint
    assert list(manifest["files"]) == sorted(manifest["files"])


def test_model_change_touches_exactly_its_model_images_and_deployments(copy_example, tmp_path):
    repo = copy_example("iris")
    before = render_graph(compile_repo(repo).require(), tmp_path / "before", types=TARGET_TYPES)
    model = repo / "artifacts" / "iris.joblib"
    model.write_bytes(model.read_bytes() + b"\0")  # new bytes, same everything else
    after = render_graph(compile_repo(repo).require(), tmp_path / "after", types=TARGET_TYPES)
    changed = {n for n in before.nodes if before.nodes[n] != after.nodes[n]}
    assert changed == {"Model/iris-classifier", "Image/iris-scorer", "Deployment/iris-blue", "Deployment/iris-local"}
    old = {f.path: f.sha256 for f in before.files}
    new = {f.path: f.sha256 for f in after.files}
    touched = {p for p in old.keys() | new.keys() if old.get(p) != new.get(p)}
    assert touched and all(
        p.startswith(("images/iris-scorer/", "kubernetes/prod/deployments/iris-blue.yaml")) for p in touched
    ), touched
    assert not any(p.startswith("images/iris-scorer/modelctl_runtime/") for p in touched)


def test_secret_values_from_the_environment_appear_nowhere(copy_example, tmp_path, monkeypatch):
    secret = "s3cr3t-" + os.urandom(12).hex()
    for name in (
        "MODELCTL_SECRET_IRIS_KEYS",
        "MODELCTL_AUTH_KEYS",
        "IRIS_KEYS",
        "DB_PASSWORD",
        "AWS_SECRET_ACCESS_KEY",
    ):
        monkeypatch.setenv(name, secret)
    repo = copy_example("iris")
    path = repo / "deployments" / "iris-prod.yaml"
    path.write_text(
        path.read_text().replace(
            "  lifecycle: {preventDestroy: true}",
            "  lifecycle: {preventDestroy: true}\n  secretEnv:\n    DB_PASSWORD: {secretRef: iris-db, key: password}",
        )
    )
    for name, repo_path in (("iris", repo), ("edge", PROJECT / "examples" / "edge-vision")):
        out = tmp_path / name
        render_graph(compile_repo(repo_path).require(), out, types=TARGET_TYPES)
        files = _tree(out)
        assert files
        leaks = [p for p, data in files.items() if secret.encode() in data]
        assert not leaks, f"secret value leaked into {leaks}"
    blue = (tmp_path / "iris" / "kubernetes" / "prod" / "deployments" / "iris-blue.yaml").read_text()
    assert "iris-keys" in blue and "iris-db" in blue  # secret *names* are fine


def test_only_renders_the_node_and_what_it_needs(tmp_path):
    graph = compile_repo(PROJECT / "examples" / "iris").require()
    result = render_graph(graph, tmp_path / "out", only={"Deployment/iris-blue"}, types=TARGET_TYPES)
    producers = {f.node for f in result.files}
    assert producers == {"Deployment/iris-blue", "Image/iris-scorer"}
    assert "Model/iris-classifier" in result.nodes and "Endpoint/iris" not in result.nodes
    assert not (tmp_path / "out" / "images" / "iris-forest-scorer").exists()


def test_only_unknown_resource_is_a_diagnostic(tmp_path):
    graph = compile_repo(PROJECT / "examples" / "iris").require()
    with pytest.raises(DiagnosticError) as err:
        render_graph(graph, tmp_path / "out", only={"Deployment/iris-blu"}, types=TARGET_TYPES)
    assert "did you mean 'Deployment/iris-blue'" in err.value.diagnostics[0].suggestion


def _broken_templates(tmp_path: Path, dockerfile: str) -> Templates:
    folder = tmp_path / "templates"
    (folder / "docker").mkdir(parents=True)
    (folder / "docker" / "Dockerfile.j2").write_text(dockerfile)
    (folder / "docker" / "dockerignore.j2").write_text("\n")
    return Templates(folder)


def test_undefined_variable_names_template_line_and_resource(tmp_path):
    graph = compile_repo(PROJECT / "examples" / "iris").require()
    templates = _broken_templates(tmp_path, "FROM {{ base }}\n\nEXPOSE {{ port }}\nUSER {{ no_such_user }}\n")
    with pytest.raises(DiagnosticError) as err:
        render_graph(graph, tmp_path / "out", templates=templates, types=TARGET_TYPES)
    messages = {d.message: d for d in err.value.diagnostics}
    assert any("Image/iris-scorer" in m for m in messages) and any("Image/iris-forest-scorer" in m for m in messages)
    diag = err.value.diagnostics[0]
    assert diag.location.file.endswith("docker/Dockerfile.j2") and diag.location.line == 4
    assert "no_such_user" in diag.message and diag.code == "render-template"
    assert not (tmp_path / "out").exists()


def test_template_syntax_error_has_a_line(tmp_path):
    graph = compile_repo(PROJECT / "examples" / "iris").require()
    templates = _broken_templates(tmp_path, "FROM x\n{% if %}\n")
    with pytest.raises(DiagnosticError) as err:
        render_graph(graph, tmp_path / "out", templates=templates, types=TARGET_TYPES)
    assert err.value.diagnostics[0].location.line == 2


def test_sandbox_blocks_unsafe_template_code(tmp_path):
    graph = compile_repo(PROJECT / "examples" / "iris").require()
    templates = _broken_templates(tmp_path, "{{ ''.__class__.__mro__[1].__subclasses__() }}\n")
    with pytest.raises(DiagnosticError) as err:
        render_graph(graph, tmp_path / "out", templates=templates, types=TARGET_TYPES)
    assert "unsafe" in err.value.diagnostics[0].message.lower() or "SecurityError" in err.value.diagnostics[0].message


def test_failed_render_leaves_previous_output_untouched(tmp_path):
    graph = compile_repo(PROJECT / "examples" / "iris").require()
    out = tmp_path / "out"
    render_graph(graph, out, types=TARGET_TYPES)
    before = _tree(out)
    with pytest.raises(DiagnosticError):
        render_graph(graph, out, templates=_broken_templates(tmp_path, "{{ nope }}\n"), types=TARGET_TYPES)
    assert _tree(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")] == []


def test_rerender_replaces_stale_files(copy_example, tmp_path):
    repo = copy_example("iris")
    out = tmp_path / "out"
    render_graph(compile_repo(repo).require(), out, types=TARGET_TYPES)
    assert (out / "kubernetes" / "prod" / "deployments" / "iris-green.yaml").exists()
    render_graph(compile_repo(repo).require(), out, only={"Image/iris-scorer"}, types=TARGET_TYPES)
    assert not (out / "kubernetes").exists()


def test_refuses_to_replace_a_folder_it_did_not_write(tmp_path):
    graph = compile_repo(PROJECT / "examples" / "iris").require()
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(DiagnosticError) as err:
        render_graph(graph, precious, types=TARGET_TYPES)
    assert err.value.diagnostics[0].code == "bad-out-dir"
    assert (precious / "notes.txt").read_text() == "keep me"


def test_cli_render_and_errors_without_traceback(tmp_path):
    ok = subprocess.run(
        [*MODELCTL, "render", "examples/iris", "--out", str(tmp_path / "out"), "--stage", "prod"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert "rendered" in ok.stdout and (tmp_path / "out" / "manifest.json").is_file()
    bad = subprocess.run(
        [*MODELCTL, "render", "examples/iris", "--out", str(tmp_path / "o2"), "--only", "Image/nope"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1 and "Traceback" not in bad.stderr + bad.stdout
    assert "no such resource" in bad.stderr + bad.stdout
