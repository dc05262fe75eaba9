"""Connection errors are one clear message naming the target, the context and what was refused; and
the shipped minimal RBAC Role suffices (one verb less: the clear "forbidden")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kube_support import REPO, KubeRepo, call, ok
from testkit import changes

from compiler.errors import PlanError

RBAC = REPO / "docs/targets/kubernetes-rbac.yaml"


def kubeconfig(cluster, path: Path, *, token: str | None = None, server: str | None = None) -> Path:
    config = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    if token is not None:
        config["users"][0]["user"] = {"token": token}
    if server is not None:
        config["clusters"][0]["cluster"]["server"] = server
    path.write_text(yaml.safe_dump(config))
    return path


def repo_with(tmp_path, cluster, namespace, config: Path, context: str = "test") -> KubeRepo:
    repo = KubeRepo.create(tmp_path / "repo", cluster, namespace)
    text = (repo.root / "modelctl.yaml").read_text().replace(str(cluster.kubeconfig), str(config))
    repo.write("modelctl.yaml", text.replace("context: test", f"context: {context}"))
    repo.deployment("blue", replicas=1)
    return repo


def test_an_unknown_context_names_the_target_and_the_contexts(tmp_path, kube_cluster, namespace):
    repo = repo_with(tmp_path, kube_cluster, namespace, kube_cluster.kubeconfig, context="nope")
    with pytest.raises(PlanError, match=r"target prod: kubeconfig .* has no context 'nope' \(contexts: test\)"):
        repo.plan()


def test_an_unreachable_server_is_one_line(tmp_path, kube_cluster, namespace):
    config = kubeconfig(kube_cluster, tmp_path / "kc", server="https://127.0.0.1:1")
    repo = repo_with(tmp_path, kube_cluster, namespace, config)
    with pytest.raises(
        PlanError, match=r"target prod \(context test, namespace .*\): cannot reach the API server https://127.0.0.1:1"
    ):
        repo.plan()


def test_a_refused_token_is_401_in_plain_words(tmp_path, kube_cluster, namespace):
    config = kubeconfig(kube_cluster, tmp_path / "kc", token="not-a-token")
    repo = repo_with(tmp_path, kube_cluster, namespace, config)
    with pytest.raises(PlanError, match=r"refused the credentials \(401 Unauthorized"):
        repo.plan()


def _service_account_token(api, namespace: str, drop: tuple[str, str] | None = None) -> str:
    """A token of ServiceAccount modelctl, bound to the shipped Role (minus `drop` = (resource, verb))."""
    for doc in yaml.safe_load_all(RBAC.read_text().replace("NAMESPACE", namespace)):
        if doc["kind"] == "Role" and drop:
            for rule in doc["rules"]:
                if drop[0] in rule["resources"]:
                    rule["verbs"] = [v for v in rule["verbs"] if v != drop[1]]
        plural = "roles" if doc["kind"] == "Role" else "rolebindings"
        ok(call(api, "POST", f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/{plural}", doc))
    ok(
        call(
            api,
            "POST",
            f"/api/v1/namespaces/{namespace}/serviceaccounts",
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "modelctl"}},
        )
    )
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}}
    answer = ok(call(api, "POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/modelctl/token", request))
    return answer["status"]["token"]


def test_the_minimal_rbac_role_suffices_to_apply_and_prune(tmp_path, kube_cluster, kubelet, kube_api, namespace):
    token = _service_account_token(kube_api, namespace)
    repo = repo_with(tmp_path, kube_cluster, namespace, kubeconfig(kube_cluster, tmp_path / "kc", token=token))
    repo.register_image()
    _, outcome = repo.apply()
    assert outcome is not None and outcome.ok, [r.message for r in outcome.results]
    assert changes(repo.plan()) == {}
    repo.remove("deployments/blue.yaml")
    _, outcome = repo.apply()
    assert outcome is not None and outcome.ok, [r.message for r in outcome.results]


def test_one_verb_less_is_the_clear_forbidden_error_without_a_traceback(tmp_path, kube_cluster, kube_api, namespace):
    token = _service_account_token(kube_api, namespace, drop=("deployments", "list"))
    repo = repo_with(tmp_path, kube_cluster, namespace, kubeconfig(kube_cluster, tmp_path / "kc", token=token))
    done = subprocess.run(
        [sys.executable, "-m", "compiler.cli.main", "plan", str(repo.root)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    text = done.stderr + done.stdout
    assert f"target prod (context test, namespace {namespace}): forbidden to list deployments.apps" in text, text
    assert f'cannot list resource "deployments" in API group "apps" in the namespace "{namespace}"' in text, text


def test_a_missing_namespace_is_said_plainly(tmp_path, kube_cluster):
    repo = KubeRepo.create(tmp_path / "repo", kube_cluster, "no-such-namespace")
    repo.deployment("blue", replicas=1)
    repo.register_image()
    plan, outcome = repo.apply()
    assert changes(plan) == {"Deployment/blue": "create"}
    [failed] = [r for r in outcome.results if r.resource == "Deployment/blue"]
    assert "namespace no-such-namespace does not exist; create it first" in failed.message, failed.message
