"""Two workspaces on one Docker engine whose object names collided before names.py (issue 13, item 1):
workspace `probe…` + target `kill-local` and workspace `probe…-kill` + target `local` both named their
router `modelctl-probe…-kill-local-router`, and deployment `kill-blue` of the one and `blue` of the
other shared a collected-data volume. Applied side by side (the real apply_repo), each answers on its
own URL, and pruning a deployment of one leaves the other's routes, containers and volumes untouched.

Also: an object with one of our names but another owner's labels is never used, changed or removed;
objects under the names of an earlier version are found by their labels and renamed by the next apply.
"""

from __future__ import annotations

import io
import random
import shutil
import tarfile
import uuid

import pytest
from testkit import changes

from compiler.targets.docker import labels as L
from compiler.targets.docker import names
from compiler.targets.docker.router import ROUTES_DIR, read_route_files, route_files

from docker_helpers import DEPLOYMENT, EXAMPLE, IMAGE, MODEL, WORKSPACE, Workspace

POINT = [[5.1, 3.5, 1.4, 0.2]]


def make(root, name: str, target: str, deployments: list[str], docker_client, oci_registry, base_image) -> Workspace:  # noqa: ANN001
    lo = random.randrange(20000, 29000, 20)
    ws = Workspace(root, name, docker_client)
    ws.write(
        "modelctl.yaml",
        WORKSPACE.format(name=name, registry=oci_registry, base=base_image, lo=lo, hi=lo + 19).replace(
            "    local: {", f"    {target}: {{"
        ),
    )
    ws.write("models/iris.yaml", MODEL)
    ws.write("artifacts/model.joblib", (EXAMPLE / "artifacts/iris.joblib").read_bytes())
    ws.write("images/scorer.yaml", IMAGE)
    for d in deployments:
        ws.write(f"deployments/{d}.yaml", DEPLOYMENT.format(name=d).replace("target: local", f"target: {target}"))
    return ws


def clean(docker_client, name: str) -> None:  # noqa: ANN001
    for c in docker_client.containers.list(all=True, filters={"label": [f"{L.WORKSPACE}={name}"]}):
        c.remove(force=True, v=True)
    for v in docker_client.volumes.list(filters={"label": f"{L.WORKSPACE}={name}"}):
        v.remove(force=True)


@pytest.fixture
def workspaces(tmp_path, docker_client, oci_registry, base_image):
    """A factory of workspaces in tmp_path; everything they leave on the engine is removed afterwards."""
    made: list[Workspace] = []

    def factory(name: str, target: str, deployments: list[str]) -> Workspace:
        ws = make(tmp_path / f"repo-{name}", name, target, deployments, docker_client, oci_registry, base_image)
        made.append(ws)
        return ws

    yield factory
    for ws in made:
        clean(docker_client, ws.name)
        shutil.rmtree(ws.root, ignore_errors=True)


def target_of(ws: Workspace) -> str:
    return "kill-local" if not ws.name.endswith("-kill") else "local"


def router(ws: Workspace):  # noqa: ANN201
    """The workspace's router, by its labels."""
    [found] = ws.docker.containers.list(
        all=True,
        filters={
            "label": [
                f"{L.MANAGED_BY_KEY}={L.MANAGED_BY}",
                f"{L.WORKSPACE}={ws.name}",
                f"{L.ROLE}=router",
                f"{L.TARGET}={target_of(ws)}",
            ]
        },
    )
    return found


def snapshot(ws: Workspace) -> dict:
    """What the engine holds for a workspace: its containers (id, name, state), its router's route files
    (bytes), its volumes (name, creation time)."""
    r = router(ws)
    return {
        "containers": sorted(
            (c.id, c.name, c.status)
            for c in ws.docker.containers.list(all=True, filters={"label": [f"{L.WORKSPACE}={ws.name}"]})
        ),
        "routes": route_files(ws.docker, r.id),
        "volumes": sorted(
            (v.name, v.attrs["CreatedAt"])
            for v in ws.docker.volumes.list(filters={"label": f"{L.WORKSPACE}={ws.name}"})
        ),
    }


def answers(ws: Workspace, deployment: str) -> None:
    response = ws.score(deployment, POINT)
    assert response.status_code == 200, (ws.name, deployment, response.status_code, response.text[:200])


def test_two_workspaces_whose_names_collided_are_isolated(workspaces):
    token = uuid.uuid4().hex[:6]
    a = workspaces(f"probe{token}", "kill-local", ["kill-blue", "kill-green"])
    b = workspaces(f"probe{token}-kill", "local", ["blue", "green"])
    # under the old scheme (parts joined with '-') these collided: one router, one volume for two owners
    assert f"modelctl-{a.name}-kill-local-router" == f"modelctl-{b.name}-local-router"
    assert f"modelctl-{a.name}-kill-blue-collected" == f"modelctl-{b.name}-blue-collected"

    for ws in (a, b):
        plan, outcome = ws.apply()
        assert outcome.ok, [r.message for r in outcome.results]
    for ws in (a, b):  # each applied again: nothing of the other's is taken for its own
        assert not ws.plan().has_changes, [(x.resource, x.reasons) for x in ws.plan().changes]

    urls = {
        (ws.name, d): ws.url(d) for ws, ds in ((a, ["kill-blue", "kill-green"]), (b, ["blue", "green"])) for d in ds
    }
    assert len(set(urls.values())) == 4, urls
    for (name, d), _url in urls.items():
        answers(a if name == a.name else b, d)
    logs = b.cli("deployments", "logs", "blue", "--repo", ".", "--tail", "5")  # the container found by its labels
    assert logs.returncode == 0 and logs.stdout.strip(), logs.stdout + logs.stderr

    ra, rb = router(a), router(b)
    assert (ra.name, rb.name) == (names.router(a.name, "kill-local"), names.router(b.name, "local"))
    assert ra.attrs["HostConfig"]["ReadonlyRootfs"] and rb.attrs["HostConfig"]["ReadonlyRootfs"]
    assert [r.deployment for r in read_route_files(a.docker, ra.id)[0]] == ["kill-blue", "kill-green"]
    assert [r.deployment for r in read_route_files(b.docker, rb.id)[0]] == ["blue", "green"]
    for ws, target in ((a, "kill-local"), (b, "local")):
        for c in ws.backends():
            deployment = c.labels[L.RESOURCE].split("/", 1)[1]
            assert names.is_backend(c.name, ws.name, target, deployment), c.name
            [volume] = [m["Name"] for m in c.attrs["Mounts"] if m["Type"] == "volume"]
            assert volume == names.collected_volume(ws.name, target, deployment)
            assert L.owned_by(
                ws.docker.volumes.get(volume).attrs["Labels"],
                ws.name,
                **{L.TARGET: target, L.RESOURCE: f"Deployment/{deployment}"},
            )

    # prune a deployment of a: only a's goes
    before = snapshot(b)
    a.remove("deployments/kill-green.yaml")
    plan, outcome = a.apply()
    assert changes(plan) == {"Deployment/kill-green": "delete"} and outcome.ok
    assert not a.backends("kill-green") and a.backends("kill-blue")
    assert [r.deployment for r in read_route_files(a.docker, ra.id)[0]] == ["kill-blue"]
    assert snapshot(b) == before
    assert not b.plan().has_changes
    for d in ("blue", "green"):
        answers(b, d)

    # and the other way round
    before = snapshot(a)
    b.remove("deployments/blue.yaml")
    plan, outcome = b.apply()
    assert changes(plan) == {"Deployment/blue": "delete"} and outcome.ok
    assert not b.backends("blue") and [r.deployment for r in read_route_files(b.docker, rb.id)[0]] == ["green"]
    assert snapshot(a) == before
    assert not a.plan().has_changes
    answers(a, "kill-blue")
    answers(b, "green")


def test_an_object_with_our_name_but_another_owners_labels_is_never_touched(workspaces, docker_client, base_image):
    ws = workspaces(f"probe{uuid.uuid4().hex[:6]}-kill", "local", ["blue"])
    other = {L.MANAGED_BY_KEY: L.MANAGED_BY, L.WORKSPACE: ws.name + "-other", L.TARGET: "local", L.ROLE: "router"}

    # a container with the router's name, labelled as another workspace's router
    impostor = docker_client.containers.run(
        base_image,
        ["sleep", "infinity"],
        name=names.router(ws.name, "local"),
        detach=True,
        labels=other,
        network_mode="none",
    )
    try:
        plan, outcome = ws.apply()
        assert not outcome.ok
        message = " ".join(r.message or "" for r in outcome.results)
        assert f"a container named {impostor.name} exists that is not the router of workspace" in message, message
        impostor.reload()
        assert impostor.status == "running" and impostor.labels == {**impostor.labels, **other}
        assert ws.plan().action("Deployment/blue").action == "create"  # never read as ours
        with ws.session() as s:  # a prune (the connection's delete) does not find it either
            s.connection("docker").delete(
                "local", s.graph.workspace.spec.targets["local"], "blue", progress=lambda _t: None
            )
        assert docker_client.containers.get(impostor.id).status == "running"
    finally:
        impostor.remove(force=True)

    # a volume with the deployment's collected-data volume name, another workspace's
    volume = docker_client.volumes.create(
        names.collected_volume(ws.name, "local", "blue"),
        labels={**other, L.ROLE: "collected-data", L.RESOURCE: "Deployment/blue"},
    )
    try:
        plan, outcome = ws.apply()
        assert not outcome.ok
        message = " ".join(r.message or "" for r in outcome.results)
        assert f"a volume named {volume.name} exists that is not modelctl's for workspace" in message, message
        assert not ws.backends("blue")  # the container that would have mounted it was never started
        assert docker_client.volumes.get(volume.name).attrs["Labels"] == volume.attrs["Labels"]
    finally:
        volume.remove(force=True)
    plan, outcome = ws.apply()
    assert outcome.ok, [r.message for r in outcome.results]
    answers(ws, "blue")


def test_objects_of_an_earlier_version_are_found_by_labels_and_renamed(workspaces, docker_client):
    ws = workspaces(f"probe{uuid.uuid4().hex[:6]}", "kill-local", ["blue"])
    plan, outcome = ws.apply()
    assert outcome.ok, [r.message for r in outcome.results]
    url = ws.url("blue")

    # what an earlier version left: the router `modelctl-<ws>-<target>-router`, backends `<ws>-<deployment>-<fp12>`
    # with routes naming them (same labels as now)
    r = router(ws)
    [backend] = ws.backends("blue")
    old_router, old_backend = (
        f"modelctl-{ws.name}-kill-local-router",
        f"{ws.name}-blue-{backend.labels[L.FINGERPRINT][:12]}",
    )
    files = {
        n: data.replace(backend.name.encode(), old_backend.encode())
        for n, data in route_files(docker_client, r.id).items()
    }
    r.rename(old_router)
    backend.rename(old_backend)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for n, data in files.items():
            info = tarfile.TarInfo(n)
            info.size, info.uid, info.gid, info.mode = len(data), 10002, 10002, 0o644
            tar.addfile(info, io.BytesIO(data))
    assert r.put_archive(ROUTES_DIR, buf.getvalue())
    answers(ws, "blue")

    plan = ws.plan()
    assert changes(plan) == {"Deployment/blue": "update"}
    assert plan.action("Deployment/blue").reasons == (
        f"rename: container {old_backend} takes this version's names (a blue/green roll)",
        f"router: {old_router} takes this version's name",
    )
    plan, outcome = ws.apply()
    assert outcome.ok, [r.message for r in outcome.results]
    assert ws.url("blue") == url  # the stable port is kept: the route files moved to the new router
    answers(ws, "blue")
    assert router(ws).name == names.router(ws.name, "kill-local")
    [backend] = ws.backends("blue")
    assert names.is_backend(backend.name, ws.name, "kill-local", "blue")
    assert not docker_client.containers.list(all=True, filters={"name": f"^/{old_router}$"})
    assert not docker_client.containers.list(all=True, filters={"name": f"^/{old_backend}$"})
    assert not ws.plan().has_changes
