"""A small repo written into tmp_path, and fake live states built from its graph (no services)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from live_support import LiveFacts

from compiler.pipeline import compile_repo
from compiler.plan.deployments import deployment_spec_json
from compiler.plan.refs import image_inputs, image_reference, registry_digest
from compiler.plan.state import ImageFact, ModelFact, RecordFact
from compiler.targets.docker.facts import ContainerFact, RouteFact, RouterFact
from compiler.targets.kubernetes.facts import KubernetesFacts, ObjectFact, Rollout
from compiler.targets.kubernetes.planning import desired_objects

WORKSPACE = """\
apiVersion: modelctl.io/v1
kind: Workspace
metadata: {name: team}
spec:
  imageRegistry: 127.0.0.1:5000/team
  targets:
    local: {type: docker}
    prod: {type: kubernetes, namespace: models}
"""

MODELS = """\
apiVersion: modelctl.io/v1
kind: Model
metadata: {name: iris}
spec: {framework: custom, path: artifacts/iris.bin}
---
apiVersion: modelctl.io/v1
kind: Model
metadata: {name: other}
spec: {framework: custom, path: artifacts/other.bin}
"""

IMAGES = """\
apiVersion: modelctl.io/v1
kind: Image
metadata: {name: iris-scorer}
spec: {models: [iris], environment: curated/sklearn, scoring: {script: score/score.py}}
---
apiVersion: modelctl.io/v1
kind: Image
metadata: {name: other-scorer}
spec: {models: [other], environment: curated/sklearn, scoring: {script: score/score.py}}
"""

DEPLOYMENTS = """\
apiVersion: modelctl.io/v1
kind: Deployment
metadata: {name: iris-local}
spec: {image: iris-scorer, target: local, auth: {mode: key, secretRef: iris-keys}}
---
apiVersion: modelctl.io/v1
kind: Deployment
metadata: {name: other-local}
spec: {image: other-scorer, target: local}
---
apiVersion: modelctl.io/v1
kind: Deployment
metadata: {name: iris-prod}
spec: {image: iris-scorer, target: prod}
"""


class Repo:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.write("modelctl.yaml", WORKSPACE)
        self.write("models/models.yaml", MODELS)
        self.write("images/images.yaml", IMAGES)
        self.write("deployments/deployments.yaml", DEPLOYMENTS)
        self.write("artifacts/iris.bin", "iris v1")
        self.write("artifacts/other.bin", "other v1")
        self.write("score/score.py", "def init():\n    pass\n\ndef run(data):\n    return data\n")

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def remove(self, rel: str) -> None:
        (self.root / rel).unlink()

    def graph(self):
        compiled = compile_repo(self.root)
        return compiled.require()


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "repo")


def converged(
    graph,
    *,
    versions: dict[str, int] | None = None,
    image_versions: dict[str, int] | None = None,
    router_running: bool = True,
) -> LiveFacts:
    """The live state a successful apply of `graph` leaves behind (docker target 'local', kubernetes
    target 'prod': modelctl owns exactly the fields it applied, every rollout complete)."""
    versions = versions or {}
    image_versions = image_versions or {}
    models, images, manifests, records, containers, routes = {}, {}, {}, [], [], []
    for node in graph.of_kind("Model"):
        v = versions.get(node.name, 1)
        models[node.name] = ModelFact(node.name, v, registry_digest(graph, node), v, node.spec.framework)
    for node in graph.of_kind("Image"):
        if node.name.startswith("curated"):
            continue
        ref = image_reference(graph, node)
        v = image_versions.get(node.name, 1)
        images[node.name] = ImageFact(
            node.name,
            v,
            node.fingerprint,
            ref.split(":")[0] + "@sha256:" + "a" * 64,
            tuple((u.name, models[u.name].version) for u in node.models),
            tuple(sorted(image_inputs(graph, node).items())),  # what apply records
        )
        manifests[ref] = "sha256:" + "a" * 64
    port = 18000
    for node in graph.of_kind("Deployment"):
        if node.target.type != "docker":
            continue
        image = graph.get(node.image_id)
        servers = []
        for i in range(1, node.spec.replicas + 1):
            name = f"team-{node.name}-{node.fingerprint[:12]}" + (f"-{i}" if i > 1 else "")
            backend_port = 40000 + port % 100 * 10 + i
            containers.append(
                ContainerFact(
                    f"id-{name}",
                    name,
                    node.target_name,
                    node.name,
                    node.fingerprint,
                    image_reference(graph, image),
                    "running",
                    "healthy",
                    json.dumps(deployment_spec_json(node)),
                    backend_port,
                    node.spec.lifecycle.prevent_destroy,
                )
            )
            servers.append((name, backend_port))
        routes.append(
            RouteFact(
                node.name,
                servers[0][0],
                port,
                servers[0][1],
                node.fingerprint,
                node.spec.lifecycle.prevent_destroy,
                tuple(servers) if len(servers) > 1 else (),
            )
        )
        records.append(
            RecordFact(node.name, node.target_name, image.name, 1, f"http://127.0.0.1:{port}", node.fingerprint)
        )
        port += 1
    kube: dict[str, list[ObjectFact]] = {}
    for node in graph.of_kind("Deployment"):
        if node.target.type != "kubernetes":
            continue
        image = graph.get(node.image_id)
        for obj in desired_objects(graph, node, image_reference(graph, image)):
            n = node.spec.replicas
            rollout = Rollout(1, 1, n, n, n, n, n) if obj["kind"] == "Deployment" else None
            kube.setdefault(node.target_name, []).append(
                ObjectFact(
                    obj["kind"],
                    obj["metadata"]["name"],
                    node.id,
                    node.target_name,
                    obj,
                    prevent_destroy=node.spec.lifecycle.prevent_destroy,
                    rollout=rollout,
                )
            )
        records.append(
            RecordFact(
                node.name,
                node.target_name,
                image.name,
                1,
                f"http://{node.name}.{node.target.namespace}.svc.cluster.local",
                node.fingerprint,
            )
        )
    kubernetes = {
        name: KubernetesFacts(graph.workspace.spec.targets[name].namespace, tuple(objs)) for name, objs in kube.items()
    }
    routers = {"local": RouterFact("local", "modelctl-team-local-router", router_running, "127.0.0.1", tuple(routes))}
    return LiveFacts(models, images, manifests, tuple(records), tuple(containers), routers, kubernetes=kubernetes)


@pytest.fixture
def converge():
    return converged
