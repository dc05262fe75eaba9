"""A small, fast YAML emitter for manifest-shaped data: dicts, lists, str, int, float, bool, None.

PyYAML's representer (Python even with the libyaml emitter) costs ~1 ms per Kubernetes object;
this writes the same block style directly. Strings are written plain only when they cannot be
read back as anything else (YAML 1.1 and 1.2); every other string is a JSON-quoted scalar,
which is valid YAML. tests/render/test_render_fastyaml.py checks round trips through PyYAML.
"""

from __future__ import annotations

import json
import math
import re

_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./-]*")  # used with fullmatch: "$" would accept a trailing newline
_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"}
_KEY_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*")
# Not printable in YAML, or a YAML line break that JSON leaves raw: written as \\uXXXX escapes.
_ESCAPE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")


def _quoted(text: str) -> str:
    """JSON string syntax is YAML double-quoted syntax, once the characters above are escaped."""
    return _ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(text, ensure_ascii=False))


def scalar(value) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError("NaN and infinity have no portable YAML form")
        text = repr(value)  # YAML 1.1 floats need a '.' in the mantissa: 1e+16 -> 1.0e+16
        return text if "." in text or "e" not in text else text.replace("e", ".0e", 1)
    if isinstance(value, str):
        if _PLAIN.fullmatch(value) and value.lower() not in _RESERVED:
            return value
        return _quoted(value)
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _key(key) -> str:
    if not isinstance(key, str):
        raise TypeError("mapping keys must be strings")
    return key if _KEY_PLAIN.fullmatch(key) and key.lower() not in _RESERVED else _quoted(key)


def _emit(value, indent: str, out: list[str]) -> None:
    """Append lines for a non-empty dict or list at `indent`."""
    if isinstance(value, dict):
        for key in sorted(value):
            item = value[key]
            if isinstance(item, (dict, list)) and item:
                out.append(f"{indent}{_key(key)}:")
                _emit(item, indent + "  " if isinstance(item, dict) else indent, out)
            else:
                out.append(f"{indent}{_key(key)}: {_flow_empty(item)}")
        return
    for item in value:
        if isinstance(item, (dict, list)) and item:
            sub: list[str] = []
            _emit(item, indent + "  ", sub)
            out.append(f"{indent}- {sub[0][len(indent) + 2 :]}")
            out.extend(sub[1:])
        else:
            out.append(f"{indent}- {_flow_empty(item)}")


def _flow_empty(value) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return scalar(value)


def dump(value: dict) -> str:
    """One block-style document, keys sorted, ending in a newline."""
    out: list[str] = []
    if isinstance(value, (dict, list)) and value:
        _emit(value, "", out)
    else:
        out.append(_flow_empty(value))
    return "\n".join(out) + "\n"


def dump_all(documents) -> str:
    return "".join("---\n" + dump(doc) for doc in documents)
