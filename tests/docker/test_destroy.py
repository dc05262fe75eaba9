"""`modelctl destroy` on the real engine: every container and volume the workspace runs goes, the
router and its volume included, collected data, the registry and the secrets stay (and the output says
how to remove them); preventDestroy refuses; a second destroy has nothing to do. `deployments list`
shows the endpoints routing to each deployment."""

from __future__ import annotations

import json
import os
import pty
import subprocess

from docker_helpers import DEPLOYMENT, MODELCTL

ENDPOINT = """\
apiVersion: modelctl.io/v1
kind: Endpoint
metadata: {name: web}
spec: {target: local, traffic: {blue: 80, green: 20}}
"""


def _labelled(ws) -> dict[str, list[str]]:  # noqa: ANN001
    label = {"label": [f"modelctl.io/workspace={ws.name}"]}
    return {
        "containers": sorted(c.name for c in ws.docker.containers.list(all=True, filters=label)),
        "volumes": sorted(
            f"{v.name} ({v.attrs['Labels'].get('modelctl.io/role')})" for v in ws.docker.volumes.list(filters=label)
        ),
        "networks": sorted(n.name for n in ws.docker.networks.list(filters=label)),
    }


def _on_a_terminal(ws, answer: str, *args: str) -> subprocess.CompletedProcess:  # noqa: ANN001
    """The CLI with a pseudo-terminal as stdin, `answer` typed into it."""
    controller, terminal = pty.openpty()
    try:
        os.write(controller, answer.encode() + b"\n")
        return subprocess.run(
            [*MODELCTL, *args], cwd=ws.root, stdin=terminal, capture_output=True, text=True, timeout=300
        )
    finally:
        os.close(controller)
        os.close(terminal)


def test_destroy_removes_what_the_workspace_runs_and_keeps_its_data(workspace):
    ws = workspace
    ws.write(
        "deployments/blue.yaml",
        DEPLOYMENT.format(name="blue") + "  lifecycle: {preventDestroy: true}\n",
    )
    ws.write("deployments/green.yaml", DEPLOYMENT.format(name="green") + "  dataCollection: {enabled: true}\n")
    ws.write("endpoints/web.yaml", ENDPOINT)
    plan, outcome = ws.apply(allow_dirty=True)
    assert outcome.ok, [r.message for r in outcome.results]

    listed = {r["name"]: r for r in json.loads(ws.cli("deployments", "list", ".", "--format", "json").stdout)}
    url = listed["blue"]["endpoints"][0]["url"]
    assert listed["blue"]["endpoints"] == [{"name": "web", "weight": 80, "routedWeight": 80, "url": url}]
    assert listed["green"]["endpoints"] == [{"name": "web", "weight": 20, "routedWeight": 20, "url": url}]
    assert url.startswith("http://127.0.0.1:")

    # preventDestroy: refused, naming it; nothing is removed
    before = _labelled(ws)
    refused = ws.cli("destroy", ".", "--auto-approve")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    said = " ".join(refused.stderr.split())
    assert "refusing to destroy: Deployment/blue on target local was deployed with lifecycle.preventDestroy" in said
    assert _labelled(ws) == before

    ws.write("deployments/blue.yaml", DEPLOYMENT.format(name="blue"))
    plan, outcome = ws.apply(allow_dirty=True)
    assert outcome.ok, [r.message for r in outcome.results]
    before = _labelled(ws)
    router = f"modelctl_{ws.name}_local_router"
    assert router in before["containers"] and f"modelctl_{ws.name}_local_routes (routes)" in before["volumes"]

    # an unknown target, no TTY without --auto-approve, a dry run: nothing changes
    typo = ws.cli("destroy", ".", "--target", "lcoal", "--auto-approve")
    assert typo.returncode == 1 and "did you mean 'local'?" in typo.stderr, typo.stderr
    asked = ws.cli("destroy", ".")
    assert asked.returncode == 1 and "pass --auto-approve (stdin is not a terminal)" in asked.stderr
    dry = ws.cli("destroy", ".", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    shown = " ".join(dry.stdout.split())
    for text in ("- Endpoint/web", "- Deployment/blue", "- Deployment/green", f"router container {router}", "Kept"):
        assert text in shown, shown
    previewed = ws.cli("plan", ".", "--destroy", "--targets", "local")  # the same preview, Terraform's way
    assert previewed.returncode == 0 and f"router container {router}" in previewed.stdout, previewed.stderr
    assert _labelled(ws) == before
    for answer in ("no", "y"):  # on a terminal only a typed 'yes' destroys
        said = _on_a_terminal(ws, answer, "destroy", ".")
        assert said.returncode == 1 and "Destroy cancelled." in said.stderr, said.stdout + said.stderr
        assert "Only 'yes' is accepted" in said.stdout
    assert _labelled(ws) == before

    done = ws.cli("destroy", ".", "--target", "local", "--auto-approve")
    assert done.returncode == 0, done.stdout + done.stderr
    out = " ".join(done.stdout.split())
    assert "Destroy complete: 3 deleted" in out and f"removed router container {router}" in out
    assert "modelctl models delete NAME" in out and "collected-data" in out  # what is kept, and how to remove it
    after = _labelled(ws)
    assert after["containers"] == [] and after["networks"] == []
    assert after["volumes"] == [  # each deployment's collected-data volume is kept on purpose
        f"modelctl_{ws.name}_local_{d}_collected (collected-data)" for d in ("blue", "green")
    ]
    with ws.session() as s:
        assert s.registry.get_model("iris").version == 1  # the registry keeps the model
        assert s.registry.list_deployments() == []
        assert [a.action for a in s.registry.history("Deployment/green")][:1] == ["delete"]
    assert (ws.root / ".modelctl/secrets/test-keys").is_file()

    again = ws.cli("destroy", ".", "--auto-approve")
    assert again.returncode == 0 and "Nothing to destroy" in again.stdout, again.stdout + again.stderr
