"""Kubernetes objects per Deployment/Endpoint on a kubernetes target, built as plain dicts.

kubernetes/<target>/deployments/<name>.yaml: ServiceAccount, Deployment, Service,
HorizontalPodAutoscaler (with autoscale), PodDisruptionBudget, NetworkPolicy.
kubernetes/<target>/endpoints/<name>.yaml: a Gateway API HTTPRoute (weighted backends, mirror).

Label values may not hold '/' nor exceed 63 characters, so the resource id and the 64-hex
fingerprint are annotations (modelctl.io/resource, modelctl.io/fingerprint); the labels
modelctl.io/kind and modelctl.io/name make the same id selectable. Every object carries
app.kubernetes.io/managed-by=modelctl and modelctl.io/workspace=<workspace>: apply lists live
objects by exactly that selector (and never touches an object without it), and
modelctl.io/target=<target> keeps two targets sharing one namespace apart.
"""

from __future__ import annotations

from typing import Any

from ..graph import DeploymentNode, EndpointNode, Graph, ImageNode, target_as
from ..spec.deployment import Probe
from ..spec.workspace import KubernetesTarget
from .naming import MANAGED_BY, image_reference, image_tag
from .runtime_settings import (
    AUTH_DIR,
    AUTH_SECRET_KEYS,
    RUNTIME_OWNED,
    TLS_DIR,
    auth_files_in,
    auth_secret,
    file_sink_dir,
    runtime_settings,
    tls_mounts,
)
from .serialize import yaml_documents
from .tree import OutputTree

USER_ID = 10001
SERVICE_PORT = 80
HTTPS_PORT = 443  # the Service port of a deployment with tls (the pod serves HTTPS), and the Gateway listener's


def render_deployment(graph: Graph, dep: DeploymentNode, tree: OutputTree) -> int:
    objects = deployment_objects(graph, dep)
    tree.add(f"kubernetes/{dep.target_name}/deployments/{dep.name}.yaml", dep.id, yaml_documents(objects))
    return len(objects)


def render_endpoint(graph: Graph, ep: EndpointNode, tree: OutputTree) -> int:
    objects = endpoint_objects(graph, ep)
    tree.add(f"kubernetes/{ep.target_name}/endpoints/{ep.name}.yaml", ep.id, yaml_documents(objects))
    return len(objects)


def _meta(name: str, namespace: str, labels: dict, node) -> dict:
    annotations = {"modelctl.io/resource": node.id, "modelctl.io/fingerprint": node.fingerprint}
    if getattr(node.spec, "lifecycle", None) is not None and node.spec.lifecycle.prevent_destroy:
        annotations["modelctl.io/prevent-destroy"] = "true"
    return {"name": name, "namespace": namespace, "labels": labels, "annotations": annotations}


def _labels(graph: Graph, node, *, app: str, component: str, version: str | None) -> dict[str, str]:
    labels = dict(node.metadata.labels)
    labels.update(
        {
            "app.kubernetes.io/name": app,
            "app.kubernetes.io/instance": node.name,
            "app.kubernetes.io/component": component,
            "app.kubernetes.io/part-of": graph.workspace.name,
            "app.kubernetes.io/managed-by": MANAGED_BY,
            "modelctl.io/workspace": graph.workspace.name,
            "modelctl.io/target": node.target_name,
            "modelctl.io/kind": node.kind,
            "modelctl.io/name": node.name,
        }
    )
    if version:
        labels["app.kubernetes.io/version"] = version
    return labels


def selector(dep: DeploymentNode) -> dict[str, str]:
    """Immutable once applied: only the deployment's identity, never its version."""
    return {"app.kubernetes.io/instance": dep.name, "modelctl.io/kind": "Deployment"}


def deployment_objects(graph: Graph, dep: DeploymentNode) -> list[dict]:
    image = graph.get_as(dep.image_id, ImageNode)
    ns = target_as(dep, KubernetesTarget).namespace
    labels = _labels(graph, dep, app=image.name, component="scorer", version=image_tag(image))
    spec = dep.spec
    # One metadata and one selector dict per deployment, shared by its objects (nothing mutates them):
    # the YAML writer then writes each once per file and repeats its lines.
    meta = _meta(dep.name, ns, labels, dep)
    pods = selector(dep)
    objects = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": meta,
            "automountServiceAccountToken": False,
        },
        _deployment(graph, dep, image, meta, pods),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {
                "type": "ClusterIP",
                "selector": pods,
                "ports": [_service_port(dep)],
            },
        },
    ]
    if spec.autoscale is not None:
        objects.append(
            {
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "metadata": meta,
                "spec": {
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": dep.name},
                    "minReplicas": spec.autoscale.min,
                    "maxReplicas": spec.autoscale.max,
                    "metrics": [
                        {
                            "type": "Resource",
                            "resource": {
                                "name": "cpu",
                                "target": {
                                    "type": "Utilization",
                                    "averageUtilization": spec.autoscale.target_utilization,
                                },
                            },
                        }
                    ],
                },
            }
        )
    objects.append(
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": meta,
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": pods}},
        }
    )
    objects.append(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": meta,
            "spec": {
                "podSelector": {"matchLabels": pods},
                "policyTypes": ["Ingress"],
                "ingress": [{"ports": [{"port": image.spec.port, "protocol": "TCP"}]}],
            },
        }
    )
    return objects


def _deployment(graph: Graph, dep: DeploymentNode, image: ImageNode, meta: dict, pods: dict) -> dict:
    spec = dep.spec
    env, volumes, mounts = _settings(dep, image)
    container = {
        "name": "scorer",
        "image": image_reference(graph, image),
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": image.spec.port, "protocol": "TCP"}],
        "env": env,
        "resources": {
            "requests": {"cpu": spec.resources.cpu, "memory": spec.resources.memory},
            "limits": {"memory": spec.resources.memory},
        },
        "readinessProbe": _probe(spec.probes.readiness, "/v2/health/ready", spec.auth.mode, https=spec.tls is not None),
        "livenessProbe": _probe(spec.probes.liveness, "/v2/health/live", spec.auth.mode, https=spec.tls is not None),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "privileged": False,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": mounts,
    }
    deployment_spec = {
        "selector": {"matchLabels": pods},
        "revisionHistoryLimit": 5,
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        "template": {
            "metadata": {
                "labels": meta["labels"],
                "annotations": {"modelctl.io/resource": dep.id, "modelctl.io/fingerprint": dep.fingerprint},
            },
            "spec": {
                "serviceAccountName": dep.name,
                "automountServiceAccountToken": False,
                "enableServiceLinks": False,
                "terminationGracePeriodSeconds": spec.request_timeout_seconds + 10,
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": USER_ID,
                    "runAsGroup": USER_ID,
                    "fsGroup": USER_ID,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "containers": [container],
                "volumes": volumes,
            },
        },
    }
    if spec.autoscale is None:  # with an HPA, the autoscaler owns spec.replicas
        deployment_spec["replicas"] = spec.replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": deployment_spec,
    }


def _settings(dep: DeploymentNode, image: ImageNode) -> tuple[list, list, list]:
    """Container env, pod volumes and mounts. Secrets are only ever referenced, never read."""
    spec = dep.spec
    volumes: list[dict] = [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}]
    mounts: list[dict] = [{"name": "tmp", "mountPath": "/tmp"}]
    collected = file_sink_dir(spec.data_collection)
    if collected is not None:
        volumes.append({"name": "collected", "emptyDir": {}})
        mounts.append({"name": "collected", "mountPath": collected})
    auth_files, tls_files, tls_keys = tls_mounts(spec)
    if spec.tls is not None:  # the pod serves HTTPS with the Secret's certificate (by name, never its value)
        volumes.append(
            {
                "name": "tls",
                "secret": {
                    "secretName": spec.tls.secret_ref,
                    "defaultMode": 0o440,
                    "items": [{"key": k, "path": k} for k in tls_keys],
                },
            }
        )
        mounts.append({"name": "tls", "mountPath": TLS_DIR, "readOnly": True})
    secret = auth_secret(dep.name, spec.auth)
    if secret is not None and not auth_files:
        keys = AUTH_SECRET_KEYS[spec.auth.mode]
        volumes.append(
            {
                "name": "auth",
                "secret": {"secretName": secret, "defaultMode": 0o440, "items": [{"key": k, "path": k} for k in keys]},
            }
        )
        mounts.append({"name": "auth", "mountPath": AUTH_DIR, "readOnly": True})
    values = runtime_settings(
        spec,
        port=image.spec.port,
        auth_files=auth_files or auth_files_in(AUTH_DIR, spec.auth.mode),
        tls_files=tls_files,
    )
    env: dict[str, dict] = {name: {"value": value} for name, value in values.items()}
    for name, ref in spec.secret_env.items():
        if name not in RUNTIME_OWNED:
            env[name] = {"valueFrom": {"secretKeyRef": {"name": ref.secret_ref, "key": ref.key}}}
    return [{"name": k, **v} for k, v in sorted(env.items())], volumes, mounts


def _probe(probe: Probe, path: str, auth_mode: str, *, https: bool = False) -> dict:
    action: dict[str, Any]
    if auth_mode == "mtls":  # the kubelet has no client certificate: probe from inside
        action = {"exec": {"command": ["/opt/venv/bin/python", "-m", "modelctl_runtime.healthcheck"]}}
    else:  # over HTTPS the kubelet does not verify the certificate
        action = {"httpGet": {"path": path, "port": "http", "scheme": "HTTPS" if https else "HTTP"}}
    return {
        **action,
        "initialDelaySeconds": probe.initial_delay_seconds,
        "periodSeconds": probe.period_seconds,
        "timeoutSeconds": probe.timeout_seconds,
        "failureThreshold": probe.failure_threshold,
    }


def _service_port(dep: DeploymentNode) -> dict:
    if dep.spec.tls is not None:
        return {"name": "https", "port": HTTPS_PORT, "targetPort": "http", "protocol": "TCP", "appProtocol": "https"}
    return {"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}


def _backend_port(graph: Graph, ep: EndpointNode, deployment: str) -> int:
    dep = graph.nodes.get(f"Deployment/{deployment}")
    return HTTPS_PORT if isinstance(dep, DeploymentNode) and dep.spec.tls is not None else SERVICE_PORT


def endpoint_objects(graph: Graph, ep: EndpointNode) -> list[dict]:
    """The endpoint's HTTPRoute, after its own Gateway when it has tls (an HTTPRoute cannot hold a
    certificate: the Gateway API puts it on a listener, `certificateRefs`)."""
    gateway = endpoint_gateway(graph, ep)
    return [gateway, http_route(graph, ep)] if gateway is not None else [http_route(graph, ep)]


def endpoint_gateway(graph: Graph, ep: EndpointNode) -> dict | None:
    """An endpoint with tls: a Gateway with one HTTPS listener terminating TLS with the Secret named by
    `tls.secretRef`; when its deployments use mtls, client certificates are validated against the CA
    in the ConfigMap of the same name (`frontendValidation`, Gateway API experimental channel)."""
    if ep.spec.tls is None:
        return None
    target = target_as(ep, KubernetesTarget)
    ref = ep.spec.tls.secret_ref
    tls: dict[str, Any] = {"mode": "Terminate", "certificateRefs": [{"group": "", "kind": "Secret", "name": ref}]}
    if _mtls_behind(graph, ep):
        tls["frontendValidation"] = {"caCertificateRefs": [{"group": "", "kind": "ConfigMap", "name": ref}]}
    listener: dict[str, Any] = {
        "name": "https",
        "protocol": "HTTPS",
        "port": HTTPS_PORT,
        "tls": tls,
        "allowedRoutes": {"namespaces": {"from": "Same"}},
    }
    labels = _labels(graph, ep, app=ep.name, component="endpoint", version=None)
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": _meta(ep.name, target.namespace, labels, ep),
        "spec": {"gatewayClassName": target.gateway_class or "", "listeners": [listener]},
    }


def _mtls_behind(graph: Graph, ep: EndpointNode) -> bool:
    return any(
        isinstance(dep, DeploymentNode) and dep.spec.auth.mode == "mtls" and ep.spec.traffic.get(dep.name, 0) > 0
        for dep in (graph.nodes.get(i) for i in ep.deployment_ids)
    )


def http_route(graph: Graph, ep: EndpointNode) -> dict:
    spec = ep.spec
    rule: dict = {
        "matches": [{"path": {"type": "PathPrefix", "value": spec.path}}],
        "backendRefs": [
            {"group": "", "kind": "Service", "name": name, "port": _backend_port(graph, ep, name), "weight": weight}
            for name, weight in sorted(spec.traffic.items())
        ],
    }
    if spec.mirror is not None:
        rule["filters"] = [
            {
                "type": "RequestMirror",
                "requestMirror": {
                    "backendRef": {
                        "group": "",
                        "kind": "Service",
                        "name": spec.mirror.deployment,
                        "port": _backend_port(graph, ep, spec.mirror.deployment),
                    },
                    "percent": spec.mirror.percent,
                },
            }
        ]
    route_spec: dict = {"rules": [rule]}
    target = target_as(ep, KubernetesTarget)
    if spec.tls is not None:  # its own Gateway (endpoint_gateway), listener "https"
        route_spec["parentRefs"] = [
            {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": ep.name, "sectionName": "https"}
        ]
    elif target.gateway:
        namespace, _, name = target.gateway.rpartition("/")
        parent = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": name}
        if namespace:
            parent["namespace"] = namespace
        route_spec["parentRefs"] = [parent]
    if spec.hostnames:
        route_spec["hostnames"] = sorted(spec.hostnames)
    labels = _labels(graph, ep, app=ep.name, component="endpoint", version=None)
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": _meta(ep.name, target.namespace, labels, ep),
        "spec": route_spec,
    }
