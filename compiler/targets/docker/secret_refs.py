"""Which secrets a docker deployment reads, and what a container records of their values.

Pure: names and digests only, never values.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ...names import default_keys_secret


def secret_refs(deployment: str, spec: Any) -> tuple[str, ...]:
    """The secrets a deployment's containers read, as ids `name` or `name/key` (never values)."""
    refs = {f"{r.secret_ref}/{r.key}" for r in spec.secret_env.values()}
    if spec.auth.mode in ("key", "token"):
        refs.add(spec.auth.secret_ref or default_keys_secret(deployment))
    return tuple(sorted(refs))


def secret_digest(workspace: str, ref: str, value: str) -> str:
    """What a container records of a secret value it was started with, so that a rotation shows in
    the plan. A hash, never the value; whoever can read it (Docker API access) can read the mounted
    secret itself."""
    data = b"\0".join([b"modelctl-secret-v1", workspace.encode(), ref.encode(), value.encode()])
    return "sha256:" + hashlib.sha256(data).hexdigest()


def secrets_revision(digests: dict[str, str]) -> str:
    """A short name suffix for one set of secret values (empty without secrets): containers started
    with rotated values get new names, so a rotation is a blue/green roll like any other."""
    if not digests:
        return ""
    joined = "\n".join(f"{ref}={d}" for ref, d in sorted(digests.items()))
    return hashlib.sha256(joined.encode()).hexdigest()[:6]
