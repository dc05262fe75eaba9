"""Deployment: an image running as a web service on one target.

The user writes one `Deployment` kind; which sections are allowed depends on the type of the
target it names (edge needs `edge`, fpga needs `fpga`). The loader validates against
`DeploymentSpec` (every section optional); the graph re-validates with the class for the
target's type from `DEPLOYMENT_SPEC_BY_TARGET`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from ..names import default_collection_sink
from .common import Name, StrictModel

Quantity = Annotated[str, StringConstraints(pattern=r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$")]


class Resources(StrictModel):
    cpu: Quantity = "500m"
    memory: Quantity = "512Mi"


class Autoscale(StrictModel):
    min: int = Field(1, ge=1)
    max: int = Field(ge=1)
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
    sink: str = default_collection_sink()
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
    key: str = Field(min_length=1)


class Lifecycle(StrictModel):
    prevent_destroy: bool = False


class EdgeModule(StrictModel):
    image: str
    create_options: dict = Field(default_factory=dict)
    env: dict[str, str] = Field(default_factory=dict)
    restart_policy: Literal["always", "on-failure", "on-unhealthy", "never"] = "always"


class EdgeSettings(StrictModel):
    target_condition: str = Field(min_length=1, description="IoT Edge target condition, e.g. tags.site='factory-1'.")
    priority: int = Field(0, ge=0)
    layered: bool = False
    modules: dict[Name, EdgeModule] = Field(default_factory=dict, description="Extra modules beside the scorer.")
    routes: dict[str, str] = Field(default_factory=dict, description="Extra $edgeHub routes.")


class FpgaDevice(StrictModel):
    family: str = Field(min_length=1)
    part: str = Field(min_length=1)


class Bitstream(StrictModel):
    uri: str = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    architecture: str = Field(min_length=1, description="Accelerator architecture the bitstream implements.")


class FpgaSettings(StrictModel):
    device: FpgaDevice
    bitstream: Bitstream
    batch_size: int = Field(1, ge=1, le=4096)
    precision: Literal["int8", "int16", "fp16", "bf16", "fp32"] = "int8"


class DeploymentSpec(StrictModel):
    image: Name
    target: str = Field(min_length=1, description="A target named in the Workspace.")
    replicas: int = Field(1, ge=0)
    resources: Resources = Field(default_factory=Resources)
    autoscale: Autoscale | None = None
    auth: Auth = Field(default_factory=Auth)
    data_collection: DataCollection = Field(default_factory=DataCollection)
    probes: Probes = Field(default_factory=Probes)
    request_timeout_seconds: int = Field(30, ge=1, le=3600)
    env: dict[str, str] = Field(default_factory=dict, description="Plain settings; secrets go in secretEnv.")
    secret_env: dict[str, SecretEnv] = Field(default_factory=dict, description="Variables read from secrets, by reference.")
    lifecycle: Lifecycle = Field(default_factory=Lifecycle)
    edge: EdgeSettings | None = None
    fpga: FpgaSettings | None = None


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
