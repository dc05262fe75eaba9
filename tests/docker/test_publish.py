"""Edge bundles and FPGA configs published for real: to a folder of the repo and to the OCI registry.
Plan → publish → no changes; a bundle edited by hand is republished; a spec change republishes with
a field diff; removal from git unpublishes. (The image they name is built and pushed like any other.)"""

from __future__ import annotations

import json
import tarfile

import httpx
from testkit import changes

from docker_helpers import MODEL as PLAIN_MODEL

# the suite's model, with a compiled form for the FPGA's architecture
MODEL = PLAIN_MODEL.replace(
    "  signature:", "  accelerator: {architecture: int8-dpu, path: artifacts/model.int8.bin}\n  signature:"
)

EDGE = """\
apiVersion: modelctl.io/v1
kind: Deployment
metadata: {name: cam}
spec:
  image: scorer
  target: factory
  auth: {mode: key, secretRef: cam-keys}
  edge: {targetCondition: "tags.site='a'", priority: PRIORITY}
"""

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


def test_edge_and_fpga_bundles_are_published_and_reconciled(workspace, oci_registry):
    ws = workspace
    ws.remove("deployments/blue.yaml")
    ws.write(
        "modelctl.yaml",
        (ws.root / "modelctl.yaml").read_text()
        + "    factory: {type: edge, publish: file://published/edge}\n"
        + f"    rack-7: {{type: fpga, publish: oci://{oci_registry}/{ws.name}-fpga}}\n",
    )
    ws.write("models/iris.yaml", MODEL)
    ws.write("artifacts/model.int8.bin", b"compiled for the dpu")
    ws.write("deployments/cam.yaml", EDGE.replace("PRIORITY", "1"))
    ws.write("deployments/rack.yaml", FPGA)

    plan = ws.plan()
    assert changes(plan) == {
        "Model/iris": "create",
        "Image/scorer": "create",
        "Deployment/cam": "create",
        "Deployment/rack": "create",
    }
    assert plan.action("Deployment/cam").reasons[0] == (
        "publish: edge bundle of cam to target factory (file://published/edge)"
    )
    assert plan.action("Deployment/cam").reasons[1].endswith(" at priority 1")  # deployment cam-<content hash>
    assert plan.not_applied == ()
    plan, outcome = ws.apply()
    assert outcome.ok, [r.message for r in outcome.results]

    # The edge bundle is in the repo folder, with its marker; the manifest names the pushed image.
    folder = ws.root / "published/edge/cam"
    marker = json.loads((folder / "modelctl.json").read_text())
    assert marker["resource"] == "Deployment/cam" and marker["workspace"] == ws.name
    assert sorted(marker["files"]) == ["SHA256SUMS", "bundle.tar.gz", "deployment.json"]
    manifest = json.loads((folder / "deployment.json").read_text())
    module = manifest["content"]["modulesContent"]["$edgeAgent"]["properties.desired"]["modules"]["cam"]
    assert module["settings"]["image"] == plan.action("Image/scorer").change.ref
    with tarfile.open(folder / "bundle.tar.gz") as tar:
        assert "deployment.json" in tar.getnames()
    # The FPGA config is an OCI artifact tagged with the deployment's name.
    got = httpx.get(
        f"http://{oci_registry}/v2/{ws.name}-fpga/manifests/rack",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
    )
    assert got.status_code == 200 and got.json()["annotations"]["io.modelctl.resource"] == "Deployment/rack"
    fingerprint = got.json()["annotations"]["io.modelctl.fingerprint"]
    revision = httpx.get(
        f"http://{oci_registry}/v2/{ws.name}-fpga/manifests/rack.{fingerprint[:12]}",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
    )
    assert revision.status_code == 200 and revision.json() == got.json()  # one tag per revision beside it
    titles = {layer["annotations"]["org.opencontainers.image.title"] for layer in got.json()["layers"]}
    assert "accelerator.json" in titles
    assert not ws.plan().has_changes
    cli = ws.cli("drift", ".")
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert "not checked" not in cli.stdout

    def health() -> dict[str, str]:
        listed = json.loads(ws.cli("deployments", "list", ".", "--format", "json").stdout)
        return {row["name"]: row["health"] for row in listed}

    assert health() == {"cam": "published", "rack": "published"}

    # Edited by hand → drift, and the plan republishes exactly that bundle.
    (folder / "deployment.json").write_text("{}")
    assert ws.cli("drift", ".").returncode == 2
    assert health()["cam"] == "changed by hand"
    plan = ws.plan()
    assert changes(plan) == {"Deployment/cam": "update"}
    assert "changed by hand" in plan.action("Deployment/cam").reasons[0]
    plan, outcome = ws.apply()
    assert outcome.ok and json.loads((folder / "deployment.json").read_text())["priority"] == 1

    # A spec change republishes with its field diff; nothing else moves.
    ws.write("deployments/cam.yaml", EDGE.replace("PRIORITY", "5"))
    plan = ws.plan()
    assert changes(plan) == {"Deployment/cam": "update"}
    assert [(d.path, d.before, d.after) for d in plan.action("Deployment/cam").diffs] == [("spec.edge.priority", 1, 5)]
    first_id = json.loads((folder / "deployment.json").read_text())["id"]
    assert plan.action("Deployment/cam").reasons == (
        "republish: spec.edge.priority changed",
        f"update deployment {first_id} in place: priority changed (content unchanged)",
    )
    plan, outcome = ws.apply()
    published = json.loads((folder / "deployment.json").read_text())
    assert outcome.ok and (published["id"], published["priority"]) == (first_id, 5)

    # New content is a new deployment id, published above the one it replaces (the spec still says 5).
    ws.write(
        "deployments/cam.yaml", EDGE.replace("PRIORITY", "5").replace("  edge:", "  env: {LOG_LEVEL: debug}\n  edge:")
    )
    plan = ws.plan()
    action = plan.action("Deployment/cam")
    assert (
        action.reasons[-1].startswith("new deployment cam-")
        and f"priority 6 above {first_id} (5)" in action.reasons[-1]
    )
    plan, outcome = ws.apply()
    published = json.loads((folder / "deployment.json").read_text())
    marker = json.loads((folder / "modelctl.json").read_text())
    assert outcome.ok and published["id"] != first_id and published["priority"] == 6
    assert (marker["deploymentId"], marker["priority"], marker["replaces"]) == (published["id"], 6, first_id)
    assert not ws.plan().has_changes  # the raised priority is what git asks for, not drift
    # no leftovers of the swap; every version kept for a rollback, the pointer on the newest
    assert sorted(p.name for p in (ws.root / "published/edge").iterdir()) == [".revisions", "cam"]
    assert len(list((ws.root / "published/edge/.revisions/cam").iterdir())) == 3 and folder.is_symlink()

    # Removed from git → unpublished, from the folder and from the registry.
    ws.remove("deployments/cam.yaml")
    ws.remove("deployments/rack.yaml")
    plan = ws.plan()
    assert changes(plan) == {"Deployment/cam": "delete", "Deployment/rack": "delete"}
    plan, outcome = ws.apply()
    assert outcome.ok, [r.message for r in outcome.results]
    assert not folder.exists()
    assert (
        httpx.get(
            f"http://{oci_registry}/v2/{ws.name}-fpga/manifests/rack",
            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        ).status_code
        == 404
    )
    assert not ws.plan().has_changes
