"""A kubernetes target's API connection: the official client's configuration (kubeconfig + context,
or in-cluster), a namespace, and REST calls with errors a user can act on.

Requests go through `kubernetes.client.ApiClient` (its TLS, auth and token refresh), as raw JSON:
LIST by label selector, server-side apply (`application/apply-patch+yaml`, `fieldManager=modelctl`),
GET and DELETE. An unknown context, an unreachable server, a refused token or a forbidden verb
becomes one `KubeError` naming the target, the context and what was refused — never a traceback.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ...errors import ApplyError
from ...spec.workspace import KubernetesTarget, Target

FIELD_MANAGER = "modelctl"
USER_AGENT = "modelctl/kubernetes"
TIMEOUT = (5.0, 60.0)  # connect, read (seconds)


class KubeError(ApplyError):
    """One API request failed; the message says which target, context and what was refused."""

    def __init__(self, message: str, *, status: int = 0, body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body or {}


@dataclass(frozen=True)
class Kind:
    """One API resource modelctl manages."""

    api_version: str
    kind: str
    plural: str

    def collection(self, namespace: str) -> str:
        prefix = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        return f"{prefix}/namespaces/{quote(namespace)}/{self.plural}"

    def item(self, namespace: str, name: str) -> str:
        return f"{self.collection(namespace)}/{quote(name)}"

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]


SERVICE_ACCOUNT = Kind("v1", "ServiceAccount", "serviceaccounts")
DEPLOYMENT = Kind("apps/v1", "Deployment", "deployments")
SERVICE = Kind("v1", "Service", "services")
HPA = Kind("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers")
PDB = Kind("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets")
NETWORK_POLICY = Kind("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies")
HTTP_ROUTE = Kind("gateway.networking.k8s.io/v1", "HTTPRoute", "httproutes")
GATEWAY = Kind("gateway.networking.k8s.io/v1", "Gateway", "gateways")  # an endpoint's own, with tls
POD = Kind("v1", "Pod", "pods")
EVENT = Kind("v1", "Event", "events")

# The kinds a deployment is made of, in apply order (a delete goes the other way round).
DEPLOYMENT_KINDS: tuple[Kind, ...] = (SERVICE_ACCOUNT, DEPLOYMENT, SERVICE, PDB, HPA, NETWORK_POLICY)
# The kinds an endpoint is made of, in apply order.
ENDPOINT_KINDS: tuple[Kind, ...] = (GATEWAY, HTTP_ROUTE)
BY_KIND = {k.kind: k for k in (*DEPLOYMENT_KINDS, *ENDPOINT_KINDS)}


def kubernetes_settings(target: Target) -> KubernetesTarget:
    """A kubernetes target's settings: the registry of target types hands this type only its own targets."""
    if not isinstance(target, KubernetesTarget):
        raise TypeError(f"a {target.type} target given to the kubernetes target type")
    return target


class Cluster:
    """One target's API server: a configured `ApiClient`, opened on first use."""

    def __init__(self, target_name: str, target: KubernetesTarget, root: Path) -> None:
        self.target_name = target_name
        self.target = target
        self.namespace = target.namespace
        self.root = Path(root)
        self._api: Any = None
        self._lock = threading.Lock()  # apply deploys a target's deployments from several threads
        self.context = target.context or "(current context)"
        self.server = "?"

    @property
    def key(self) -> tuple[str, str, str]:
        """Targets with the same kubeconfig, context and namespace share one listing."""
        return (str(self._kubeconfig_path() or "in-cluster"), self.target.context or "", self.namespace)

    def _kubeconfig_path(self) -> Path | None:
        if self.target.kubeconfig:
            path = Path(os.path.expanduser(self.target.kubeconfig))
            return path if path.is_absolute() else self.root / path
        env = os.environ.get("KUBECONFIG")
        if env:
            return Path(env.split(os.pathsep)[0])
        default = Path(os.path.expanduser("~/.kube/config"))
        return default if default.is_file() else None

    def where(self) -> str:
        return f"target {self.target_name} (context {self.context}, namespace {self.namespace})"

    def api(self) -> Any:
        with self._lock:
            if self._api is None:
                self._api = self._open()
            return self._api

    def _open(self) -> Any:
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException

        path = self._kubeconfig_path()
        configuration = client.Configuration()
        try:
            if path is None:
                if not os.environ.get("KUBERNETES_SERVICE_HOST"):
                    raise KubeError(
                        f"target {self.target_name}: no kubeconfig (set the target's kubeconfig, KUBECONFIG, or "
                        "create ~/.kube/config) and not running inside a cluster"
                    )
                config.load_incluster_config(client_configuration=configuration)
                self.context = "in-cluster"
            else:
                if not path.is_file():
                    raise KubeError(f"target {self.target_name}: kubeconfig {path} does not exist")
                contexts, current = config.list_kube_config_contexts(str(path))
                names = [c["name"] for c in contexts or []]
                wanted = self.target.context or (current or {}).get("name")
                if wanted not in names:
                    raise KubeError(
                        f"target {self.target_name}: kubeconfig {path} has no context {wanted!r} "
                        f"(contexts: {', '.join(names) or 'none'})"
                    )
                self.context = str(wanted)
                config.load_kube_config(
                    config_file=str(path), context=self.target.context, client_configuration=configuration
                )
        except ConfigException as exc:
            raise KubeError(f"target {self.target_name}: cannot use kubeconfig {path}: {exc}") from None
        configuration.retries = 1
        self.server = configuration.host
        api = client.ApiClient(configuration)
        api.user_agent = USER_AGENT
        return api

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None

    # --- requests ------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str | None = None,
        what: str = "",
        ok: tuple[int, ...] = (),
        accept: str = "application/json",
    ) -> tuple[int, dict[str, Any]]:
        """(status, JSON body). A status in `ok` is returned as is; any other error raises KubeError."""
        import urllib3

        api = self.api()
        headers = {"Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            params = api.param_serialize(
                method, path, query_params=query or [], header_params=headers, body=body, auth_settings=["BearerToken"]
            )
            response = api.call_api(*params, _request_timeout=TIMEOUT)
            response.read()
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            reason = _short(exc)
            raise KubeError(
                f"{self.where()}: cannot reach the API server {self.server} ({reason}); check the target's "
                "kubeconfig and context"
            ) from None
        status = int(response.status)
        try:
            data = json.loads(response.data) if response.data else {}
        except ValueError:
            data = {"message": response.data[:300].decode(errors="replace")}
        if 200 <= status < 300 or status in ok:
            return status, data
        raise self.refused(status, data, what or f"{method} {path}")

    def refused(self, status: int, data: dict[str, Any], what: str) -> KubeError:
        message = str(data.get("message") or data.get("reason") or "")
        if status == 401:
            text = (
                f"{self.where()}: the API server {self.server} refused the credentials (401 Unauthorized: the "
                "token is invalid or expired); log in again or fix the kubeconfig"
            )
        elif status == 403:
            text = f"{self.where()}: forbidden to {what}: {message} (see docs/targets/kubernetes-rbac.yaml)"
        elif status == 404 and (data.get("details") or {}).get("kind") == "namespaces":
            text = f"{self.where()}: {what}: namespace {self.namespace} does not exist; create it first"
        else:
            text = f"{self.where()}: {what} failed ({status} {data.get('reason', '')}): {message}"
        return KubeError(text, status=status, body=data)

    def list(self, kind: Kind, selector: str) -> list[dict[str, Any]] | None:
        """Every object of `kind` in the namespace matching `selector`; None when the API is not served."""
        status, data = self.request(
            "GET",
            kind.collection(self.namespace),
            query=[("labelSelector", selector)],
            what=f"list {kind.plural}{'.' + kind.group if kind.group else ''} in namespace {self.namespace}",
            ok=(404,),
        )
        if status == 404:
            return None
        items = data.get("items") or []
        return [{"apiVersion": kind.api_version, "kind": kind.kind, **item} for item in items]

    def secret_exists(self, name: str) -> bool:
        """Whether a Secret of that name exists; its metadata only is asked for, never its data."""
        status, _ = self.request(
            "GET",
            f"/api/v1/namespaces/{quote(self.namespace)}/secrets/{quote(name)}",
            what=f"get secret {name}",
            ok=(404,),
            accept="application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
        )
        return status != 404

    def get(self, kind: Kind, name: str) -> dict[str, Any] | None:
        status, data = self.request("GET", kind.item(self.namespace, name), what=f"get {kind.kind} {name}", ok=(404,))
        return None if status == 404 else data

    def apply(self, obj: dict[str, Any], *, force: bool = False) -> dict[str, Any]:
        """Server-side apply as modelctl's field manager."""
        kind = BY_KIND[obj["kind"]]
        name = obj["metadata"]["name"]
        _, data = self.request(
            "PATCH",
            kind.item(self.namespace, name),
            query=[("fieldManager", FIELD_MANAGER), ("force", "true" if force else "false")],
            body=obj,
            content_type="application/apply-patch+yaml",
            what=f"apply {kind.kind} {name}",
        )
        return data

    def delete(self, kind: Kind, name: str) -> None:
        self.request(
            "DELETE",
            kind.item(self.namespace, name),
            body={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"},
            content_type="application/json",
            what=f"delete {kind.kind} {name}",
            ok=(404,),
        )


def conflicts(err: KubeError) -> list[tuple[str, str]]:
    """(manager, field) of each server-side apply conflict in a 409 answer."""
    out = []
    for cause in (err.body.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "FieldManagerConflict":
            message = str(cause.get("message", ""))
            manager = message.split('"')[1] if message.count('"') >= 2 else message
            out.append((manager, str(cause.get("field", ""))))
    return out


def _short(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    text = str(reason or exc)
    for marker in ("Connection refused", "Name or service not known", "timed out", "certificate verify failed"):
        if marker in text:
            return marker.lower()
    return text.splitlines()[0][:200] if text else type(exc).__name__
