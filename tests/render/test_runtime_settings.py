"""One `runtime_settings(...)` for every target: docker, kubernetes and edge give the scoring runtime
the same MODELCTL_* settings (only mount paths differ), user env cannot override them, and every name
emitted is one the runtime reads."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from compiler.graph import DeploymentNode, Graph, ImageNode
from compiler.names import DEFAULT_COLLECTED_DIR, default_collection_sink, default_keys_secret
from compiler.paths import PROJECT_ROOT as PROJECT
from compiler.pipeline import compile_repo
from compiler.plan.target import DeployRequest
from compiler.render.edge import edge_manifest
from compiler.render.kubernetes import deployment_objects
from compiler.render.naming import image_reference
from compiler.render.runtime_settings import (
    AUTH_SECRET_KEYS,
    BATCHING,
    DATA_COLLECTION,
    RUNTIME_OWNED,
    TUNING,
    auth_files_in,
    runtime_settings,
)
from compiler.runtime import settings as runtime
from compiler.spec.deployment import DataCollection, DeploymentSpec
from compiler.targets.docker.containers import COLLECT_DIR, environment
from compiler.targets.docker.secret_refs import secret_refs
from compiler.targets.docker.secrets import ContainerSecrets, DeploymentSecrets

TARGETS = {"docker": "local", "kubernetes": "prod", "edge": "factory"}
EDGE_TARGET = "    factory:\n      type: edge\n      publish: file://.modelctl/published/edge\n      hub: factory-hub\n"
NAME = "probe"

COLLECTING = (
    "  auth: {mode: key, secretRef: iris-keys}\n  dataCollection: {enabled: true, sampling: 0.25, redact: [ssn]}"
)
# Deployment specs (YAML lines under `spec:`) and the targets that can run them (docker: no mtls).
CASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "key, default secret": ("  auth: {mode: key}", ("docker", "kubernetes", "edge")),
    "key, collecting": (COLLECTING, ("docker", "kubernetes", "edge")),
    "token, timeout": (
        "  auth: {mode: token, secretRef: iris-token}\n  requestTimeoutSeconds: 5",
        ("docker", "kubernetes", "edge"),
    ),
    "none, http sink": (
        "  auth: {mode: none}\n  dataCollection: {enabled: true, sink: 'https://c.example.com/v1'}",
        ("docker", "kubernetes", "edge"),
    ),
    "mtls": ("  auth: {mode: mtls, secretRef: probe-certs}", ("kubernetes", "edge")),
    "key, batching": (
        "  auth: {mode: key}\n  runtime: {workers: 2, batching: {maxBatchSize: 16, maxLatencyMs: 5}}",
        ("docker", "kubernetes", "edge"),
    ),
}


class _Recording(dict):  # type: ignore[type-arg]
    """An environment that remembers every name looked up in it."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)


def _config(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.json"
    path.write_text(
        json.dumps(
            {
                "schemaVersion": 1,
                "image": "x",
                "models": [{"name": "m", "version": "1", "framework": "sklearn", "path": "m.joblib"}],
            }
        )
    )
    return path


@pytest.fixture(scope="module")
def runtime_reads(tmp_path_factory: pytest.TempPathFactory) -> frozenset[str]:
    """The MODELCTL_* names compiler/runtime/settings.py's load_settings reads, found by running it."""
    env = _Recording({"MODELCTL_CONFIG": str(_config(tmp_path_factory.mktemp("cfg"))), "MODELCTL_AUTH_MODE": "none"})
    runtime.load_settings(env)
    return frozenset(n for n in env.read if n.startswith("MODELCTL_"))


@pytest.fixture
def compile_with(tmp_path: Path) -> Callable[[str, str], tuple[Graph, DeploymentNode]]:
    """compile_with(target_type, spec_lines) -> a copy of examples/iris (plus an edge target) with Deployment/probe."""
    copies = iter(range(1000))

    def make(target_type: str, spec: str) -> tuple[Graph, DeploymentNode]:
        repo = tmp_path / f"repo-{next(copies)}"
        shutil.copytree(PROJECT / "examples" / "iris", repo, ignore=shutil.ignore_patterns(".modelctl"))
        with (repo / "modelctl.yaml").open("a") as ws:
            ws.write(EDGE_TARGET)
        edge = "\n  edge: {targetCondition: \"tags.site='x'\"}" if target_type == "edge" else ""
        (repo / "deployments" / f"{NAME}.yaml").write_text(
            f"apiVersion: modelctl.io/v1\nkind: Deployment\nmetadata:\n  name: {NAME}\n"
            f"spec:\n  image: iris-scorer\n  target: {TARGETS[target_type]}\n{spec}{edge}\n"
        )
        graph = compile_repo(repo).require()
        dep = graph.get(f"Deployment/{NAME}")
        assert isinstance(dep, DeploymentNode)
        return graph, dep

    return make


def _image(graph: Graph, dep: DeploymentNode) -> ImageNode:
    image = graph.get(dep.image_id)
    assert isinstance(image, ImageNode)
    return image


def docker_env(graph: Graph, dep: DeploymentNode) -> dict[str, str]:
    image = _image(graph, dep)
    req = DeployRequest(
        workspace=graph.workspace.name,
        root=Path(graph.root),
        resource=dep.id,
        name=dep.name,
        target_name=dep.target_name,
        target=dep.target,
        fingerprint=dep.fingerprint,
        image_ref=image_reference(graph, image),
        image_name=image.name,
        image_port=image.spec.port,
        spec=dep.spec,
    )
    values = {ref: f"value of {ref}\n" for ref in secret_refs(dep.name, dep.spec)}
    return environment(req, ContainerSecrets(Path(graph.root), "c1"), DeploymentSecrets(values, {}, []))


def _pod_container(graph: Graph, dep: DeploymentNode) -> dict[str, Any]:
    (deployment,) = [o for o in deployment_objects(graph, dep) if o["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container  # type: ignore[no-any-return]


def kubernetes_env(graph: Graph, dep: DeploymentNode) -> dict[str, str]:
    return {e["name"]: e["value"] for e in _pod_container(graph, dep)["env"] if "value" in e}


def _edge_module(graph: Graph, dep: DeploymentNode) -> dict[str, Any]:
    desired = edge_manifest(graph, dep)["content"]["modulesContent"]["$edgeAgent"]["properties.desired"]
    return desired["modules"][dep.name]  # type: ignore[no-any-return]


def _edge_binds(graph: Graph, dep: DeploymentNode) -> list[str]:
    settings = _edge_module(graph, dep)["settings"]
    options = json.loads("".join(settings[k] for k in sorted(settings) if k.startswith("createOptions")))
    return options["HostConfig"]["Binds"]  # type: ignore[no-any-return]


def edge_env(graph: Graph, dep: DeploymentNode) -> dict[str, str]:
    return {k: v["value"] for k, v in _edge_module(graph, dep).get("env", {}).items()}


ENV_OF = {"docker": docker_env, "kubernetes": kubernetes_env, "edge": edge_env}


def _mounted(graph: Graph, dep: DeploymentNode, target_type: str) -> dict[str, str]:
    """What each target passes runtime_settings as the auth files (to compute its expected settings)."""
    if target_type != "docker":
        return auth_files_in("/var/run/secrets/modelctl/auth", dep.spec.auth.mode)
    names = {"keys": "auth-keys", "token-secret": "token-secret"}
    return {key: f"/run/secrets/modelctl/{names[key]}" for key in AUTH_SECRET_KEYS[dep.spec.auth.mode]}


def _runtime_only(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith("MODELCTL_")}


def _case_params() -> Iterator[Any]:
    for case, (spec, targets) in CASES.items():
        for target_type in targets:
            yield pytest.param(target_type, spec, id=f"{target_type}: {case}")


@pytest.mark.parametrize(("target_type", "spec"), list(_case_params()))
def test_each_target_sets_exactly_the_runtime_settings(compile_with, target_type, spec):
    graph, dep = compile_with(target_type, spec)
    env = ENV_OF[target_type](graph, dep)
    expected = runtime_settings(
        dep.spec,
        port=_image(graph, dep).spec.port,
        auth_files=_mounted(graph, dep, target_type),
        sink_dir=COLLECT_DIR if target_type == "docker" else None,
    )
    assert _runtime_only(env) == expected
    runtime_spec = dep.spec.runtime
    tuning = set(runtime_spec.model_dump(exclude_none=True, exclude={"batching"})) if runtime_spec else set()
    batching = runtime_spec is not None and runtime_spec.batching is not None
    assert set(expected) == {
        "MODELCTL_PORT",
        "MODELCTL_AUTH_MODE",
        "MODELCTL_TIMEOUT_SECONDS",
        *AUTH_SECRET_KEYS[dep.spec.auth.mode].values(),
        *([DATA_COLLECTION] if dep.spec.data_collection.enabled else []),
        *(TUNING[field] for field in tuning),
        *(BATCHING.values() if batching else ()),
    }


@pytest.mark.parametrize("case", list(CASES))
def test_targets_agree_on_everything_but_mount_paths(compile_with, case):
    spec, targets = CASES[case]
    envs = {t: _runtime_only(ENV_OF[t](*compile_with(t, spec))) for t in targets}
    names = {t: set(env) for t, env in envs.items()}
    assert len({frozenset(n) for n in names.values()}) == 1, names
    for name in next(iter(names.values())):
        values = {t: env[name] for t, env in envs.items()}
        if name.endswith("_FILE"):
            continue  # where each target mounts the secret's files
        if name == DATA_COLLECTION:
            docs = {t: json.loads(v) for t, v in values.items()}
            sinks = {t: d.pop("sink") for t, d in docs.items()}
            assert len({json.dumps(d, sort_keys=True) for d in docs.values()}) == 1, docs
            if not sinks["docker"].startswith("file://"):
                assert len(set(sinks.values())) == 1, sinks
            continue
        assert len(set(values.values())) == 1, (name, values)


@pytest.mark.parametrize(("target_type", "spec"), list(_case_params()))
def test_the_runtime_reads_each_target_settings_as_the_spec_says(compile_with, tmp_path, target_type, spec):
    graph, dep = compile_with(target_type, spec)
    env = _Recording(ENV_OF[target_type](graph, dep))
    for name in [n for n in env if n.endswith("_FILE")]:  # stand-ins for the mounted secret files
        (tmp_path / name).write_text("secret\n")
        env[name] = str(tmp_path / name)
    env["MODELCTL_CONFIG"] = str(_config(tmp_path / "image"))
    got = runtime.load_settings(env)
    assert got.port == _image(graph, dep).spec.port
    assert got.auth_mode == dep.spec.auth.mode
    assert got.timeout_seconds == dep.spec.request_timeout_seconds
    dc = dep.spec.data_collection
    assert (got.collection.enabled, got.collection.sampling, got.collection.redact) == (
        dc.enabled,
        dc.sampling,
        tuple(dc.redact),
    )
    batching = dep.spec.runtime.batching if dep.spec.runtime else None
    assert (got.batch_max_size, got.batch_max_latency_ms) == (
        (batching.max_batch_size, batching.max_latency_ms) if batching else (0, 2)
    )
    assert {n for n in env if n.startswith("MODELCTL_")} <= env.read  # nothing emitted that goes unread


def test_emitted_and_owned_names_are_names_the_runtime_reads(runtime_reads):
    assert RUNTIME_OWNED <= runtime_reads, RUNTIME_OWNED - runtime_reads
    assert {"MODELCTL_PORT", "MODELCTL_AUTH_MODE", "MODELCTL_TIMEOUT_SECONDS", DATA_COLLECTION} <= RUNTIME_OWNED
    # the server's tuning comes from spec.runtime, one variable per field
    assert set(TUNING.values()) | set(BATCHING.values()) <= RUNTIME_OWNED


def test_every_auth_mode_gets_the_files_the_runtime_requires(tmp_path):
    assert set(AUTH_SECRET_KEYS) == set(runtime.AUTH_MODES)
    for mode, keys in AUTH_SECRET_KEYS.items():
        env = {"MODELCTL_CONFIG": str(_config(tmp_path / mode)), "MODELCTL_AUTH_MODE": mode}
        for var in keys.values():
            (tmp_path / var).write_text("secret\n")
            env[var] = str(tmp_path / var)
        assert runtime.load_settings(env).auth_mode == mode  # the runtime's auth check passes


OVERRIDES = {
    "MODELCTL_PORT": "1",
    "MODELCTL_AUTH_MODE": "none",
    "MODELCTL_AUTH_KEYS": "leaked",
    "MODELCTL_AUTH_KEYS_FILE": "/etc/passwd",
    "MODELCTL_TIMEOUT_SECONDS": "999",
    "MODELCTL_DATA_COLLECTION": '{"enabled": true}',
    "MODELCTL_WORKERS": "9",
    "MODELCTL_BATCH_MAX_SIZE": "4096",
    "modelctl_access_log": "0",
}
ALLOWED = {"LOG_LEVEL": "debug"}


def test_validate_refuses_user_env_in_the_runtime_s_namespace(compile_with):
    from compiler.diagnostics import DiagnosticError

    with pytest.raises(DiagnosticError) as err:
        compile_with("docker", f"  env: {json.dumps({'MODELCTL_AUTH_MODE': 'none', 'LOG_LEVEL': 'debug'})}")
    [diag] = err.value.diagnostics
    assert diag.path == "spec.env.MODELCTL_AUTH_MODE" and "reserved" in diag.message


@pytest.mark.parametrize("target_type", list(TARGETS))
def test_user_env_cannot_override_runtime_settings(compile_with, target_type):
    """Defence in depth: a spec that bypassed validation still cannot set a MODELCTL_* variable."""
    graph, valid = compile_with(target_type, "  auth: {mode: key}\n  runtime: {workers: 2, accessLog: false}")
    dep = dataclasses.replace(valid, spec=valid.spec.model_copy(update={"env": {**OVERRIDES, **ALLOWED}}))
    env = ENV_OF[target_type](graph, dep)
    assert env["MODELCTL_PORT"] == str(_image(graph, dep).spec.port)
    assert env["MODELCTL_AUTH_MODE"] == "key"
    assert env["MODELCTL_TIMEOUT_SECONDS"] == "30"
    assert env["MODELCTL_AUTH_KEYS_FILE"] != "/etc/passwd"
    assert "MODELCTL_AUTH_KEYS" not in env and DATA_COLLECTION not in env and "modelctl_access_log" not in env
    assert "MODELCTL_BATCH_MAX_SIZE" not in env  # batching is spec.runtime.batching, never env
    assert (env["MODELCTL_WORKERS"], env["MODELCTL_ACCESS_LOG"]) == ("2", "0")  # spec.runtime, not env
    assert {k: env[k] for k in ALLOWED} == ALLOWED


def test_spec_runtime_tuning_reaches_the_runtime(tmp_path):
    from compiler.spec.deployment import RuntimeTuning

    spec = DeploymentSpec(
        image="i",
        target="t",
        auth={"mode": "none"},
        runtime=RuntimeTuning(
            workers=3, max_body_bytes=1 << 20, inline_max_rows=8, access_log=False, memory_budget_bytes=64 << 20
        ),
    )
    env = runtime_settings(spec, port=8080)
    got = runtime.load_settings({**env, "MODELCTL_CONFIG": str(_config(tmp_path))})
    assert (got.workers, got.max_body_bytes, got.inline_max_rows, got.access_log) == (3, 1 << 20, 8, False)
    assert got.memory_budget_bytes == 64 << 20
    assert "MODELCTL_WORKERS" not in runtime_settings(
        DeploymentSpec(image="i", target="t", auth={"mode": "none"}), port=8080
    )  # unset: the runtime's default


@pytest.mark.parametrize("target_type", ["docker", "kubernetes"])
def test_secret_env_cannot_set_runtime_settings_either(compile_with, target_type):
    graph, valid = compile_with(
        target_type, "  auth: {mode: key}\n  secretEnv:\n    DB_PASSWORD: {secretRef: s, key: k}"
    )
    secret_env = dict(valid.spec.secret_env)
    forged = {name: secret_env["DB_PASSWORD"] for name in ("MODELCTL_AUTH_KEYS", "MODELCTL_AUTH_MODE")}
    dep = dataclasses.replace(valid, spec=valid.spec.model_copy(update={"secret_env": {**secret_env, **forged}}))
    env = ENV_OF[target_type](graph, dep)
    names = {e["name"] for e in _pod_container(graph, dep)["env"]} if target_type == "kubernetes" else set(env)
    assert "MODELCTL_AUTH_KEYS" not in names and env["MODELCTL_AUTH_MODE"] == "key"
    assert env["MODELCTL_AUTH_KEYS_FILE"].endswith(("/auth-keys", "/auth/keys"))  # the auth secret, not secretEnv
    assert ("DB_PASSWORD" if target_type == "kubernetes" else "DB_PASSWORD_FILE") in names


def test_default_auth_secret_is_mounted_on_every_target(compile_with):
    secret = default_keys_secret(NAME)
    assert secret == "probe-keys"
    graph, dep = compile_with("kubernetes", "  auth: {mode: key}")
    (deployment,) = [o for o in deployment_objects(graph, dep) if o["kind"] == "Deployment"]
    volumes = deployment["spec"]["template"]["spec"]["volumes"]
    assert [v["secret"]["secretName"] for v in volumes if "secret" in v] == [secret]
    graph, dep = compile_with("edge", "  auth: {mode: key}")
    binds = _edge_binds(graph, dep)
    assert binds == [f"/etc/modelctl/secrets/{secret}:/var/run/secrets/modelctl/auth:ro"]
    graph, dep = compile_with("docker", "  auth: {mode: key}")
    assert secret_refs(dep.name, dep.spec) == (secret,)
    keys_file = Path(graph.root) / ".modelctl/run/c1/auth-keys"
    docker_env(graph, dep)
    assert keys_file.read_text() == f"value of {secret}\n"


def test_file_sink_paths(compile_with):
    spec = "  auth: {mode: none}\n  dataCollection: {enabled: true, sink: 'file:///data/collected'}"
    graph, dep = compile_with("kubernetes", spec)
    container = _pod_container(graph, dep)
    assert json.loads(kubernetes_env(graph, dep)[DATA_COLLECTION])["sink"] == "file:///data/collected"
    assert {"name": "collected", "mountPath": "/data/collected"} in container["volumeMounts"]
    graph, dep = compile_with("edge", spec)
    assert json.loads(edge_env(graph, dep)[DATA_COLLECTION])["sink"] == "file:///data/collected"
    binds = _edge_binds(graph, dep)
    assert binds == [f"modelctl-collected-{NAME}:/data/collected"]
    # Docker mounts its collected-data volume at one folder: the runtime writes there.
    graph, dep = compile_with("docker", spec)
    assert json.loads(docker_env(graph, dep)[DATA_COLLECTION])["sink"] == f"file://{COLLECT_DIR}"


def test_a_file_sink_names_a_folder():
    """A bare `file://` (or `file:///`) is refused by the spec; a spec that bypassed validation still
    writes into the default folder, never the container's root."""
    import pydantic

    for bare in ("file://", "file:///"):
        with pytest.raises(pydantic.ValidationError):
            DataCollection(enabled=True, sink=bare)
    spec = DeploymentSpec(
        image="i",
        target="t",
        data_collection=DataCollection.model_construct(enabled=True, sampling=1.0, sink="file://", redact=[]),
    )
    env = runtime_settings(spec, port=8080, auth_files={"keys": "/k"})
    assert json.loads(env[DATA_COLLECTION])["sink"] == f"file://{DEFAULT_COLLECTED_DIR}"


def test_collection_off_sets_nothing_the_runtime_defaults_off():
    env = runtime_settings(DeploymentSpec(image="i", target="t"), port=8080, auth_files={"keys": "/k"})
    assert DATA_COLLECTION not in env and runtime.collection_from_env(None).enabled is False


def test_missing_auth_files_are_a_bug_not_a_silent_default():
    with pytest.raises(ValueError, match="keys"):
        runtime_settings(DeploymentSpec(image="i", target="t"), port=8080)


def test_default_collection_folder_agrees_with_the_runtime_and_the_spec():
    assert runtime.CollectionSettings().sink == default_collection_sink() == DataCollection().sink
    assert COLLECT_DIR == DEFAULT_COLLECTED_DIR
