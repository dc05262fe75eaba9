"""`modelctl models …` and `modelctl images …` through typer's CliRunner (SQLite workspace)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from compiler.cli import images, models
from compiler.registry import open_registry

WORKSPACE = """\
apiVersion: modelctl.io/v1
kind: Workspace
metadata: {name: test}
spec:
  registry: sqlite:///.modelctl/registry.db
  artifacts: file://.modelctl/artifacts
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "modelctl.yaml").write_text(WORKSPACE)
    return tmp_path


def run(app, repo: Path, *args: str, input: str | None = None):  # noqa: ANN001, A002, ANN201
    return CliRunner().invoke(app, [*args, "--repo", str(repo)], input=input)


def register(repo: Path, name: str, data: bytes, *tags: str):  # noqa: ANN201
    src = repo / "artifacts" / f"{name}-{len(data)}.joblib"
    src.parent.mkdir(exist_ok=True)
    src.write_bytes(data)
    args = ["register", str(src), "--name", name, "--framework", "sklearn"]
    for tag in tags:
        args += ["--tag", tag]
    return run(models.app, repo, *args)


def test_register_list_show_in_both_formats(repo):
    assert register(repo, "iris", b"one", "team=fraud").exit_code == 0
    assert register(repo, "iris", b"two!", "team=fraud", "stage=dev").exit_code == 0
    again = register(repo, "iris", b"two!")
    assert again.exit_code == 0 and "unchanged" in again.stdout
    assert register(repo, "wine", b"w").exit_code == 0
    assert (repo / ".modelctl" / "registry.db").exists()  # where the workspace says

    listed = run(models.app, repo, "list", "--tag", "team=fraud", "--format", "json")
    assert listed.exit_code == 0
    data = json.loads(listed.stdout)
    assert [(m["name"], m["version"]) for m in data] == [("iris", 2), ("iris", 1)]
    assert list(data[0]) == sorted(data[0])  # stable, sorted keys
    assert listed.stdout == run(models.app, repo, "list", "--tag", "team=fraud", "--format", "json").stdout
    exists = json.loads(run(models.app, repo, "list", "--tag", "stage", "--format", "json").stdout)
    assert [m["version"] for m in exists] == [2]
    paged = json.loads(run(models.app, repo, "list", "--limit", "1", "--offset", "1", "--format", "json").stdout)
    assert [(m["name"], m["version"]) for m in paged] == [("iris", 2)]

    table = run(models.app, repo, "list", "--prefix", "iris")
    assert table.exit_code == 0 and "iris" in table.stdout and "wine" not in table.stdout
    shown = run(models.app, repo, "show", "iris@1", "--format", "json")
    assert json.loads(shown.stdout)["digest"].startswith("sha256:")
    assert "team=fraud" in run(models.app, repo, "show", "iris", "1").stdout


def test_tag_untag_alias_archive_delete(repo):
    register(repo, "iris", b"one")
    register(repo, "iris", b"two!")
    assert run(models.app, repo, "tag", "iris", "1", "stage=prod", "owner=ana").exit_code == 0
    assert run(models.app, repo, "untag", "iris", "1", "owner").exit_code == 0
    assert run(models.app, repo, "alias", "iris", "stable", "1").exit_code == 0
    shown = json.loads(run(models.app, repo, "show", "iris@tag:stable", "--format", "json").stdout)
    assert (shown["version"], shown["tags"], shown["aliases"]) == (1, {"stage": "prod"}, ["stable"])
    history = json.loads(run(models.app, repo, "alias", "iris", "stable", "--history", "--format", "json").stdout)
    assert [e["version"] for e in history] == [1]

    assert run(models.app, repo, "archive", "iris", "2").exit_code == 0
    assert json.loads(run(models.app, repo, "show", "iris", "--format", "json").stdout)["version"] == 1
    assert run(models.app, repo, "archive", "iris", "2", "--undo").exit_code == 0

    refused = run(models.app, repo, "delete", "iris", "2", input="n\n")
    assert refused.exit_code == 1
    assert run(models.app, repo, "delete", "iris", "2", "--yes").exit_code == 0
    missing = run(models.app, repo, "show", "iris", "2")
    assert missing.exit_code == 1 and "not found" in missing.stderr


def test_errors_are_red_messages_not_tracebacks(repo, tmp_path):
    register(repo, "iris", b"one")
    with open_registry("sqlite:///.modelctl/registry.db", "file://.modelctl/artifacts", repo) as reg:
        reg.register_image("scorer", fingerprint="f", models=[("iris", 1)], environment="curated/sklearn")
    result = run(models.app, repo, "delete", "iris", "1", "--yes")
    assert result.exit_code == 1 and "image scorer:1" in result.stderr and "Traceback" not in result.output
    bad = run(models.app, repo, "register", str(repo / "modelctl.yaml"), "--name", "../x", "--framework", "custom")
    assert bad.exit_code == 1 and "invalid model name" in bad.stderr
    typo = run(models.app, repo, "show", "irsi")
    assert typo.exit_code == 1 and "did you mean 'iris'" in typo.stderr
    no_repo = CliRunner().invoke(models.app, ["list", "--repo", str(tmp_path / "nowhere")])
    assert no_repo.exit_code == 1 and "not a directory" in no_repo.stderr  # a missing folder, said once
    assert no_repo.exception is None or isinstance(no_repo.exception, SystemExit)


def test_overrides_and_images(repo, tmp_path):
    other = tmp_path / "elsewhere.db"
    src = repo / "m.joblib"
    src.write_bytes(b"x")
    args = ["--registry", f"sqlite:///{other}", "--artifacts", f"file://{tmp_path}/blobs"]
    assert (
        CliRunner()
        .invoke(
            models.app, ["register", str(src), "--name", "iris", "--framework", "sklearn", "--repo", str(repo), *args]
        )
        .exit_code
        == 0
    )
    assert other.exists() and not (repo / ".modelctl" / "registry.db").exists()

    with open_registry(f"sqlite:///{other}", f"file://{tmp_path}/blobs", repo) as reg:
        reg.register_image(
            "scorer", fingerprint="f1", models=[("iris", 1)], environment="curated/sklearn", tags={"team": "fraud"}
        )
        reg.record_deployment("iris-blue", "local", "scorer", 1, "http://127.0.0.1:8080", "d")
    listed = CliRunner().invoke(
        images.app, ["list", "--tag", "team=fraud", "--format", "json", "--repo", str(repo), *args]
    )
    assert listed.exit_code == 0
    assert [(i["name"], i["version"], i["models"]) for i in json.loads(listed.stdout)] == [("scorer", 1, [["iris", 1]])]
    shown = CliRunner().invoke(images.app, ["show", "scorer", "--repo", str(repo), *args])
    assert shown.exit_code == 0 and "iris-blue@local" in shown.stdout and "iris:1" in shown.stdout
    missing = CliRunner().invoke(images.app, ["show", "scorer", "7", "--repo", str(repo), *args])
    assert missing.exit_code == 1 and "scorer:7" in missing.stderr
