"""Turn pydantic validation errors into located, human diagnostics."""

from __future__ import annotations

import re
import types
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from ..diagnostics import Diagnostic, did_you_mean
from ..spec import grammar
from ..spec.common import MODEL_REF_PATTERN, NAME_PATTERN
from ..spec.workspace import PUBLISH_PATTERN
from .yaml_source import RawDocument

PATTERN_MEANING = {
    NAME_PATTERN: "a name of lower-case letters, digits and '-', at most 63 characters, "
    "starting and ending with a letter or digit",
    MODEL_REF_PATTERN: "a model reference: name, name@3, name@latest or name@tag:stable",
    PUBLISH_PATTERN: "file://FOLDER inside the repo (relative, no '..') or oci://HOST[:PORT]/REPOSITORY",
    **grammar.PATTERN_MEANING,
}
TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "string": "a string",
    "bool": "true or false",
    "dict": "a mapping",
    "list": "a list",
    "model": "a mapping",
    "model_attributes": "a mapping",
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
    args: tuple[Any, ...] = getattr(tp, "__args__", ())
    if origin in (dict,) and len(args) == 2:
        return _unwrap(args[1])
    if origin in (list, tuple) and args:
        return _unwrap(args[0])
    return []


def _unwrap(tp: Any) -> list[Any]:
    if isinstance(tp, types.UnionType):  # `X | None` (not a typing.Union, so without __origin__)
        return [t for a in tp.__args__ for t in _unwrap(a)]
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


def printable(text: str) -> str:
    """A user string safe to print in a terminal or a CI log: control characters escaped."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def field_path(loc: tuple) -> str:
    """spec.env.NAME — with any control character of a user key escaped (it is printed)."""
    return ".".join(printable(str(p)) for p in loc)


def _field_label(loc: tuple) -> str:
    """The field a message names: 'replicas', or 'apt[2]' for a list entry."""
    if not loc:
        return ""
    if isinstance(loc[-1], int) and len(loc) > 1:
        return f"{printable(str(loc[-2]))}[{loc[-1]}]"
    return printable(str(loc[-1]))


def convert(err: ValidationError, raw: RawDocument, model: type[BaseModel]) -> list[Diagnostic]:
    out = [_one(e, raw, model) for e in err.errors(include_url=False)]
    # A misspelt required key shows once, as "unknown field 'x' (did you mean 'y'?)", not also as "missing 'y'".
    misspelt = {
        (d.path.rsplit(".", 1)[0] if "." in d.path else "", d.suggestion)
        for d in out
        if d.code == "extra_forbidden" and d.suggestion
    }
    return [
        d
        for d in out
        if not (
            d.code == "missing"
            and (d.path.rsplit(".", 1)[0] if "." in d.path else "", f"did you mean '{d.path.rsplit('.', 1)[-1]}'?")
            in misspelt
        )
    ]


def _one(e: ErrorDetails, raw: RawDocument, model: type[BaseModel]) -> Diagnostic:
    at_key = bool(e["loc"]) and e["loc"][-1] == "[key]"  # a mapping's key (e.g. an env name) is wrong
    loc = data_path(raw.data, tuple(e["loc"][:-1] if at_key else e["loc"]))
    path = field_path(loc)
    kind = e["type"]
    value = e.get("input")
    ctx = e.get("ctx") or {}
    last = _field_label(loc)
    expected = suggestion = None
    location = raw.locate(loc, key=at_key)
    if at_key and kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern", "")
        message = f"invalid key {describe(value)} in '{_field_label(loc[:-1])}'"
        expected = PATTERN_MEANING.get(pattern, f"a string matching {pattern}")
        suggestion = _pattern_hint(pattern, value)
    elif kind == "extra_forbidden":
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
        suggestion = _pattern_hint(pattern, value)
    elif kind == "value_error":
        message = str(e["msg"]).removeprefix("Value error, ")
        error = ctx.get("error")
        if isinstance(error, grammar.SpecError):  # a grammar check: what it wanted and how to fix it
            expected, suggestion = error.expected, error.suggestion
    elif kind in _BOUNDS and isinstance(value, (int, float)) and not isinstance(value, bool):
        word, key = _BOUNDS[kind]
        limit = ctx.get(key)
        message = f"invalid value {describe(value)} for '{last}': {e['msg'][0].lower()}{e['msg'][1:]}"
        expected = _range_text(model, loc) or f"a number {word} {limit}"
        suggestion = f"use a value {word} {limit}"
    elif kind == "string_too_long":
        message = f"value of '{last}' is too long ({len(value) if isinstance(value, str) else '?'} characters)"
        expected = f"at most {ctx.get('max_length')} characters"
        suggestion = "shorten it"
    elif kind.endswith("_type") or kind.endswith("_parsing"):
        word = kind.rsplit("_", 1)[0]
        want = TYPE_WORDS.get(word, word)
        message = f"wrong type for '{last}': expected {want}, got {describe(value)}"
        expected = want
        if isinstance(value, str) and word in ("int", "float", "bool"):
            suggestion = "remove the quotes around the value"
        elif word == "string" and isinstance(value, (int, float, bool)):
            suggestion = "put the value in quotes"
    else:
        message = f"invalid value {describe(value)} for '{last}': {e['msg'][0].lower()}{e['msg'][1:]}"
    return Diagnostic(message, location, path=path, expected=expected, suggestion=suggestion, code=kind)


def _pattern_hint(pattern: str, value: Any) -> str | None:
    """A hint for a value that does not match `pattern`. A hint that proposes a value ("use 'x'")
    is given only when that value is valid and differs from what was written: never the invalid
    value itself, never another invalid one."""
    if pattern == NAME_PATTERN and isinstance(value, str):
        fixed = re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-")[:63].strip("-")
        hint: str | None = f"use '{fixed}'" if fixed else None
    else:
        make = grammar.PATTERN_HINT.get(pattern)
        hint = make(value) if make else None
    proposed = re.fullmatch(r"(?:.*: )?use '(.*)'", hint or "", re.DOTALL)
    if proposed and (proposed.group(1) == value or not grammar.matches(pattern, proposed.group(1))):
        return None
    return hint


_BOUNDS = {
    "less_than_equal": ("at most", "le"),
    "less_than": ("below", "lt"),
    "greater_than_equal": ("at least", "ge"),
    "greater_than": ("above", "gt"),
}


def _range_text(model: type[BaseModel], loc: tuple) -> str | None:
    """'an integer from 0 to 1000' for a field with both bounds (from its pydantic metadata)."""
    if not loc or not isinstance(loc[-1], str):
        return None
    for cls in _parents(model, loc[:-1]):
        for name, f in cls.model_fields.items():
            if loc[-1] in (name, f.alias):
                low = next((getattr(m, "ge", None) for m in f.metadata if getattr(m, "ge", None) is not None), None)
                high = next((getattr(m, "le", None) for m in f.metadata if getattr(m, "le", None) is not None), None)
                if low is not None and high is not None:
                    return f"{'an integer' if f.annotation is int else 'a number'} from {low} to {high}"
    return None


def _parents(model: type[BaseModel], loc: tuple) -> list[type[BaseModel]]:
    candidates: list[Any] = [model]
    for step in loc:
        candidates = [t for cls in candidates for t in _child_types(cls, step)]
    return [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
