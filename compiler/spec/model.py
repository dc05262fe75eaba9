"""Model: a trained artifact, registered by name and version."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .common import StrictModel
from .grammar import Identifier, RepoPath, Uri

DType = Literal[
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
    "string",
]


class TensorSpec(StrictModel):
    name: str = Field(min_length=1)
    dtype: DType
    shape: list[int] = Field(default_factory=lambda: [-1], description="-1 marks a variable dimension.")

    @model_validator(mode="after")
    def _dims(self) -> "TensorSpec":
        if any(d < -1 or d == 0 for d in self.shape):
            raise ValueError("shape dimensions must be positive, or -1 for a variable dimension")
        return self


class Signature(StrictModel):
    inputs: list[TensorSpec] = Field(min_length=1)
    outputs: list[TensorSpec] = Field(default_factory=list)


class Accelerator(StrictModel):
    architecture: Identifier = Field(
        description="Accelerator architecture the compiled model targets, e.g. 'dpu-b4096'."
    )
    path: RepoPath = Field(description="Compiled model artifact, inside the repo.")


class ModelSpec(StrictModel):
    framework: Literal["sklearn", "onnx", "mlflow", "custom"]
    path: RepoPath | None = Field(None, description="File or folder inside the repo.")
    uri: Uri | None = Field(None, description="Remote artifact: oci://, https:// or s3://.")
    sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$", description="Expected digest of a remote artifact.")
    signature: Signature | None = None
    accelerator: Accelerator | None = Field(None, description="A compiled form for FPGA targets.")

    @model_validator(mode="after")
    def _one_source(self) -> "ModelSpec":
        if (self.path is None) == (self.uri is None):
            raise ValueError("set exactly one of 'path' (a file in the repo) or 'uri' (a remote artifact)")
        return self
