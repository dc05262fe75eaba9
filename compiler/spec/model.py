"""Model: a trained artifact, registered by name and version."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

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
    features: list[str] | None = Field(
        None,
        description="Names of the columns along the last dimension (e.g. the training data's column names): "
        "collected data and `modelctl monitor` name the features by them instead of `input[i]`.",
    )

    @model_validator(mode="after")
    def _dims(self) -> "TensorSpec":
        if any(d < -1 or d == 0 for d in self.shape):
            raise ValueError("shape dimensions must be positive, or -1 for a variable dimension")
        return self

    @field_validator("features")
    @classmethod
    def _features(cls, features: list[str] | None, info: ValidationInfo) -> list[str] | None:
        """Checked at the field, so an error points at `features` (file:line:col), not at the input."""
        shape = info.data.get("shape")
        if features is not None and shape is not None:
            _check_features(shape, features)
        return features


def _check_features(shape: list[int], features: list[str]) -> None:
    if len(shape) < 2:
        raise ValueError(
            f"features names the columns of a [rows, columns] input; shape {shape} has no columns "
            "(use a shape such as [-1, " + str(len(features)) + "])"
        )
    if shape[-1] not in (-1, len(features)):
        raise ValueError(
            f"features has {len(features)} names but the last dimension of shape {shape} is "
            f"{shape[-1]}: name every column once"
        )
    if any(not f for f in features):
        raise ValueError("a feature name cannot be empty")
    twice = sorted({f for f in features if features.count(f) > 1})
    if twice:
        raise ValueError(f"{', '.join(repr(f) for f in twice)} named twice; names must be unique")


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
