"""Deployment: an image running as a web service on one target.

The user writes one `Deployment` kind; which sections are allowed depends on the type of the
target it names (edge needs `edge`, fpga needs `fpga`). The loader validates against
`DeploymentSpec` (every section optional); the graph re-validates with the class for the
target's type from `DEPLOYMENT_SPEC_BY_TARGET`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from ..names import default_collection_sink
from .common import Name, StrictModel
from .grammar import (
    MAX_REPLICAS,
    CpuQuantity,
    EnvValue,
    Identifier,
    ImageReference,
    MemoryQuantity,
    RuntimeEnvName,
    SecretKey,
    Sink,
    SpecError,
    Uri,
)


class Resources(StrictModel):
    cpu: CpuQuantity = Field("500m", description="CPU request: a number of CPUs or millicores (500m).")
    memory: MemoryQuantity = Field("512Mi", description="Memory request and limit, at least 6Mi (512Mi, 2Gi).")


class Autoscale(StrictModel):
    min: int = Field(1, ge=1, le=MAX_REPLICAS)
    max: int = Field(ge=1, le=MAX_REPLICAS)
    target_utilization: int = Field(70, ge=1, le=100, description="Target CPU utilisation, percent.")

    @model_validator(mode="after")
    def _range(self) -> "Autoscale":
        if self.max < self.min:
            raise ValueError(f"autoscale max ({self.max}) is below min ({self.min})")
        return self


class Auth(StrictModel):
    mode: Literal["key", "token", "mtls", "none"] = "key"
    secret_ref: Name | None = Field(None, description="Name of the secret holding keys/token secret/certificates.")


class DataCollection(StrictModel):
    enabled: bool = False
    sampling: float = Field(1.0, ge=0.0, le=1.0)
    sink: Sink = Field(
        default_collection_sink(), description="file:///ABSOLUTE/FOLDER in the container, or an http(s):// URL."
    )
    redact: list[str] = Field(default_factory=list, description="Input fields replaced by '[redacted]'.")


class Probe(StrictModel):
    initial_delay_seconds: int = Field(0, ge=0)
    period_seconds: int = Field(10, ge=1)
    timeout_seconds: int = Field(2, ge=1)
    failure_threshold: int = Field(3, ge=1)


class Probes(StrictModel):
    readiness: Probe = Field(default_factory=Probe)
    liveness: Probe = Field(default_factory=lambda: Probe(period_seconds=20))


class SecretEnv(StrictModel):
    secret_ref: Name
    key: SecretKey = Field(description="The name of a key inside the secret (never a path).")


class Lifecycle(StrictModel):
    prevent_destroy: bool = False


class EdgeModule(StrictModel):
    image: ImageReference
    create_options: dict = Field(default_factory=dict)
    env: dict[RuntimeEnvName, EnvValue] = Field(default_factory=dict, description="MODELCTL_* names are reserved.")
    restart_policy: Literal["always", "on-failure", "on-unhealthy", "never"] = "always"


class EdgeSettings(StrictModel):
    target_condition: str = Field(min_length=1, description="IoT Edge target condition, e.g. tags.site='factory-1'.")
    priority: int = Field(0, ge=0)
    layered: bool = False
    modules: dict[Name, EdgeModule] = Field(default_factory=dict, description="Extra modules beside the scorer.")
    routes: dict[str, str] = Field(default_factory=dict, description="Extra $edgeHub routes.")


class FpgaDevice(StrictModel):
    family: Identifier
    part: Identifier


class Bitstream(StrictModel):
    uri: Uri
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    architecture: Identifier = Field(description="Accelerator architecture the bitstream implements.")


class FpgaSettings(StrictModel):
    device: FpgaDevice
    bitstream: Bitstream
    batch_size: int = Field(1, ge=1, le=4096)
    precision: Literal["int8", "int16", "fp16", "bf16", "fp32"] = "int8"


class Batching(StrictModel):
    """Adaptive micro-batching: concurrent requests to one model are predicted in one call (each
    request still gets exactly its own rows, errors and collection record)."""

    max_batch_size: int = Field(
        32, ge=2, le=4096, description="Rows per batched predict call; larger requests are predicted alone."
    )
    max_latency_ms: int = Field(
        2, ge=0, le=1000, description="How long the first request of a batch waits for others, in milliseconds."
    )


class RuntimeTuning(StrictModel):
    """Tuning of the scoring server (the runtime's settings that no other field governs). Unset: the
    runtime's default. User env may not set MODELCTL_* variables; these fields are the way."""

    workers: int | None = Field(None, ge=1, le=64, description="Server worker processes (default: usable CPUs).")
    max_body_bytes: int | None = Field(
        None, ge=1024, le=1 << 30, description="Larger request bodies get 413 (default 4 MiB)."
    )
    inline_max_rows: int | None = Field(
        None,
        ge=0,
        le=1_000_000,
        description="Built-in models predict on the event loop up to this many rows (default 64).",
    )
    access_log: bool | None = Field(None, description="Per-request JSON log lines (default true).")
    memory_budget_bytes: int | None = Field(
        None,
        ge=1 << 20,
        le=1 << 40,
        description="Memory each worker may spend on requests in flight (default: derived from the container's "
        "memory limit); a request that does not fit now gets 503 with Retry-After.",
    )
    batching: Batching | None = Field(
        None,
        description="Adaptive micro-batching (default off). Custom scoring scripts take part only when they "
        "declare BATCHABLE = True.",
    )


class DeploymentSpec(StrictModel):
    image: Name
    target: Name = Field(description="A target named in the Workspace.")
    replicas: int = Field(1, ge=0, le=MAX_REPLICAS)
    resources: Resources = Field(default_factory=Resources)
    autoscale: Autoscale | None = None
    auth: Auth = Field(default_factory=Auth)
    data_collection: DataCollection = Field(default_factory=DataCollection)
    probes: Probes = Field(default_factory=Probes)
    request_timeout_seconds: int = Field(30, ge=1, le=3600)
    runtime: RuntimeTuning | None = None
    env: dict[RuntimeEnvName, EnvValue] = Field(
        default_factory=dict,
        description="Plain settings; secrets go in secretEnv. Names starting with MODELCTL_ "
        "are the runtime's own and refused.",
    )
    secret_env: dict[RuntimeEnvName, SecretEnv] = Field(
        default_factory=dict, description="Variables read from secrets, by reference."
    )
    lifecycle: Lifecycle = Field(default_factory=Lifecycle)
    edge: EdgeSettings | None = None
    fpga: FpgaSettings | None = None

    @field_validator("secret_env")
    @classmethod
    def _env_once(cls, secret_env: dict, info: ValidationInfo) -> dict:
        both = sorted(set(info.data.get("env") or {}) & set(secret_env))
        if both:
            raise SpecError(
                f"variable '{both[0]}' is set in both env and secretEnv",
                expected="each variable in one of env or secretEnv",
                suggestion=f"remove '{both[0]}' from env (a secret belongs in secretEnv)",
            )
        return secret_env


class DockerDeploymentSpec(DeploymentSpec):
    edge: None = None
    fpga: None = None


class KubernetesDeploymentSpec(DeploymentSpec):
    edge: None = None
    fpga: None = None


class EdgeDeploymentSpec(DeploymentSpec):
    edge: EdgeSettings
    fpga: None = None


class FpgaDeploymentSpec(DeploymentSpec):
    edge: None = None
    fpga: FpgaSettings


# target type → the spec section only deployments on it have (and must have)
TARGET_SECTIONS: dict[str, str] = {"edge": "edge", "fpga": "fpga"}

DEPLOYMENT_SPEC_BY_TARGET: dict[str, type[DeploymentSpec]] = {
    "docker": DockerDeploymentSpec,
    "kubernetes": KubernetesDeploymentSpec,
    "edge": EdgeDeploymentSpec,
    "fpga": FpgaDeploymentSpec,
}
