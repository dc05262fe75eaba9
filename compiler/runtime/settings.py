"""Deployment settings from the environment and the image-level config.json."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError
from .memory import memory_limit

AUTH_MODES = ("key", "token", "mtls", "none")
FRAMEWORKS = ("sklearn", "onnx", "mlflow", "custom")


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: str  # numpy name, e.g. "float32"
    shape: tuple[int, ...]  # -1 = any size


@dataclass(frozen=True)
class ModelConfig:
    name: str
    version: str
    framework: str
    path: Path  # absolute
    digest: str | None = None
    inputs: tuple[TensorSpec, ...] | None = None
    outputs: tuple[TensorSpec, ...] | None = None
    script: Path | None = None  # the scoring script: a model's own, else (custom models) the image's
    script_wins: bool = False  # the model's own script serves it, whatever its framework


@dataclass(frozen=True)
class CollectionSettings:
    enabled: bool = False
    sampling: float = 1.0
    sink: str = "file:///var/lib/modelctl/collected"
    redact: tuple[str, ...] = ()
    queue_size: int = 10000
    batch_size: int = 1000
    flush_seconds: float = 1.0


@dataclass(frozen=True)
class Settings:
    config_path: Path
    image: str
    models: tuple[ModelConfig, ...]
    port: int = 8080
    host: str = "0.0.0.0"
    workers: int = 1
    max_body_bytes: int = 4 * 1024 * 1024
    timeout_seconds: float = 30.0
    inline_max_rows: int = 64
    batch_max_size: int = 0  # rows per batched predict call; 0: no batching
    batch_max_latency_ms: int = 2  # how long the first request of a batch waits for others
    auth_mode: str = "key"
    auth_keys_file: Path | None = None
    auth_keys: tuple[str, ...] = ()
    token_secret_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_client_ca_file: Path | None = None
    access_log: bool = True
    collection: CollectionSettings = field(default_factory=CollectionSettings)
    memory_limit_bytes: int = 1 << 60  # the container's (cgroup) memory limit, or the machine's memory
    memory_limit_source: str = "unknown"  # the file (or variable) it came from
    memory_budget_bytes: int | None = None  # per worker; None: derived from the limit (memory.py)


def _spec_list(raw, where: str) -> tuple[TensorSpec, ...]:
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: expected a list of tensor specs")
    specs = []
    for i, item in enumerate(raw):
        try:
            specs.append(TensorSpec(str(item["name"]), str(item["dtype"]), tuple(int(d) for d in item["shape"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{where}[{i}]: needs name, dtype and an integer shape ({exc})") from None
    return tuple(specs)


def _inside(base: Path, rel: str, where: str) -> Path:
    path = (base / rel).resolve()
    if not path.is_relative_to(base.resolve()):
        raise ConfigError(f"{where}: path {rel!r} escapes the image folder")
    return path


def load_image_config(path: Path) -> tuple[str, tuple[ModelConfig, ...]]:
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("schemaVersion") != 1:
        raise ConfigError(f"{path}: expected an object with schemaVersion 1")
    base = path.parent
    scoring = doc.get("scoring") or {}
    image_script = _inside(base, scoring["script"], "scoring.script") if scoring.get("script") else None
    models, seen = [], set()
    for i, m in enumerate(doc.get("models") or []):
        where = f"models[{i}]"
        try:
            name, version, framework = str(m["name"]), str(m["version"]), str(m["framework"])
        except (KeyError, TypeError):
            raise ConfigError(f"{where}: needs name, version and framework") from None
        if framework not in FRAMEWORKS:
            raise ConfigError(f"{where}: framework {framework!r} is not one of {', '.join(FRAMEWORKS)}")
        if name in seen:
            raise ConfigError(f"{where}: duplicate model name {name!r}")
        seen.add(name)
        sig = m.get("signature") or {}
        script = _inside(base, m["script"], f"{where}.script") if m.get("script") else image_script
        if framework == "custom" and script is None:
            raise ConfigError(f"{where}: a custom model needs scoring.script")
        models.append(
            ModelConfig(
                name=name,
                version=version,
                framework=framework,
                path=_inside(base, str(m.get("path", "")), f"{where}.path"),
                digest=m.get("digest"),
                inputs=_spec_list(sig["inputs"], f"{where}.signature.inputs") if sig.get("inputs") else None,
                outputs=_spec_list(sig["outputs"], f"{where}.signature.outputs") if sig.get("outputs") else None,
                script=script,
                script_wins=bool(m.get("script")),
            )
        )
    if not models:
        raise ConfigError(f"{path}: no models listed")
    return str(doc.get("image", "")), tuple(models)


def _env_int(env, name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def _env_float(env, name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be > 0")
    return value


def _env_path(env, name: str) -> Path | None:
    raw = env.get(name)
    return Path(raw) if raw else None


def available_cpus() -> int:
    """CPUs this process may use: affinity mask, capped by a cgroup v2 quota."""
    cpus = len(os.sched_getaffinity(0))
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            cpus = min(cpus, max(1, int(int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


def collection_from_env(raw: str | None) -> CollectionSettings:
    if not raw:
        return CollectionSettings()
    try:
        doc = json.loads(raw)
        if not isinstance(doc, dict):
            raise ValueError("expected a JSON object")
        c = CollectionSettings(
            enabled=bool(doc.get("enabled", True)),
            sampling=float(doc.get("sampling", 1.0)),
            sink=str(doc.get("sink", CollectionSettings.sink)),
            redact=tuple(str(f) for f in doc.get("redact", ())),
            queue_size=int(doc.get("queueSize", CollectionSettings.queue_size)),
            batch_size=int(doc.get("batchSize", CollectionSettings.batch_size)),
            flush_seconds=float(doc.get("flushSeconds", CollectionSettings.flush_seconds)),
        )
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"MODELCTL_DATA_COLLECTION is invalid: {exc}") from None
    if not 0.0 <= c.sampling <= 1.0:
        raise ConfigError("MODELCTL_DATA_COLLECTION.sampling must be within 0..1")
    if c.queue_size < 1 or c.batch_size < 1 or c.flush_seconds <= 0:
        raise ConfigError("MODELCTL_DATA_COLLECTION: queueSize and batchSize must be >= 1, flushSeconds > 0")
    if not c.sink.startswith(("file://", "http://", "https://")):
        raise ConfigError("MODELCTL_DATA_COLLECTION.sink must be file://, http:// or https://")
    return c


def load_settings(env=None) -> Settings:
    env = os.environ if env is None else env
    config_path = Path(env.get("MODELCTL_CONFIG") or "config.json").resolve()
    image, models = load_image_config(config_path)
    auth_mode = env.get("MODELCTL_AUTH_MODE", "key") or "key"
    if auth_mode not in AUTH_MODES:
        raise ConfigError(f"MODELCTL_AUTH_MODE must be one of {', '.join(AUTH_MODES)}, got {auth_mode!r}")
    settings = Settings(
        config_path=config_path,
        image=image,
        models=models,
        port=_env_int(env, "MODELCTL_PORT", 8080),
        host=env.get("MODELCTL_HOST", "0.0.0.0"),
        workers=_env_int(env, "MODELCTL_WORKERS", available_cpus()),
        max_body_bytes=_env_int(env, "MODELCTL_MAX_BODY_BYTES", 4 * 1024 * 1024),
        timeout_seconds=_env_float(env, "MODELCTL_TIMEOUT_SECONDS", 30.0),
        inline_max_rows=_env_int(env, "MODELCTL_INLINE_MAX_ROWS", 64, minimum=0),
        batch_max_size=_env_int(env, "MODELCTL_BATCH_MAX_SIZE", 0, minimum=0),
        batch_max_latency_ms=_env_int(env, "MODELCTL_BATCH_MAX_LATENCY_MS", 2, minimum=0),
        auth_mode=auth_mode,
        auth_keys_file=_env_path(env, "MODELCTL_AUTH_KEYS_FILE"),
        auth_keys=tuple(k.strip() for k in env.get("MODELCTL_AUTH_KEYS", "").split(",") if k.strip()),
        token_secret_file=_env_path(env, "MODELCTL_TOKEN_SECRET_FILE"),
        tls_cert_file=_env_path(env, "MODELCTL_TLS_CERT_FILE"),
        tls_key_file=_env_path(env, "MODELCTL_TLS_KEY_FILE"),
        tls_client_ca_file=_env_path(env, "MODELCTL_TLS_CLIENT_CA_FILE"),
        access_log=env.get("MODELCTL_ACCESS_LOG", "1") not in ("0", "false", "no"),
        collection=collection_from_env(env.get("MODELCTL_DATA_COLLECTION")),
        **_memory(env),
    )
    _check_auth(settings)
    _check_memory(settings)
    return settings


def _memory(env) -> dict:
    override = _env_int(env, "MODELCTL_MEMORY_LIMIT_BYTES", 0, minimum=0)
    limit, source = (override, "MODELCTL_MEMORY_LIMIT_BYTES") if override else memory_limit()
    budget = _env_int(env, "MODELCTL_MEMORY_BUDGET_BYTES", 0, minimum=0)
    return {"memory_limit_bytes": limit, "memory_limit_source": source, "memory_budget_bytes": budget or None}


def _check_memory(s: Settings) -> None:
    if s.memory_budget_bytes is not None and s.memory_budget_bytes * s.workers > s.memory_limit_bytes:
        raise ConfigError(
            f"MODELCTL_MEMORY_BUDGET_BYTES × MODELCTL_WORKERS ({s.memory_budget_bytes} × {s.workers}) "
            f"exceeds the memory limit of {s.memory_limit_bytes} bytes ({s.memory_limit_source})"
        )


def _check_auth(s: Settings) -> None:
    if s.auth_mode == "key" and not (s.auth_keys_file or s.auth_keys):
        raise ConfigError("auth mode 'key' needs MODELCTL_AUTH_KEYS_FILE or MODELCTL_AUTH_KEYS")
    if s.auth_mode == "token" and not s.token_secret_file:
        raise ConfigError("auth mode 'token' needs MODELCTL_TOKEN_SECRET_FILE")
    if s.auth_mode == "mtls" and not (s.tls_cert_file and s.tls_key_file and s.tls_client_ca_file):
        raise ConfigError(
            "auth mode 'mtls' needs MODELCTL_TLS_CERT_FILE, MODELCTL_TLS_KEY_FILE and MODELCTL_TLS_CLIENT_CA_FILE"
        )
    for p in (s.auth_keys_file, s.token_secret_file, s.tls_cert_file, s.tls_key_file, s.tls_client_ca_file):
        if p is not None and not p.is_file():
            raise ConfigError(f"file not found: {p}")
