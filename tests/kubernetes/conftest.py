"""Fixtures for the kubernetes target's tests: a real control plane started for the session.

Where it comes from: `MODELCTL_TEST_KUBECONFIG` (any running cluster), else `KUBEBUILDER_ASSETS`
or `<repo>/../shared/k8s` (started here with cluster.sh in a temp folder, on free ports, and stopped
at the end). With `CI` set, a missing control plane FAILS the tests; otherwise they are skipped
with the reason. See docs/targets/kubernetes.md, "Running the tests".
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
from kube_support import (
    REPO,
    AuditLog,
    ControlPlane,
    KubeletStandIn,
    apply_crds,
    create_namespace,
    find_control_plane,
    start_cluster,
)


def _missing(reason: str) -> None:
    message = f"Kubernetes control plane is not available ({reason}); see docs/targets/kubernetes.md"
    if os.environ.get("CI"):
        pytest.fail(f"{message} [CI is set: service tests must not be skipped]", pytrace=False)
    pytest.skip(message)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "kube_cluster" in getattr(item, "fixturenames", ()):
            item.add_marker("kubernetes")


@pytest.fixture(scope="session")
def kube_cluster():
    existing = os.environ.get("MODELCTL_TEST_KUBECONFIG")
    if existing:
        audit = os.environ.get("MODELCTL_TEST_AUDIT_LOG")
        yield ControlPlane(Path(existing), Path(audit) if audit else None)
        return
    script, assets, why = find_control_plane()
    if script is None:
        _missing(why)
    folder = Path(tempfile.mkdtemp(prefix="modelctl-k8s-"))
    try:
        cluster = start_cluster(script, assets, folder)
    except Exception as exc:  # noqa: BLE001 - reported as the reason
        shutil.rmtree(folder, ignore_errors=True)
        _missing(str(exc))
    try:
        api = cluster.api()
        crds = (script.parent / "crds") if script else REPO.parent / "shared/k8s/crds"
        if crds.is_dir():
            apply_crds(api, crds)
        api.close()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def kubelet(kube_cluster):
    """A stand-in kubelet for the session's Node; a test may make chosen pods fail (`kubelet.fail`)."""
    standin = KubeletStandIn(kube_cluster)
    api = kube_cluster.api()
    standin.register(api)
    api.close()
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def kube_api(kube_cluster):
    api = kube_cluster.api()
    yield api
    api.close()


@pytest.fixture
def audit(kube_cluster, kube_api):
    if kube_cluster.audit_log is None:
        pytest.skip("this cluster's audit log is not readable here (MODELCTL_TEST_AUDIT_LOG unset)")
    return AuditLog(kube_cluster.audit_log, kube_api)


@pytest.fixture
def namespace(kube_api):
    name = "t-" + uuid.uuid4().hex[:8]
    create_namespace(kube_api, name)
    return name
