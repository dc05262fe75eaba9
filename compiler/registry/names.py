"""Validation of names and refs; runs before anything touches the disk or the database."""

from __future__ import annotations

import re

from .errors import InvalidArgument, InvalidName

NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$")
TAG_KEY_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._/-]{0,126}[A-Za-z0-9])?$")
MAX_TAG_VALUE = 512
RESERVED_ALIASES = {"latest"}
FRAMEWORKS = ("sklearn", "onnx", "mlflow", "custom")


def check_name(name: str, what: str = "name") -> str:
    """Model, image and alias names: lowercase letters, digits, '.', '_', '-'; no path characters."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name) or ".." in name:
        raise InvalidName(
            f"invalid {what} {name!r}: use 1-64 lowercase letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit"
        )
    return name


def check_alias(alias: str) -> str:
    alias = alias.removeprefix("tag:")
    check_name(alias, "alias")
    if alias in RESERVED_ALIASES or alias.isdigit():
        raise InvalidName(f"alias {alias!r} is reserved (numbers and 'latest' are version refs)")
    return alias


def check_tags(tags: dict[str, str] | None) -> dict[str, str]:
    clean: dict[str, str] = {}
    for key, value in (tags or {}).items():
        if not isinstance(key, str) or not TAG_KEY_RE.fullmatch(key):
            raise InvalidName(f"invalid tag key {key!r}: letters, digits, '.', '_', '/', '-' (max 128)")
        if not isinstance(value, str | int | float | bool):
            raise InvalidArgument(f"tag {key!r}: value must be a string, got {type(value).__name__}")
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if len(text) > MAX_TAG_VALUE:
            raise InvalidArgument(f"tag {key!r}: value longer than {MAX_TAG_VALUE} characters")
        clean[key] = text
    return clean


def check_framework(framework: str) -> str:
    if framework not in FRAMEWORKS:
        raise InvalidArgument(f"unknown framework {framework!r}; expected one of: {', '.join(FRAMEWORKS)}")
    return framework


def parse_ref(ref: int | str) -> tuple[str, int | str]:
    """A version ref → ("version", 3) | ("latest", "latest") | ("alias", "stable")."""
    if isinstance(ref, bool):
        raise InvalidArgument(f"invalid version ref {ref!r}")
    if isinstance(ref, int):
        if ref < 1:
            raise InvalidArgument(f"invalid version {ref}: versions start at 1")
        return "version", ref
    text = str(ref).strip().removeprefix("@")
    if text.isdigit():
        return parse_ref(int(text))
    if text == "latest":
        return "latest", "latest"
    return "alias", check_alias(text)
