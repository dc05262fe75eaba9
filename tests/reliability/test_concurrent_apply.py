"""Two applies of one workspace never run at once: the second, a real `modelctl apply` process, is
refused while the first holds the workspace lock, names the holder, changes nothing, and goes
through once the lock is released."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import git

from compiler.plan.lock import workspace_lock
from compiler.registry import open_registry

WORKSPACE = "apiVersion: modelctl.io/v1\nkind: Workspace\nmetadata: {name: team}\nspec: {targets: {}}\n"
MODEL = (
    "apiVersion: modelctl.io/v1\nkind: Model\nmetadata: {name: iris}\n"
    "spec: {framework: custom, path: artifacts/iris.bin}\n"
)


def _repo(root: Path) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "artifacts").mkdir()
    (root / "modelctl.yaml").write_text(WORKSPACE)
    (root / "models" / "iris.yaml").write_text(MODEL)
    (root / "artifacts" / "iris.bin").write_text("iris v1")
    (root / ".gitignore").write_text(".modelctl/\n")
    checkout = git.Repo.init(root, initial_branch="main")
    checkout.index.add(["modelctl.yaml", "models/iris.yaml", "artifacts/iris.bin", ".gitignore"])
    checkout.index.commit("models")
    return root


def _apply(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "compiler.cli.main", "apply", str(root), "--auto-approve"],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_second_apply_is_refused_while_the_first_holds_the_lock(tmp_path):
    root = _repo(tmp_path / "repo")
    with open_registry("sqlite:///.modelctl/registry.db", "file://.modelctl/artifacts", root) as registry:
        with workspace_lock(registry, "team"):  # the first apply, in the middle of its run
            refused = _apply(root)
            assert refused.returncode == 1, refused.stdout + refused.stderr
            assert "held by" in refused.stderr and "for 'apply'" in refused.stderr, refused.stderr
            assert registry.list_models() == []  # the refused apply registered nothing
        done = _apply(root)  # the lock released: the next apply goes through
        assert done.returncode == 0, done.stdout + done.stderr
        assert [m.name for m in registry.list_models()] == ["iris"]
