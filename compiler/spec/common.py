"""Shared pieces of every resource kind: strict base model, names, metadata, references."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

from .grammar import DNS_LABEL_PATTERN, LabelKey, LabelValue

API_VERSION = "modelctl.io/v1"

NAME_PATTERN = DNS_LABEL_PATTERN
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
"""A DNS-1123 label: lower-case letters, digits and '-', at most 63 characters."""

TagValue = Annotated[str, StringConstraints(max_length=253)]


class StrictModel(BaseModel):
    """Unknown fields are errors; YAML uses camelCase, Python snake_case."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        strict=True,
        use_enum_values=True,
    )


class Metadata(StrictModel):
    name: Name = Field(description="Resource name: lower-case letters, digits and '-'.")
    tags: dict[str, TagValue] = Field(default_factory=dict, description="Searchable key/value tags.")
    labels: dict[LabelKey, LabelValue] = Field(
        default_factory=dict, description="Labels copied onto rendered objects (Kubernetes label syntax)."
    )
    description: str | None = None


class Tls(StrictModel):
    """HTTPS with the user's certificate, by reference: a secret holding tls.crt, tls.key and, for auth
    mode mtls, ca.crt (the CA client certificates must chain to)."""

    secret_ref: Name = Field(description="Name of the secret holding tls.crt, tls.key and optionally ca.crt.")


# "name", "name@3", "name@latest", "name@tag:stable"
MODEL_REF_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(@(latest|[1-9][0-9]*|tag:[A-Za-z0-9._-]+))?$"
_MODEL_REF = re.compile(MODEL_REF_PATTERN)


def split_model_ref(ref: str) -> tuple[str, str]:
    """'iris@3' -> ('iris', '3'); 'iris' -> ('iris', 'latest')."""
    name, _, selector = ref.partition("@")
    return name, selector or "latest"


def is_model_ref(ref: str) -> bool:
    return isinstance(ref, str) and bool(_MODEL_REF.fullmatch(ref))
