"""`modelctl rollback` on the real engine: a docker deployment goes back to the image version it ran
before, an edge deployment's published pointer (a folder) and an fpga deployment's moving tag (the
OCI registry) to their previous revisions; `history` records it and
lists the revisions; `drift` reports it as expected (exit 3); `reconcile --self-heal` leaves it; an
explicit apply rolls forward; a `git revert` makes git match and clears the expected drift."""

from __future__ import annotations

import json
import os

import git
import httpx

from docker_helpers import IMAGE
from docker_helpers import MODEL as PLAIN_MODEL

MODEL = PLAIN_MODEL.replace(  # with a compiled form for the FPGA's architecture
    "  signature:", "  accelerator: {architecture: int8-dpu, path: artifacts/model.int8.bin}\n  signature:"
)
FPGA = """\
apiVersion: modelctl.io/v1
kind: Deployment
metadata: {name: rack}
spec:
  image: scorer
  target: rack-7
  fpga:
    device: {family: alveo, part: u250}
    bitstream: {uri: "https://example.com/dpu.xclbin", sha256: "%s", architecture: int8-dpu}
""" % ("ab" * 32)

EDGE = """\
apiVersion: modelctl.io/v1
kind: Deployment
metadata: {name: cam}
spec:
  image: scorer
  target: factory
  auth: {mode: key, secretRef: cam-keys}
  edge: {targetCondition: "tags.site='a'", priority: 1}
"""


def commit_all(repo: git.Repo, message: str) -> str:
    repo.git.add("-A")
    actor = git.Actor("ci", "ci@example.com")
    return repo.index.commit(message, author=actor, committer=actor).hexsha


def events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def ok(result) -> str:  # noqa: ANN001
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def serving(ws) -> dict:  # noqa: ANN001
    [container] = [c for c in ws.backends("blue") if c.status == "running"]
    return container.labels


def published_image(ws) -> str:  # noqa: ANN001
    doc = json.loads((ws.root / "published/edge/cam/deployment.json").read_text())
    return doc["content"]["modulesContent"]["$edgeAgent"]["properties.desired"]["modules"]["cam"]["settings"]["image"]


def test_rollback_of_docker_edge_and_fpga_deployments(workspace, oci_registry):
    ws = workspace
    ws.write(
        "modelctl.yaml",
        (ws.root / "modelctl.yaml").read_text()
        + "    factory: {type: edge, publish: file://published/edge}\n"
        + f"    rack-7: {{type: fpga, publish: oci://{oci_registry}/{ws.name}-fpga}}\n",
    )
    ws.write("models/iris.yaml", MODEL)
    ws.write("artifacts/model.int8.bin", b"compiled for the dpu")
    ws.write("deployments/cam.yaml", EDGE)
    ws.write("deployments/rack.yaml", FPGA)

    def rack() -> dict:  # the manifest a host pulling the deployment's tag gets
        url = f"http://{oci_registry}/v2/{ws.name}-fpga/manifests/rack"
        return httpx.get(url, headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}).json()

    ws.write(".gitignore", ".modelctl/\npublished/\n")  # what apply writes is not the repo's content
    repo = git.Repo.init(ws.root, initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", "ci").set_value("user", "email", "ci@example.com")
    commit_all(repo, "v1")
    ok(ws.cli("apply", ".", "--auto-approve"))
    v1 = {"blue": serving(ws), "cam": published_image(ws), "rack": rack()}

    # v2: the image changes (rebuilt), so blue rolls out and cam is republished
    ws.write(
        "images/scorer.yaml", IMAGE.replace("metadata: {name: scorer}", "metadata: {name: scorer, description: v2}")
    )
    commit_all(repo, "v2")
    ok(ws.cli("apply", ".", "--auto-approve"))
    v2 = {"blue": serving(ws), "cam": published_image(ws), "rack": rack()}
    assert v2["blue"]["modelctl.io/image-ref"] != v1["blue"]["modelctl.io/image-ref"]
    assert v2["cam"] != v1["cam"]
    fp1, fp2 = v1["blue"]["modelctl.io/fingerprint"], v2["blue"]["modelctl.io/fingerprint"]

    # history lists the revisions rollback --to takes; the earlier edge bundle is still there
    revisions = json.loads(ok(ws.cli("history", "blue", "--revisions", "--format", "json")))
    assert [(r["fingerprint"], r["current"], r["imageVersion"]) for r in revisions] == [(fp2, True, 2), (fp1, False, 1)]
    edge_revisions = json.loads(ok(ws.cli("history", "cam", "--revisions", "--format", "json")))
    assert [r["current"] for r in edge_revisions] == [True, False]
    assert "Revisions of Deployment/blue" in ok(ws.cli("history", "blue"))

    # unknown names and revisions: exit 1 with a hint / the list
    typo = ws.cli("rollback", "blu", "--auto-approve")
    assert typo.returncode == 1 and "did you mean 'blue'" in typo.stderr, typo.stderr
    wrong = ws.cli("rollback", "blue", "--to", "ffff0000", "--auto-approve")
    assert wrong.returncode == 1 and "unknown revision 'ffff0000'" in wrong.stderr, wrong.stderr
    assert fp1[:12] in wrong.stderr and fp2[:12] in wrong.stderr
    assert ws.cli("rollback", "blue").returncode == 1  # no terminal, no --auto-approve: refused, nothing done
    assert serving(ws)["modelctl.io/fingerprint"] == fp2

    # roll both back: docker runs image version 1 again, the edge pointer is back on its first bundle
    out = ok(ws.cli("rollback", "blue", "--auto-approve"))
    assert f"{fp2[:12]} → {fp1[:12]}" in out, out
    after = serving(ws)
    assert after["modelctl.io/fingerprint"] == fp1
    assert after["modelctl.io/image-ref"] == v1["blue"]["modelctl.io/image-ref"]
    assert json.loads(after["modelctl.io/rollback"])["from"] == fp2
    assert ws.score("blue", [[5.1, 3.5, 1.4, 0.2]]).status_code == 200
    ok(ws.cli("rollback", "cam", "--to", edge_revisions[1]["revision"], "--auto-approve"))
    assert published_image(ws) == v1["cam"]
    ok(ws.cli("rollback", "rack", "--auto-approve"))
    now = rack()
    assert now["layers"] == v1["rack"]["layers"] and now["config"] == v1["rack"]["config"]
    assert (
        json.loads(now["annotations"]["io.modelctl.rollback"])["to"]
        == v1["rack"]["annotations"]["io.modelctl.fingerprint"]
    )

    # history records both as `rollback`, from → to
    rows = json.loads(ok(ws.cli("history", "Deployment/blue", "--format", "json")))
    assert rows[0]["action"] == "rollback" and rows[0]["result"] == "ok"
    assert (rows[0]["detail"]["from"]["fingerprint"], rows[0]["detail"]["to"]["fingerprint"]) == (fp2, fp1)
    assert rows[0]["image"] == "scorer:1" and rows[0]["user"]
    assert "rollback" in ok(ws.cli("history", "cam"))

    # plan and drift: git wants v2, live runs v1, said so; expected drift, exit 3
    plan = ws.plan()
    [reason, *_] = plan.action("Deployment/blue").reasons
    assert reason.startswith("rolled back at ") and f"git wants {fp2[:12]}, live runs {fp1[:12]}" in reason
    drift = ws.cli("drift", ".", "--format", "json")
    assert drift.returncode == 3, drift.stdout + drift.stderr
    doc = json.loads(drift.stdout)
    assert doc["drift"] is False
    assert {i["resource"]: i["kind"] for i in doc["items"]} == {
        "Deployment/blue": "rolled-back",
        "Deployment/cam": "rolled-back",
        "Deployment/rack": "rolled-back",
    }

    # reconcile --self-heal leaves both alone and logs that it did
    healed = ws.cli("reconcile", ".", "--self-heal")
    assert healed.returncode == 0, healed.stdout + healed.stderr
    log = events(healed.stdout)
    assert {e["resource"] for e in log if e["event"] == "skip"} == {
        "Deployment/blue",
        "Deployment/cam",
        "Deployment/rack",
    }
    assert not [e for e in log if e["event"] == "apply"]
    assert serving(ws)["modelctl.io/fingerprint"] == fp1 and published_image(ws) == v1["cam"]

    # an explicit apply rolls forward (here the edge deployment), then it is rolled back again
    ok(ws.cli("apply", ".", "--target", "Deployment/cam", "--auto-approve"))
    assert published_image(ws) == v2["cam"]
    ok(ws.cli("rollback", "cam", "--auto-approve"))
    assert published_image(ws) == v1["cam"] and os.path.islink(ws.root / "published/edge/cam")

    # git reverted to what runs: no drift, nothing to plan, the marker holds nothing any more
    repo.git.revert("HEAD", "--no-edit")
    clean = ws.cli("drift", ".")
    assert clean.returncode == 0 and "No drift" in clean.stdout, clean.stdout + clean.stderr
    assert not ws.plan().has_changes
