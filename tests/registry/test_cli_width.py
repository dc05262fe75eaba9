"""Piped output is never cut (CI logs, files), whatever `COLUMNS` says; a terminal honours `COLUMNS`."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from compiler.cli import models

WORKSPACE = """\
apiVersion: modelctl.io/v1
kind: Workspace
metadata: {name: test}
spec:
  registry: sqlite:///.modelctl/registry.db
  artifacts: file://.modelctl/artifacts
"""
TAGS = [f"team-{i}=a-long-tag-value-that-is-not-short-{i:02d}" for i in range(6)]  # > 300 columns


def _repo(tmp_path: Path) -> Path:
    (tmp_path / "modelctl.yaml").write_text(WORKSPACE)
    (tmp_path / "m.joblib").write_bytes(b"model")
    args = ["register", str(tmp_path / "m.joblib"), "--name", "wide", "--framework", "sklearn"]
    for tag in TAGS:
        args += ["--tag", tag]
    result = CliRunner().invoke(models.app, [*args, "--repo", str(tmp_path)])
    assert result.exit_code == 0, result.output
    return tmp_path


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2]) + os.pathsep + env.get("PYTHONPATH", "")
    return {**env, **extra}


CMD = [sys.executable, "-m", "compiler.cli.main", "models", "list"]


def test_piped_tables_keep_every_cell_whole_with_and_without_columns(tmp_path):
    repo = _repo(tmp_path)
    for env in (_env(), _env(COLUMNS="200"), _env(COLUMNS="80")):
        out = subprocess.run([*CMD, "--repo", str(repo)], capture_output=True, text=True, env=env, check=True).stdout
        row = next(line for line in out.splitlines() if line.strip().startswith("wide"))
        for tag in TAGS:
            assert tag in row, (env.get("COLUMNS"), out)
        assert "…" not in out


def test_a_terminal_honours_columns(tmp_path):
    repo = _repo(tmp_path)
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [*CMD, "--repo", str(repo)], stdout=follower, stderr=follower, env=_env(COLUMNS="200", TERM="dumb")
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert proc.wait(timeout=60) == 0
    lines = b"".join(chunks).decode().splitlines()
    assert max(len(line.rstrip()) for line in lines) > 80  # not the 80-column fallback
    assert max(len(line.rstrip()) for line in lines) <= 200


def test_history_keeps_the_whole_why_when_piped(tmp_path):
    from compiler.registry import open_registry

    repo = _repo(tmp_path)
    why = "roll out: " + "; ".join(f"spec.env.VARIABLE_NUMBER_{i} changed from one value to another" for i in range(4))
    with open_registry("sqlite:///.modelctl/registry.db", "file://.modelctl/artifacts", repo) as reg:
        reg.record_action("run1", "Deployment/blue", "update", "ok", detail={"reasons": [why]})
    cmd = [sys.executable, "-m", "compiler.cli.main", "history", "Deployment/blue", str(repo)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=_env(COLUMNS="80"), check=True).stdout
    assert why in out, out
