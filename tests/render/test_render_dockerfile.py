"""Dockerfiles and build contexts: hadolint, layer order, non-root, health check, labels, contract layout."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.targets import TARGET_TYPES

HADOLINT = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")


def _dockerfiles(rendered) -> list[Path]:
    return sorted(p for out in rendered.values() for p in (out / "images").glob("*/Dockerfile"))


def _hadolint(path: Path) -> list[dict]:
    run = subprocess.run(
        [HADOLINT, "--format", "json", "--no-fail", str(path)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout or "[]")


def test_hadolint_reports_no_errors_or_warnings(rendered):
    files = _dockerfiles(rendered)
    assert len(files) >= 3
    for path in files:
        findings = [f for f in _hadolint(path) if f["level"] in ("error", "warning")]
        assert not findings, f"{path}: {findings}"


def test_router_dockerfile_is_a_template_and_hadolint_clean(tmp_path):
    from compiler.targets.docker.router import dockerfile, image_files

    path = tmp_path / "Dockerfile"
    path.write_text(dockerfile("debian:bookworm-slim"))
    findings = [f for f in _hadolint(path) if f["level"] in ("error", "warning", "info")]
    assert not findings, f"{path}: {findings}"
    templates = Path(__file__).parents[2] / "templates" / "docker" / "router"
    assert sorted(image_files()) == sorted(p.name.removesuffix(".j2") for p in templates.glob("*.j2"))
    assert "FROM debian:bookworm-slim" in path.read_text() and "\nUSER 10002:10002\n" in path.read_text()


def test_router_image_tag_follows_every_file_of_its_context(monkeypatch):
    from compiler.targets.docker import router

    before = router.router_image_tag("debian:bookworm-slim")
    for name in router.image_files():
        files = {**router.image_files(), name: router.image_files()[name] + "# changed\n"}
        monkeypatch.setattr(router, "image_files", lambda files=files: files)
        assert router.router_image_tag("debian:bookworm-slim") != before, name
        monkeypatch.undo()
    assert router.router_image_tag("debian:trixie-slim") != before


def test_hadolint_is_really_checking(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian\nRUN apt-get install curl\nCOPY . /\n")
    assert any(f["level"] in ("error", "warning") for f in _hadolint(bad))


def _instructions(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line and not line.startswith((" ", "#"))]


def test_layers_dependencies_before_code_before_models(rendered):
    dockerfile = rendered["iris"] / "images" / "iris-scorer" / "Dockerfile"
    lines = _instructions(dockerfile)
    final = lines[max(i for i, line in enumerate(lines) if line.startswith("FROM ")) :]
    order = [
        next(i for i, line in enumerate(final) if line.startswith(prefix))
        for prefix in (
            "COPY --from=builder /opt/venv",
            "COPY modelctl_runtime/",
            "COPY config.json",
            "COPY models/",
            "LABEL ",
        )
    ]
    assert order == sorted(order), final
    builder = lines[: lines.index(next(line for line in lines[1:] if line.startswith("FROM ")))]
    assert any("pip install --no-cache-dir" in line or "requirements" in line for line in builder)
    text = dockerfile.read_text()
    assert "--no-cache-dir" in text and "-r requirements.txt -r runtime-requirements.txt" in text


def test_non_root_healthcheck_expose_labels(rendered):
    text = (rendered["iris"] / "images" / "iris-scorer" / "Dockerfile").read_text()
    user = next(line for line in text.splitlines() if line.startswith("USER "))
    assert user.split()[1].split(":")[0] not in ("0", "root")
    assert 'CMD ["/opt/venv/bin/python", "-m", "modelctl_runtime.healthcheck"]' in text
    assert "EXPOSE 8080" in text and "WORKDIR /opt/modelctl" in text
    for label in (
        "org.opencontainers.image.title",
        "org.opencontainers.image.version",
        "modelctl.io/fingerprint",
        "modelctl.io/model.iris-classifier.version",
        "modelctl.io/model.iris-classifier.digest",
    ):
        assert f"LABEL {label}=" in text


def test_base_image_mapped_and_digest_kept(copy_example, tmp_path):
    from compiler.pipeline import compile_repo
    from compiler.render import render_graph

    repo = copy_example("iris")
    digest = "sha256:" + "ab" * 32
    ws = (
        (repo / "modelctl.yaml")
        .read_text()
        .replace(
            "python:3.11-slim: modelctl/python-base:bookworm",
            f"python:3.11-slim: mirror.local/python:3.11-slim@{digest}",
        )
    )
    (repo / "modelctl.yaml").write_text(ws)
    render_graph(compile_repo(repo).require(), tmp_path / "out", types=TARGET_TYPES)
    text = (tmp_path / "out" / "images" / "iris-scorer" / "Dockerfile").read_text()
    assert f"FROM mirror.local/python:3.11-slim@{digest} AS builder" in text
    assert f'LABEL org.opencontainers.image.base.digest="{digest}"' in text


def test_context_follows_the_image_contract(rendered):
    context = rendered["iris"] / "images" / "iris-scorer"
    config = json.loads((context / "config.json").read_text())
    assert config["schemaVersion"] == 1 and config["image"] == "iris-scorer"
    (model,) = config["models"]
    assert model["path"] == f"models/iris-classifier/{model['version']}/iris.joblib"
    assert (context / model["path"]).read_bytes() == (
        Path(__file__).parents[2] / "examples/iris/artifacts/iris.joblib"
    ).read_bytes()
    assert model["digest"].startswith("sha256:") and model["version"] == "sha256-" + model["digest"][7:19]
    assert (context / "modelctl_runtime" / "__main__.py").is_file()
    assert (context / "modelctl_runtime" / "healthcheck.py").is_file()
    assert "scikit-learn==" in (context / "requirements.txt").read_text()
    assert all(oct(p.stat().st_mode & 0o777) == "0o644" for p in context.rglob("*") if p.is_file())


def test_model_versions_from_the_registry(tmp_path):
    from compiler.pipeline import compile_repo
    from compiler.render import render_graph

    graph = compile_repo(Path(__file__).parents[2] / "examples" / "iris").require()
    render_graph(graph, tmp_path / "out", model_versions={"Model/iris-classifier": "7"}, types=TARGET_TYPES)
    config = json.loads((tmp_path / "out" / "images" / "iris-scorer" / "config.json").read_text())
    assert config["models"][0]["version"] == "7"
    assert (tmp_path / "out" / "images" / "iris-scorer" / "models" / "iris-classifier" / "7" / "iris.joblib").is_file()


@pytest.mark.parametrize("value", ['a "quoted" $HOME value'])
def test_env_values_are_quoted_for_docker(copy_example, tmp_path, value):
    from compiler.pipeline import compile_repo
    from compiler.render import render_graph

    repo = copy_example("iris")
    (repo / "environments.yaml").write_text(f"""apiVersion: modelctl.io/v1
kind: Environment
metadata: {{name: custom}}
spec:
  inherit: curated/sklearn
  env: {{GREETING: '{value}'}}
""")
    images = (repo / "images" / "iris-scorer.yaml").read_text().replace("curated/sklearn", "custom", 1)
    (repo / "images" / "iris-scorer.yaml").write_text(images)
    render_graph(compile_repo(repo).require(), tmp_path / "out", types=TARGET_TYPES)
    dockerfile = tmp_path / "out" / "images" / "iris-scorer" / "Dockerfile"
    assert 'ENV GREETING="a \\"quoted\\" \\$HOME value"' in dockerfile.read_text()
    assert not [f for f in _hadolint(dockerfile) if f["level"] == "error"]
