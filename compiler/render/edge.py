"""IoT Edge deployments: edge/<deployment>/{deployment.json, bundle.tar.gz, SHA256SUMS}.

deployment.json has the shape of an IoT Hub configuration (the REST `Configuration` body):
{id, labels, targetCondition, priority, content: {modulesContent: {$edgeAgent, $edgeHub}}}.
A base deployment carries the whole `properties.desired` of $edgeAgent/$edgeHub; a layered one
only `properties.desired.modules.<name>` and `properties.desired.routes.<name>` paths, as IoT Edge
layered deployments do. The JSON Schema is schemas/edge-deployment.json (edge_schema.py).
"""

from __future__ import annotations

import json
from typing import Any

from ..diagnostics import Diagnostic, DiagnosticError
from ..digest import sha256_bytes
from ..graph import DeploymentNode, Graph, ImageNode, target_as
from ..spec.workspace import EdgeTarget
from .naming import MANAGED_BY, image_reference, image_tag
from .quantities import memory_bytes, nano_cpus
from .runtime_settings import AUTH_DIR, TLS_DIR, auth_files_in, auth_secret, file_sink_dir, runtime_settings, tls_mounts
from .serialize import json_text, sha256sums, tar_gz
from .tree import OutputTree

SCHEMA_VERSION = "1.1"
EDGE_AGENT_IMAGE = "mcr.microsoft.com/azureiotedge-agent:1.5"
EDGE_HUB_IMAGE = "mcr.microsoft.com/azureiotedge-hub:1.5"
CREATE_OPTIONS_CHUNK = 512
CREATE_OPTIONS_MAX_CHUNKS = 8  # createOptions + createOptions01 … createOptions07
USER_ID = 10001
HOST_SECRETS_DIR = "/etc/modelctl/secrets"  # provisioned on the device, never in the bundle
RESTART_POLICIES = {"always": "always", "on-failure": "on-failure", "on-unhealthy": "on-unhealthy", "never": "never"}


def render_edge(graph: Graph, dep: DeploymentNode, tree: OutputTree) -> None:
    manifest = json_text(edge_manifest(graph, dep)).encode()
    inner = {"deployment.json": manifest}
    inner["SHA256SUMS"] = sha256sums({"deployment.json": sha256_bytes(manifest)}).encode()
    bundle = tar_gz(inner)
    folder = f"edge/{dep.name}"
    tree.add(f"{folder}/deployment.json", dep.id, manifest)
    tree.add(f"{folder}/bundle.tar.gz", dep.id, bundle)
    tree.add(
        f"{folder}/SHA256SUMS",
        dep.id,
        sha256sums({"bundle.tar.gz": sha256_bytes(bundle), "deployment.json": sha256_bytes(manifest)}),
    )


def edge_manifest(graph: Graph, dep: DeploymentNode) -> dict:
    edge = dep.spec.edge
    assert edge is not None, f"{dep.id}: the graph validates edge deployments with EdgeDeploymentSpec"
    modules = {dep.name: _scorer_module(graph, dep)}
    for name, extra in sorted(edge.modules.items()):
        modules[name] = _module(
            image=extra.image,
            version="1.0",
            restart=extra.restart_policy,
            create_options=extra.create_options,
            env=extra.env,
            where=f"{dep.id} module {name}",
        )
    routes = dict(sorted(edge.routes.items()))
    if dep.spec.data_collection.enabled and not routes:
        routes[f"{dep.name}-collected"] = f"FROM /messages/modules/{dep.name}/outputs/collected INTO $upstream"
    agent: dict[str, Any]
    hub: dict[str, Any]
    if edge.layered:
        agent = {f"properties.desired.modules.{name}": module for name, module in modules.items()}
        hub = {f"properties.desired.routes.{name}": route for name, route in routes.items()}
    else:
        agent = {
            "properties.desired": {
                "schemaVersion": SCHEMA_VERSION,
                "runtime": {"type": "docker", "settings": _runtime_settings(graph, dep)},
                "systemModules": _system_modules(),
                "modules": modules,
            }
        }
        hub = {
            "properties.desired": {
                "schemaVersion": SCHEMA_VERSION,
                "routes": routes,
                "storeAndForwardConfiguration": {"timeToLiveSecs": 7200},
            }
        }
    return {
        "id": dep.name,
        "labels": {
            "app.kubernetes.io/managed-by": MANAGED_BY,
            "modelctl.io/resource": dep.id,
            "modelctl.io/fingerprint": dep.fingerprint,
            **dep.metadata.labels,
        },
        "targetCondition": edge.target_condition,
        "priority": edge.priority,
        "content": {"modulesContent": {"$edgeAgent": agent, "$edgeHub": hub}},
    }


def _runtime_settings(graph: Graph, dep: DeploymentNode) -> dict:
    settings: dict = {"minDockerVersion": "v1.25", "loggingOptions": ""}
    secret = target_as(dep, EdgeTarget).registry_credentials
    registry = graph.workspace.spec.image_registry
    if secret and registry:
        # By reference only: the publisher fills these in from the named secret on the way out.
        host = registry.split("/", 1)[0]
        settings["registryCredentials"] = {
            secret.replace("-", ""): {
                "address": host,
                "username": f"$secret:{secret}/username",
                "password": f"$secret:{secret}/password",
            }
        }
    return settings


def _system_modules() -> dict:
    hub_options = {
        "HostConfig": {
            "PortBindings": {
                "443/tcp": [{"HostPort": "443"}],
                "5671/tcp": [{"HostPort": "5671"}],
                "8883/tcp": [{"HostPort": "8883"}],
            }
        }
    }
    return {
        "edgeAgent": {"type": "docker", "settings": _settings(EDGE_AGENT_IMAGE, {}, "edgeAgent")},
        "edgeHub": {
            "type": "docker",
            "status": "running",
            "restartPolicy": "always",
            "settings": _settings(EDGE_HUB_IMAGE, hub_options, "edgeHub"),
        },
    }


def _scorer_module(graph: Graph, dep: DeploymentNode) -> dict:
    spec = dep.spec
    image = graph.get_as(dep.image_id, ImageNode)
    if spec.secret_env:
        raise DiagnosticError(
            [
                Diagnostic(
                    f"{dep.id}: secretEnv is not supported on edge targets (IoT Edge modules have no secret references)",
                    dep.source,
                    path="spec.secretEnv",
                    code="edge-secret-env",
                    suggestion="use auth.secretRef, whose files the device provides under " + HOST_SECRETS_DIR,
                )
            ]
        )
    binds = []
    auth_files, tls_files, _ = tls_mounts(spec)
    if spec.tls is not None:  # the device provides the certificate files; the bundle names their folder
        binds.append(f"{HOST_SECRETS_DIR}/{spec.tls.secret_ref}:{TLS_DIR}:ro")
    secret = auth_secret(dep.name, spec.auth)
    if secret is not None and not auth_files:
        binds.append(f"{HOST_SECRETS_DIR}/{secret}:{AUTH_DIR}:ro")
    collected = file_sink_dir(spec.data_collection)
    if collected is not None:
        binds.append(f"modelctl-collected-{dep.name}:{collected}")
    env = runtime_settings(
        spec,
        port=image.spec.port,
        auth_files=auth_files or auth_files_in(AUTH_DIR, spec.auth.mode),
        tls_files=tls_files,
    )
    host_config: dict = {
        "ReadonlyRootfs": True,
        "CapDrop": ["ALL"],
        "SecurityOpt": ["no-new-privileges"],
        "Tmpfs": {"/tmp": "rw,noexec,nosuid,size=256m"},
        "Memory": memory_bytes(spec.resources.memory),
        "NanoCpus": nano_cpus(spec.resources.cpu),
        "LogConfig": {"Type": "json-file", "Config": {"max-size": "10m", "max-file": "3"}},
    }
    if binds:
        host_config["Binds"] = binds
    options = {
        "User": f"{USER_ID}:{USER_ID}",
        "ExposedPorts": {f"{image.spec.port}/tcp": {}},
        "Labels": {
            "app.kubernetes.io/managed-by": MANAGED_BY,
            "modelctl.io/resource": dep.id,
            "modelctl.io/fingerprint": dep.fingerprint,
        },
        "HostConfig": host_config,
    }
    return _module(
        image=image_reference(graph, image),
        version=image_tag(image),
        restart="always",
        create_options=options,
        env=env,
        where=dep.id,
    )


def _module(*, image: str, version: str, restart: str, create_options: dict, env: dict[str, str], where: str) -> dict:
    module = {
        "version": version,
        "type": "docker",
        "status": "running",
        "restartPolicy": RESTART_POLICIES[restart],
        "settings": _settings(image, create_options, where),
    }
    if env:
        module["env"] = {k: {"value": v} for k, v in sorted(env.items())}
    return module


def _settings(image: str, create_options: dict, where: str) -> dict:
    """createOptions is a JSON string; past 512 characters it goes on in createOptions01, 02, …"""
    text = json.dumps(create_options, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    chunks = [text[i : i + CREATE_OPTIONS_CHUNK] for i in range(0, len(text), CREATE_OPTIONS_CHUNK)] or ["{}"]
    if len(chunks) > CREATE_OPTIONS_MAX_CHUNKS:
        raise DiagnosticError(
            [
                Diagnostic(
                    f"{where}: createOptions is {len(text)} characters; IoT Edge takes at most "
                    f"{CREATE_OPTIONS_CHUNK * CREATE_OPTIONS_MAX_CHUNKS}",
                    code="edge-create-options",
                )
            ]
        )
    settings = {"image": image, "createOptions": chunks[0]}
    for i, chunk in enumerate(chunks[1:], start=1):
        settings[f"createOptions{i:02d}"] = chunk
    return settings
