"""The grammar of every user string that reaches a rendered artifact, a shell, or the host.

One validation layer: each field of `compiler.spec` that ends up in a Dockerfile, a requirements
file, a Kubernetes manifest, an edge bundle, a router config or a file path has a type here, so a
value is checked once, at validate time, with its file:line:col — never discovered by a build, an
API server or a shell. The patterns are written for both engines that run them: pydantic's Rust
regex (spec validation; `$` is the end of the text there) and Python's `re` (the renderers'
second check, always with `fullmatch`). No look-arounds.

A check that a regex cannot express raises `SpecError`, a `ValueError` that carries what was
expected and a suggestion; `compiler.load.errors` turns it into a Diagnostic.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Callable

from pydantic import AfterValidator, Field, StringConstraints


class SpecError(ValueError):
    """A value that breaks its field's grammar; `expected` and `suggestion` reach the diagnostic."""

    def __init__(self, message: str, *, expected: str | None = None, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.expected, self.suggestion = expected, suggestion


PATTERN_MEANING: dict[str, str] = {}
"""pattern -> what it means in words (the diagnostic's `expected:` line)."""
PATTERN_HINT: dict[str, Callable[[Any], str | None]] = {}
"""pattern -> a suggestion for a value that does not match it."""


def _register(pattern: str, meaning: str, hint: Callable[[Any], str | None] | None = None) -> str:
    PATTERN_MEANING[pattern] = meaning
    if hint is not None:
        PATTERN_HINT[pattern] = hint
    return pattern


def matches(pattern: str, value: object) -> bool:
    """The renderers' check, with Python's re: the whole text, no trailing-newline leniency."""
    return isinstance(value, str) and re.fullmatch(pattern.removeprefix("^").removesuffix("$"), value) is not None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _control(value: str, *, allow: str = "") -> str | None:
    for ch in value:
        if (ord(ch) < 0x20 or ord(ch) == 0x7F) and ch not in allow:
            return f"U+{ord(ch):04X}" + {
                "\n": " (newline)",
                "\r": " (carriage return)",
                "\0": " (NUL)",
                "\t": " (tab)",
            }.get(ch, "")
    return None


DNS_LABEL_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
"""A DNS-1123 label: resource names, Kubernetes namespaces (its meaning is in load.errors)."""

ENVIRONMENT_REF_PATTERN = _register(
    r"^(?:curated/)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", "curated/<name> or the name of an Environment in this repo"
)
EnvironmentRef = Annotated[str, StringConstraints(pattern=ENVIRONMENT_REF_PATTERN)]

IDENTIFIER_PATTERN = _register(
    r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$",
    "an identifier: letters, digits, '.', '_' and '-', at most 63 characters, starting with a letter or digit",
)
Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
"""Accelerator architectures, FPGA families and parts: compared and printed, never interpreted."""

# -- environment variables --------------------------------------------------------------------

ENV_NAME_PATTERN = _register(
    r"^[A-Za-z_][A-Za-z0-9_]*$",
    "an environment variable name: letters, digits and '_', not starting with a digit",
    lambda v: _env_name_hint(v),
)


def _env_name_hint(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    fixed = re.sub(r"[^A-Za-z0-9_]+", "_", value).strip("_").upper()
    if fixed[:1].isdigit():
        fixed = "_" + fixed  # a name may not start with a digit
    return f"use '{fixed}'" if fixed else None


RESERVED_ENV_PREFIX = "MODELCTL_"


def _not_reserved(name: str) -> str:
    if name.upper().startswith(RESERVED_ENV_PREFIX):
        raise SpecError(
            f"environment variable '{name}' is reserved: the scoring runtime reads MODELCTL_* settings "
            "(auth, port, model paths, data collection) from the spec, and user env must not override them",
            expected=f"a name that does not start with {RESERVED_ENV_PREFIX}",
            suggestion="set the setting in its own field (e.g. spec.auth.mode), or rename the variable "
            f"(e.g. APP_{name[len(RESERVED_ENV_PREFIX) :]})",
        )
    return name


RuntimeEnvName = Annotated[
    str, StringConstraints(pattern=ENV_NAME_PATTERN, max_length=255), AfterValidator(_not_reserved)
]
"""The name of every variable a user sets (Deployment env and secretEnv, Environment env, edge modules):
the MODELCTL_ prefix is the runtime's own, in every map, so no user value can stand in for a setting."""


def _no_nul(value: str) -> str:
    if "\0" in value:
        raise SpecError(
            "a NUL character cannot be part of an environment variable",
            expected="text without NUL characters",
            suggestion="remove the \\0",
        )
    return value


def _image_env_value(value: str) -> str:
    bad = _control(value)
    if bad:
        raise SpecError(
            f"an image environment value cannot contain the control character {bad}",
            expected="one line of text (it becomes a Dockerfile ENV value)",
            suggestion="put multi-line settings in a file of the image, or in the Deployment's "
            "env (set when the container starts)",
        )
    return value


EnvValue = Annotated[str, AfterValidator(_no_nul)]
ImageEnvValue = Annotated[str, AfterValidator(_image_env_value)]


# -- secrets ---------------------------------------------------------------------------------


def _secret_key_hint(value: Any) -> str:
    if isinstance(value, str):
        leaf = value.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
        if leaf != value and matches(SECRET_KEY_PATTERN, leaf):
            return f"keys are names inside the secret, never paths: use '{leaf}'"
    return "keys are names inside the secret, e.g. 'api-key', never paths"


SECRET_KEY_PATTERN = _register(
    r"^(?:[-_A-Za-z0-9][-._A-Za-z0-9]*|\.[-_A-Za-z0-9][-._A-Za-z0-9]*)$",
    "the name of a key inside the secret: letters, digits, '-', '_' and '.' (not '.', '..' or a path)",
    _secret_key_hint,
)
SecretKey = Annotated[str, StringConstraints(pattern=SECRET_KEY_PATTERN, max_length=253)]


# -- Dockerfile and requirements inputs ---------------------------------------------------------

DEBIAN_PACKAGE_PATTERN: str = _register(
    r"^[a-z0-9][a-z0-9+.-]+(?::[a-z0-9][a-z0-9-]*)?(?:=[0-9][A-Za-z0-9.+~:-]*)?$",
    "a Debian package name (lower-case letters, digits, '+', '-', '.'), optionally ':ARCH' and '=VERSION'",
    lambda v: (
        f"use '{v.strip().lower()}'"
        if isinstance(v, str) and v.strip().lower() != v and matches(DEBIAN_PACKAGE_PATTERN, v.strip().lower())
        else "one package per list entry, e.g. 'libgomp1' or 'libgomp1=12.2.0-14'"
    ),
)
DebianPackage = Annotated[str, StringConstraints(pattern=DEBIAN_PACKAGE_PATTERN, max_length=255)]

_PIP_EXPECTED = "a PEP 508 requirement such as 'numpy==2.4.6' or 'pandas[parquet]>=2,<3' (no pip options, no URLs)"


def check_requirement(text: str) -> str:
    """One pip requirement: PEP 508, a package from the index, nothing that pip reads as an option.

    Refused: pip options (`--index-url`, `-e`, `-r`, `--hash`, …), direct URL references
    (`name @ https://…`, `file:`), line continuations, comments and `${VAR}` expansion — each would
    make one entry change how every package of the image is fetched, or fetch code from outside
    the index that reviewers do not see as a version bump.
    """
    from packaging.requirements import InvalidRequirement, Requirement

    bad = _control(text)
    if bad:
        raise SpecError(
            f"a pip requirement cannot contain the control character {bad}",
            expected=_PIP_EXPECTED,
            suggestion="one requirement per list entry",
        )
    stripped = text.strip()
    if stripped.startswith("-"):
        option = stripped.split()[0].split("=")[0]
        raise SpecError(
            f"pip option '{option}' is not allowed in spec.pip: an option in a requirements file "
            "changes how every package of the image is installed",
            expected=_PIP_EXPECTED,
            suggestion="list packages only; configure a private index in the base image's pip.conf, "
            "which is reviewed once",
        )
    for char, why in (("#", "a comment"), ("\\", "a line continuation"), ("$", "environment variable expansion")):
        if char in text:
            raise SpecError(
                f"'{char}' is not allowed in a pip requirement (pip reads it as {why})",
                expected=_PIP_EXPECTED,
                suggestion=f"remove the '{char}'",
            )
    try:
        req = Requirement(stripped)
    except InvalidRequirement as err:
        first = str(err).splitlines()[0].rstrip(".:")
        raise SpecError(
            f"invalid pip requirement {_shown(text)}: {first}",
            expected=_PIP_EXPECTED,
            suggestion="write NAME, NAME==VERSION or NAME[extra]>=VERSION",
        ) from None
    if req.url:
        raise SpecError(
            f"direct URL requirement {_shown(text)} is not allowed: it bypasses the package index and its version pins",
            expected=_PIP_EXPECTED,
            suggestion=f"publish the package to your index and pin it, e.g. '{req.name}==1.0'",
        )
    return text


PipRequirement = Annotated[str, StringConstraints(min_length=1, max_length=1000), AfterValidator(check_requirement)]

# Image references, as github.com/distribution/reference parses them ("docker pull" syntax).
_ALNUM = "[a-z0-9]+"
_PATH_COMPONENT = rf"{_ALNUM}(?:(?:[._]|__|-+){_ALNUM})*"
_DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?"
_REPOSITORY = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"


def _image_hint(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    if value.strip() != value or any(c.isspace() for c in value):
        return "an image reference has no spaces or line breaks"
    if value.lower() != value and matches(IMAGE_REFERENCE_PATTERN, value.lower()):
        return f"repository names are lower-case: use '{value.lower()}'"
    if "://" in value:
        return f"drop the scheme: use '{value.split('://', 1)[1]}'"
    return "e.g. python:3.11-slim, registry.example.com:5000/team/base:1.2 or name@sha256:<64 hex digits>"


IMAGE_REFERENCE_PATTERN = _register(
    rf"^{_REPOSITORY}(?::{_TAG})?(?:@{_DIGEST})?$",
    "an image reference: [HOST[:PORT]/]NAME[:TAG][@sha256:DIGEST], NAME in lower case",
    _image_hint,
)
ImageReference = Annotated[str, StringConstraints(pattern=IMAGE_REFERENCE_PATTERN, max_length=512)]

IMAGE_REGISTRY_PATTERN = _register(
    rf"^{_REPOSITORY}/?$",
    "a registry and optional repository prefix: HOST[:PORT][/PATH], e.g. 127.0.0.1:5000/team",
    _image_hint,
)
ImageRegistry = Annotated[str, StringConstraints(pattern=IMAGE_REGISTRY_PATTERN, max_length=255)]


# -- Kubernetes names -------------------------------------------------------------------------

_DNS_LABEL = "[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
_DNS_SUBDOMAIN = rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})*"


def _dns_hint(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    fixed = re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-")[:63].strip("-")
    return f"use '{fixed}'" if fixed and fixed != value else None


NAMESPACE_PATTERN = DNS_LABEL_PATTERN  # like every resource name
KubernetesNamespace = Annotated[str, StringConstraints(pattern=NAMESPACE_PATTERN)]

GATEWAY_PATTERN = _register(
    rf"^(?:{_DNS_LABEL}/)?{_DNS_SUBDOMAIN}$", "a Gateway as NAMESPACE/NAME or NAME (lower-case DNS names)", _dns_hint
)
GatewayRef = Annotated[str, StringConstraints(pattern=GATEWAY_PATTERN, max_length=317)]

HOSTNAME_PATTERN: str = _register(
    rf"^(?:\*\.)?{_DNS_SUBDOMAIN}$",
    "a DNS host name in lower case, optionally starting with '*.' (no port, no scheme)",
    lambda v: (
        f"use '{v.split('://', 1)[-1].split('/')[0].split(':')[0].lower()}'"
        if isinstance(v, str) and matches(HOSTNAME_PATTERN, v.split("://", 1)[-1].split("/")[0].split(":")[0].lower())
        else None
    ),
)
Hostname = Annotated[str, StringConstraints(pattern=HOSTNAME_PATTERN, max_length=253)]

_LABEL_NAME = "[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
LABEL_KEY_PATTERN = _register(
    rf"^(?:{_DNS_SUBDOMAIN}/)?{_LABEL_NAME}$",
    "a Kubernetes label key: [PREFIX/]NAME, NAME at most 63 letters, digits, '-', '_' or '.' "
    "starting and ending with a letter or digit",
)
LABEL_VALUE_PATTERN = _register(
    rf"^(?:{_LABEL_NAME})?$",
    "a Kubernetes label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter "
    "or digit (or empty)",
    lambda v: "labels are copied onto rendered objects; put free text in metadata.description or tags",
)
RESERVED_LABEL_PREFIXES = ("modelctl.io", "kubernetes.io", "k8s.io")


def _label_key(key: str) -> str:
    prefix = key.rpartition("/")[0]
    if any(prefix == p or prefix.endswith("." + p) for p in RESERVED_LABEL_PREFIXES):
        raise SpecError(
            f"label key '{key}' uses a reserved prefix: modelctl sets its own modelctl.io/ and "
            "app.kubernetes.io/ labels (they decide what it owns), and Kubernetes reserves "
            "*.kubernetes.io/ and *.k8s.io/",
            expected="a key without the prefixes modelctl.io/, *.kubernetes.io/, *.k8s.io/",
            suggestion="use your own prefix, e.g. 'example.com/team', or none",
        )
    return key


LabelKey = Annotated[str, StringConstraints(pattern=LABEL_KEY_PATTERN, max_length=317), AfterValidator(_label_key)]
LabelValue = Annotated[str, StringConstraints(pattern=LABEL_VALUE_PATTERN, max_length=63)]


# -- quantities, addresses, paths, URIs ----------------------------------------------------------

CPU_PATTERN = _register(
    r"^(?:[0-9]+(?:\.[0-9]{1,3})?|[0-9]+m)$",
    "CPUs as a number (0.5, 2) or in millicores (500m)",
    lambda v: "use a number of CPUs or millicores, e.g. '500m' or '2'",
)
MEMORY_PATTERN = _register(
    r"^[0-9]+(?:\.[0-9]+)?(?:k|Ki|M|Mi|G|Gi|T|Ti)?$",
    "bytes with an optional unit: k, M, G, T or Ki, Mi, Gi, Ti (e.g. 512Mi)",
    lambda v: (
        f"'m' means thousandths of a byte: did you mean '{v[:-1]}Mi'?"
        if isinstance(v, str) and v.endswith("m")
        else "e.g. '512Mi' or '2Gi'"
    ),
)
MIN_MEMORY_BYTES = 6 * 2**20  # Docker refuses a memory limit below 6 MiB
_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def _cpu(value: str) -> str:
    millis = float(value[:-1]) if value.endswith("m") else float(value) * 1000
    if millis < 1:
        raise SpecError(
            f"cpu '{value}' is zero: a container needs some CPU",
            expected="at least 1m (0.001 CPUs)",
            suggestion="e.g. '100m'",
        )
    return value


def _memory(value: str) -> str:
    number = value.rstrip("kMGTi")
    if float(number) * _UNITS[value[len(number) :]] < MIN_MEMORY_BYTES:
        raise SpecError(
            f"memory '{value}' is below the minimum of 6Mi (Docker refuses smaller limits)",
            expected="at least 6Mi",
            suggestion="e.g. '256Mi'",
        )
    return value


CpuQuantity = Annotated[str, StringConstraints(pattern=CPU_PATTERN, max_length=32), AfterValidator(_cpu)]
MemoryQuantity = Annotated[str, StringConstraints(pattern=MEMORY_PATTERN, max_length=32), AfterValidator(_memory)]


def _ip_address(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise SpecError(
            f"bindAddress {_shown(value)} is not an IP address",
            expected="an IPv4 or IPv6 address",
            suggestion="use '127.0.0.1' (this machine only) or '0.0.0.0' (every interface)",
        ) from None
    return value


IpAddress = Annotated[str, StringConstraints(max_length=45), AfterValidator(_ip_address)]


def _repo_path(value: str) -> str:
    bad = _control(value)
    if bad:
        raise SpecError(
            f"a path cannot contain the control character {bad}",
            expected="a path inside the repo",
            suggestion="remove the control character",
        )
    return value


def _one_line(value: str) -> str:
    bad = _control(value)
    if bad:
        raise SpecError(
            f"this setting cannot contain the control character {bad}",
            expected="one line of text",
            suggestion="remove the control character",
        )
    return value


OneLine = Annotated[str, StringConstraints(max_length=4096), AfterValidator(_one_line)]
"""Host-side settings (registry URL, artifact store, Docker host, kubeconfig): read by apply, never rendered."""

RepoPath = Annotated[str, StringConstraints(min_length=1, max_length=4096), AfterValidator(_repo_path)]
"""A path relative to the repo root; `compiler.safepath` checks where it leads."""

SINK_PATTERN = _register(
    r"^(?:file:///[A-Za-z0-9_][A-Za-z0-9._-]*(?:/[A-Za-z0-9_][A-Za-z0-9._-]*)*/?|https?://[^\s\x00-\x1f\x7f/?#]+(?:[/?#][^\s\x00-\x1f\x7f]*)?)$",
    "file:///ABSOLUTE/FOLDER (not '/'; letters, digits, '.', '_', '-') or an http(s):// URL",
    lambda v: _sink_hint(v),
)


def _sink_hint(value: Any) -> str:
    rest = value[len("file://") :] if isinstance(value, str) and value.startswith("file://") else ""
    if rest and not rest.startswith("/"):
        # A relative folder has no meaning every target agrees on (the working directory is the
        # image's; Kubernetes mounts need absolute paths): name the folder inside the container.
        folder = rest if re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]*(?:/[A-Za-z0-9_][A-Za-z0-9._-]*)*/?", rest) else ""
        return (
            "a file sink is a folder inside the container: write its absolute path, "
            f"e.g. file:///var/lib/modelctl/{folder or 'collected'}"
        )
    return "e.g. file:///var/lib/modelctl/collected or https://collector.example.com/ingest"


def _sink(value: str) -> str:
    if value.startswith("file://") and any(part in ("..", ".") for part in value[len("file://") :].split("/")):
        raise SpecError(
            f"sink {_shown(value)} has a '.' or '..' segment",
            expected=PATTERN_MEANING[SINK_PATTERN],
            suggestion="write the folder's absolute path",
        )
    return value


Sink = Annotated[str, StringConstraints(pattern=SINK_PATTERN, max_length=2048), AfterValidator(_sink)]

URI_PATTERN = _register(
    r"^(?:oci|https|http|s3)://[^\s\x00-\x1f\x7f]+$", "a URI: oci://, https:// or s3:// followed by no spaces"
)
Uri = Annotated[str, StringConstraints(pattern=URI_PATTERN, max_length=4096)]

Port = Annotated[int, Field(ge=1, le=65535)]
MAX_REPLICAS = 1000
