"""The scoring runtime's settings for one deployment: the `MODELCTL_*` variables that
`compiler/runtime/settings.py` reads, built once for every target (docker, kubernetes, edge).

What genuinely differs per target is a parameter: the port the image listens on, where the files of
the auth secret are mounted inside the container, and where a target mounts storage for a `file://`
data-collection sink. Everything else comes from the Deployment spec, the same way everywhere.

Every `MODELCTL_*` variable is the runtime's: validate refuses user `env` / `secretEnv` names with that
prefix, and this function drops any that reach it (defence in depth), so the spec — not an env
override — decides the port, the auth mode and its credentials, the scoring timeout, data
collection and the server's tuning (`spec.runtime`: workers, body limit, inline rows, access log,
memory budget, batching).
"""

from __future__ import annotations

from collections.abc import Mapping

from ..names import DEFAULT_COLLECTED_DIR, default_keys_secret
from ..spec.deployment import Auth, DataCollection, DeploymentSpec
from .serialize import compact_json

# Where kubernetes and edge mount the auth secret (one file per key of the secret).
AUTH_DIR = "/var/run/secrets/modelctl/auth"

PORT = "MODELCTL_PORT"
AUTH_MODE = "MODELCTL_AUTH_MODE"
AUTH_KEYS = "MODELCTL_AUTH_KEYS"
AUTH_KEYS_FILE = "MODELCTL_AUTH_KEYS_FILE"
TOKEN_SECRET_FILE = "MODELCTL_TOKEN_SECRET_FILE"
TLS_CERT_FILE = "MODELCTL_TLS_CERT_FILE"
TLS_KEY_FILE = "MODELCTL_TLS_KEY_FILE"
TLS_CLIENT_CA_FILE = "MODELCTL_TLS_CLIENT_CA_FILE"
TIMEOUT_SECONDS = "MODELCTL_TIMEOUT_SECONDS"
DATA_COLLECTION = "MODELCTL_DATA_COLLECTION"
RESERVED_PREFIX = "MODELCTL_"
# spec.runtime field → the variable the runtime reads
TUNING = {
    "workers": "MODELCTL_WORKERS",
    "max_body_bytes": "MODELCTL_MAX_BODY_BYTES",
    "inline_max_rows": "MODELCTL_INLINE_MAX_ROWS",
    "access_log": "MODELCTL_ACCESS_LOG",
    "memory_budget_bytes": "MODELCTL_MEMORY_BUDGET_BYTES",
}
# spec.runtime.batching field → the variable the runtime reads
BATCHING = {"max_batch_size": "MODELCTL_BATCH_MAX_SIZE", "max_latency_ms": "MODELCTL_BATCH_MAX_LATENCY_MS"}

# Per auth mode: the keys the auth secret must hold, and the runtime variable naming each one's file.
AUTH_SECRET_KEYS: Mapping[str, Mapping[str, str]] = {
    "key": {"keys": AUTH_KEYS_FILE},
    "token": {"token-secret": TOKEN_SECRET_FILE},
    "mtls": {"tls.crt": TLS_CERT_FILE, "tls.key": TLS_KEY_FILE, "ca.crt": TLS_CLIENT_CA_FILE},
    "none": {},
}

# Variables the spec governs (every MODELCTL_* name is the runtime's; these are the ones it sets).
# Never taken from user env, even when this deployment does not set them (e.g. MODELCTL_AUTH_KEYS would
# add a plain-text key; MODELCTL_DATA_COLLECTION would turn on collection the spec has off).
RUNTIME_OWNED: frozenset[str] = frozenset(
    {PORT, AUTH_MODE, AUTH_KEYS, TIMEOUT_SECONDS, DATA_COLLECTION}
    | set(TUNING.values())
    | set(BATCHING.values())
    | {var for keys in AUTH_SECRET_KEYS.values() for var in keys.values()}
)


def auth_secret(deployment: str, auth: Auth) -> str | None:
    """The secret the auth files come from: `auth.secretRef`, else `<deployment>-keys`; None for mode none."""
    if not AUTH_SECRET_KEYS[auth.mode]:
        return None
    return auth.secret_ref or default_keys_secret(deployment)


def auth_files_in(directory: str, mode: str) -> dict[str, str]:
    """Paths of the auth secret's files for a target that mounts the whole secret as one folder."""
    return {key: f"{directory}/{key}" for key in AUTH_SECRET_KEYS[mode]}


def file_sink_dir(collection: DataCollection) -> str | None:
    """The folder a `file://` sink writes to (a bare `file://` means the default folder); None when
    collection is off or the sink is http(s). Targets that mount storage at the sink's path use this."""
    if not collection.enabled or not collection.sink.startswith("file://"):
        return None
    return collection.sink[len("file://") :] or DEFAULT_COLLECTED_DIR


def runtime_settings(
    spec: DeploymentSpec,
    *,
    port: int,
    auth_files: Mapping[str, str] | None = None,
    sink_dir: str | None = None,
    user_env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The container environment of a deployment's scorer, sorted by name: `user_env` (default
    `spec.env`) without `MODELCTL_*` names, then the runtime's settings.

    port: the port the image listens on (`Image.spec.port`).
    auth_files: secret key (`keys`, `token-secret`, `tls.crt`, `tls.key`, `ca.crt`) → path of that file
        inside the container; every key `AUTH_SECRET_KEYS[spec.auth.mode]` names must be there.
    sink_dir: where the target mounts storage for a `file://` sink, when that is a fixed folder (the
        sink is then written there); None: at `file_sink_dir(...)`, the sink's own path.
    """
    files = auth_files or {}
    env = {PORT: str(port), AUTH_MODE: spec.auth.mode}
    needed = AUTH_SECRET_KEYS[spec.auth.mode]
    missing = sorted(set(needed) - set(files))
    if missing:
        raise ValueError(f"auth mode {spec.auth.mode!r} needs the secret's {', '.join(missing)} mounted")
    env.update({var: files[key] for key, var in needed.items()})
    env[TIMEOUT_SECONDS] = str(spec.request_timeout_seconds)
    dc = spec.data_collection
    if dc.enabled:
        folder = file_sink_dir(dc)
        sink = dc.sink if folder is None else f"file://{sink_dir or folder}"
        env[DATA_COLLECTION] = compact_json(
            {"enabled": True, "sampling": dc.sampling, "sink": sink, "redact": list(dc.redact)}
        )
    tuning = spec.runtime.model_dump(exclude_none=True, exclude={"batching"}, by_alias=False) if spec.runtime else {}
    env.update(
        {
            TUNING[field]: ("1" if value else "0") if isinstance(value, bool) else str(value)
            for field, value in tuning.items()
        }
    )
    batching = spec.runtime.batching if spec.runtime else None
    if batching is not None:
        env.update({var: str(getattr(batching, field)) for field, var in BATCHING.items()})
    given = spec.env if user_env is None else user_env
    merged = {name: value for name, value in given.items() if not name.upper().startswith(RESERVED_PREFIX)}
    merged.update(env)
    return dict(sorted(merged.items()))
