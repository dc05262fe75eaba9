"""Listing and rolling back a docker deployment reads only its own target: a kubernetes target of the
same workspace that cannot be reached (no kubeconfig) does not stop it."""

from __future__ import annotations

import uuid

from typer.testing import CliRunner

from compiler.cli.main import app

runner = CliRunner()


def test_revisions_and_rollback_ignore_an_unreachable_other_target(docker_client, tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))
    monkeypatch.setenv("HOME", str(tmp_path))
    root = tmp_path / f"qa-{uuid.uuid4().hex[:8]}"
    assert runner.invoke(app, ["init", str(root)]).exit_code == 0
    ws = root / "modelctl.yaml"
    ws.write_text(ws.read_text() + "    prod:\n      type: kubernetes\n")

    listed = runner.invoke(app, ["history", "example-local", str(root), "--revisions"])
    assert listed.exit_code == 0, listed.output
    assert "no revisions of Deployment/example-local to roll back to yet" in listed.output

    rolled = runner.invoke(app, ["rollback", "example-local", str(root), "--auto-approve"])
    assert rolled.exit_code == 1
    text = " ".join(rolled.output.split())
    assert "nothing of it runs on its target now" in text and "kubeconfig" not in text
