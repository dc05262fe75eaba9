"""Turn pydantic validation errors into located, human diagnostics."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ValidationError

from ..diagnostics import Diagnostic, did_you_mean
from ..spec.common import MODEL_REF_PATTERN, NAME_PATTERN
from ..spec.workspace import PUBLISH_PATTERN
from .yaml_source import RawDocument

PATTERN_MEANING = {
    NAME_PATTERN: "a name of lower-case letters, digits and '-', at most 63 characters, "
                  "starting and ending with a letter or digit",
    MODEL_REF_PATTERN: "a model reference: name, name@3, name@latest or name@tag:stable",
    PUBLISH_PATTERN: "file://FOLDER inside the repo (relative, no '..') or oci://HOST[:PORT]/REPOSITORY",
}
TYPE_WORDS = {
    "int": "an integer", "float": "a number", "string": "a string", "bool": "true or false",
    "dict": "a mapping", "list": "a list", "model": "a mapping", "model_attributes": "a mapping",
}


def describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    kind = {int: "integer", float: "number", str: "string"}.get(type(value), type(value).__name__)
    return f"{kind} {value!r}"


def data_path(data: Any, loc: tuple) -> tuple:
    """Drop the union tags pydantic inserts into `loc` so the path matches the user's data."""
    path: list = []
    node = data
    for i, step in enumerate(loc):
        if isinstance(node, dict) and step in node:
            node = node[step]
            path.append(step)
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
            path.append(step)
        elif isinstance(node, (dict, list)) and i < len(loc) - 1:
            continue  # a union tag or a validator name: not part of the user's data
        else:
            path.append(step)
            break
    return tuple(path)


def fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """The YAML keys allowed in the mapping at `loc` (for 'did you mean' on unknown fields)."""
    candidates: list[Any] = [model]
    for step in loc:
        nxt: list[Any] = []
        for cls in candidates:
            nxt.extend(_child_types(cls, step))
        candidates = nxt
    keys: set[str] = set()
    for cls in candidates:
        if isinstance(cls, type) and issubclass(cls, BaseModel):
            keys.update(f.alias or name for name, f in cls.model_fields.items())
    return sorted(keys)


def _child_types(tp: Any, step: Any) -> list[Any]:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, f in tp.model_fields.items():
            if step in (name, f.alias):
                return _unwrap(f.annotation)
        return []
    origin = getattr(tp, "__origin__", None)
    args = getattr(tp, "__args__", ())
    if origin in (dict,) and len(args) == 2:
        return _unwrap(args[1])
    if origin in (list, tuple) and args:
        return _unwrap(args[0])
    return []


def _unwrap(tp: Any) -> list[Any]:
    args = getattr(tp, "__args__", None)
    origin = getattr(tp, "__origin__", None)
    if origin is not None and origin not in (dict, list, tuple) and args:  # Union / Annotated
        out: list[Any] = []
        for a in args:
            out.extend(_unwrap(a))
        return out
    if hasattr(tp, "__metadata__"):
        return _unwrap(tp.__origin__)
    return [tp]


def _quoted_choices(text: str) -> list[str]:
    return re.findall(r"'([^']*)'", text or "")


def convert(err: ValidationError, raw: RawDocument, model: type[BaseModel]) -> list[Diagnostic]:
    out = [_one(e, raw, model) for e in err.errors(include_url=False)]
    # A misspelt required key shows once, as "unknown field 'x' (did you mean 'y'?)", not also as "missing 'y'".
    misspelt = {(d.path.rsplit(".", 1)[0] if "." in d.path else "", d.suggestion) for d in out
                if d.code == "extra_forbidden" and d.suggestion}
    return [d for d in out if not (d.code == "missing" and
                                   (d.path.rsplit(".", 1)[0] if "." in d.path else "",
                                    f"did you mean '{d.path.rsplit('.', 1)[-1]}'?") in misspelt)]


def _one(e: dict, raw: RawDocument, model: type[BaseModel]) -> Diagnostic:
    loc = data_path(raw.data, tuple(e["loc"]))
    path = ".".join(str(p) for p in loc)
    kind = e["type"]
    value = e.get("input")
    ctx = e.get("ctx") or {}
    last = loc[-1] if loc else ""
    expected = suggestion = None
    location = raw.locate(loc)
    if kind == "extra_forbidden":
        allowed = fields_at(model, loc[:-1])
        message = f"unknown field '{last}'"
        expected = "one of: " + ", ".join(allowed) if allowed else None
        suggestion = did_you_mean(str(last), allowed) or "remove it"
        location = raw.locate(loc, key=True)
    elif kind == "missing":
        message = f"missing required field '{last}'"
        expected = f"a '{last}' field"
        suggestion = f"add '{last}:'"
    elif kind == "literal_error":
        choices = _quoted_choices(ctx.get("expected", ""))
        message = f"invalid value {describe(value)} for '{last}'"
        expected = "one of: " + ", ".join(choices)
        suggestion = did_you_mean(str(value), choices) if isinstance(value, str) else None
    elif kind == "union_tag_invalid":
        choices = _quoted_choices(ctx.get("expected_tags", ""))
        field = ctx.get("discriminator", "'type'").strip("'")
        message = f"invalid {field} '{ctx.get('tag')}'"
        expected = "one of: " + ", ".join(choices)
        suggestion = did_you_mean(str(ctx.get("tag")), choices)
        location = raw.locate(loc + (field,))
        path = f"{path}.{field}" if path else field
    elif kind == "union_tag_not_found":
        field = ctx.get("discriminator", "'type'").strip("'")
        message = f"missing required field '{field}'"
        expected = f"a '{field}' field"
        suggestion = f"add '{field}:'"
    elif kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern", "")
        message = f"invalid value {describe(value)} for '{last}'"
        expected = PATTERN_MEANING.get(pattern, f"a string matching {pattern}")
        if pattern == NAME_PATTERN and isinstance(value, str):
            fixed = re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-")[:63]
            suggestion = f"use '{fixed}'" if fixed and fixed != value else None
    elif kind == "value_error":
        message = str(e["msg"]).removeprefix("Value error, ")
    elif kind.endswith("_type") or kind.endswith("_parsing"):
        word = kind.rsplit("_", 1)[0]
        want = TYPE_WORDS.get(word, word)
        message = f"wrong type for '{last}': expected {want}, got {describe(value)}"
        expected = want
        if isinstance(value, str) and word in ("int", "float", "bool"):
            suggestion = "remove the quotes around the value"
    else:
        message = f"invalid value {describe(value)} for '{last}': {e['msg'][0].lower()}{e['msg'][1:]}"
    return Diagnostic(message, location, path=path, expected=expected, suggestion=suggestion, code=kind)
