"""IoT Edge deployments: edge/<deployment>/{deployment.json, bundle.tar.gz, SHA256SUMS}.

deployment.json has the shape of an IoT Hub configuration (the REST `Configuration` body):
{id, labels, targetCondition, priority, content: {modulesContent: {$edgeAgent, $edgeHub}}}.
A base deployment carries the whole `properties.desired` of $edgeAgent/$edgeHub; a layered one
only `properties.desired.modules.<name>` and `properties.desired.routes.<name>` paths, as IoT Edge
layered deployments do. The JSON Schema is schemas/edge-deployment.json (edge_schema.py).
"""

from __future__ import annotations

from typing import Any

from ..diagnostics import Diagnostic, DiagnosticError
from ..digest import sha256_bytes
from ..graph import DeploymentNode, Graph, ImageNode, target_as
from ..spec.workspace import EdgeTarget
from . import edge_limits
from .naming import MANAGED_BY, image_reference, image_tag
from .quantities import memory_bytes, nano_cpus
from .runtime_settings import AUTH_DIR, auth_files_in, auth_secret, file_sink_dir, runtime_settings
from .serialize import compact_json, json_text, sha256sums, tar_gz
from .tree import OutputTree

SCHEMA_VERSION = "1.1"
EDGE_AGENT_IMAGE = "mcr.microsoft.com/azureiotedge-agent:1.5"
EDGE_HUB_IMAGE = "mcr.microsoft.com/azureiotedge-hub:1.5"
CREATE_OPTIONS_CHUNK = edge_limits.CREATE_OPTIONS_CHUNK
CREATE_OPTIONS_MAX_CHUNKS = edge_limits.CREATE_OPTIONS_MAX_CHUNKS
ID_HASH_LENGTH = 8  # <deployment>-<first 8 hex of the content's sha256>
USER_ID = 10001
HOST_SECRETS_DIR = "/etc/modelctl/secrets"  # provisioned on the device, never in the bundle
RESTART_POLICIES = {"always": "always", "on-failure": "on-failure", "on-unhealthy": "on-unhealthy", "never": "never"}


def render_edge(graph: Graph, dep: DeploymentNode, tree: OutputTree) -> None:
    manifest = edge_manifest(graph, dep)
    problems = manifest_problems(manifest)
    if problems:
        raise DiagnosticError(
            [Diagnostic(f"{dep.id}: {p.message}", dep.source, path="spec.edge", code=p.code) for p in problems]
        )
    for rel, data in edge_files(manifest).items():
        tree.add(f"edge/{dep.name}/{rel}", dep.id, data)


def edge_files(manifest: dict) -> dict[str, bytes]:
    """deployment.json, bundle.tar.gz (it and its SHA256SUMS) and SHA256SUMS of both: reproducible bytes."""
    text = json_text(manifest).encode()
    inner = {"deployment.json": text, "SHA256SUMS": sha256sums({"deployment.json": sha256_bytes(text)}).encode()}
    bundle = tar_gz(inner)
    sums = sha256sums({"bundle.tar.gz": sha256_bytes(bundle), "deployment.json": sha256_bytes(text)})
    return {"deployment.json": text, "bundle.tar.gz": bundle, "SHA256SUMS": sums.encode()}


def deployment_id(name: str, content: dict) -> str:
    """The IoT Hub deployment id: content is immutable once published, so new content is a new id."""
    return f"{name}-{content_digest(content)[:ID_HASH_LENGTH]}"


def content_digest(content: dict) -> str:
    return sha256_bytes(compact_json(content).encode())


def manifest_problems(manifest: dict) -> list[edge_limits.Problem]:
    """createOptions over the chunk limit, module twins over the size caps."""
    modules_content = manifest["content"]["modulesContent"]
    agent = edge_limits.twin_desired(modules_content["$edgeAgent"])
    modules = (
        agent.get("modules", {})
        if "modules" in agent
        else {k[len("modules.") :]: v for k, v in agent.items() if k.startswith("modules.")}
    )
    found = []
    for name, module in sorted(modules.items()):
        problem = edge_limits.create_options_problem(name, edge_limits.reassemble(module["settings"]))
        if problem:
            found.append(problem)
    return found + edge_limits.twin_problems(modules_content)


def edge_manifest(graph: Graph, dep: DeploymentNode) -> dict:
    image = graph.get_as(dep.image_id, ImageNode)
    registry = graph.workspace.spec.image_registry
    return build_manifest(dep, image, image_reference(graph, image), registry)


def build_manifest(dep: DeploymentNode, image: ImageNode, image_ref: str, registry: str | None) -> dict:
    """The IoT Hub configuration of one deployment (pure: the image reference is given)."""
    edge = dep.spec.edge
    assert edge is not None, f"{dep.id}: the graph validates edge deployments with EdgeDeploymentSpec"
    modules = {dep.name: _scorer_module(dep, image, image_ref)}
    twins: dict[str, dict] = {}
    for name, extra in sorted(edge.modules.items()):
        modules[name] = _module(
            image=extra.image,
            version="1.0",
            restart=extra.restart_policy,
            create_options=extra.create_options,
            env=extra.env,
        )
        if extra.desired_properties:
            desired = dict(sorted(extra.desired_properties.items()))
            twins[name] = (
                {f"properties.desired.{k}": v for k, v in desired.items()}
                if edge.layered
                else {"properties.desired": desired}
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
                "runtime": {"type": "docker", "settings": _runtime_settings(dep, registry)},
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
    content = {"modulesContent": {"$edgeAgent": agent, "$edgeHub": hub, **twins}}
    return {
        "id": deployment_id(dep.name, content),
        "labels": {
            "app.kubernetes.io/managed-by": MANAGED_BY,
            "modelctl.io/resource": dep.id,
            "modelctl.io/fingerprint": dep.fingerprint,
            **dep.metadata.labels,
        },
        "targetCondition": edge.target_condition,
        "priority": edge.priority,
        "content": content,
    }


def _runtime_settings(dep: DeploymentNode, registry: str | None) -> dict:
    settings: dict = {"minDockerVersion": "v1.25", "loggingOptions": ""}
    secret = target_as(dep, EdgeTarget).registry_credentials
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
        "edgeAgent": {"type": "docker", "settings": _settings(EDGE_AGENT_IMAGE, {})},
        "edgeHub": {
            "type": "docker",
            "status": "running",
            "restartPolicy": "always",
            "settings": _settings(EDGE_HUB_IMAGE, hub_options),
        },
    }


def _scorer_module(dep: DeploymentNode, image: ImageNode, image_ref: str) -> dict:
    spec = dep.spec
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
    secret = auth_secret(dep.name, spec.auth)
    if secret is not None:
        binds.append(f"{HOST_SECRETS_DIR}/{secret}:{AUTH_DIR}:ro")
    collected = file_sink_dir(spec.data_collection)
    if collected is not None:
        binds.append(f"modelctl-collected-{dep.name}:{collected}")
    env = runtime_settings(spec, port=image.spec.port, auth_files=auth_files_in(AUTH_DIR, spec.auth.mode))
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
            # no fingerprint here: the content (and so the deployment id) changes only with what the device runs
        },
        "HostConfig": host_config,
    }
    return _module(
        image=image_ref,
        version=image_tag(image),
        restart="always",
        create_options=options,
        env=env,
    )


def _module(*, image: str, version: str, restart: str, create_options: dict, env: dict[str, str]) -> dict:
    module = {
        "version": version,
        "type": "docker",
        "status": "running",
        "restartPolicy": RESTART_POLICIES[restart],
        "settings": _settings(image, create_options),
    }
    if env:
        module["env"] = {k: {"value": v} for k, v in sorted(env.items())}
    return module


def _settings(image: str, create_options: dict) -> dict:
    """createOptions is a JSON string; past 512 characters it goes on in createOptions01, 02, …
    (over the limit is reported by manifest_problems, at validate and at render)."""
    chunks = edge_limits.chunk(edge_limits.create_options_text(create_options))
    return {"image": image, **dict(zip(edge_limits.chunk_keys(len(chunks)), chunks, strict=True))}
