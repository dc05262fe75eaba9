"""A small, fast YAML emitter for manifest-shaped data: dicts, lists, str, int, float, bool, None.

PyYAML's representer (Python even with the libyaml emitter) costs ~1 ms per Kubernetes object;
this writes the same block style directly. Strings are written plain only when they cannot be
read back as anything else (YAML 1.1 and 1.2); every other string is a JSON-quoted scalar,
which is valid YAML. tests/render/test_render_fastyaml.py checks round trips through PyYAML.

Speed (render writes ~1.4 M lines for 5,000 deployments): the written form of each string and
key is remembered (manifests repeat the same few hundred), exact types are dispatched with `is`
before the general isinstance path, and a dict met again in the same `dump_all` call (the labels
a Deployment shares between its objects) is written once and its lines reused.
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
_MEMO_LIMIT = 200_000  # entries per table before it starts afresh (bounded memory in long-lived processes)
_strings: dict[str, str] = {}  # str value -> its written form
_keys: dict[str, str] = {}  # mapping key -> its written form


def _quoted(text: str) -> str:
    """JSON string syntax is YAML double-quoted syntax, once the characters above are escaped."""
    return _ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(text, ensure_ascii=False))


def _string(value: str) -> str:
    written = _strings.get(value)
    if written is None:
        plain = _PLAIN.fullmatch(value) and value.lower() not in _RESERVED
        written = value if plain else _quoted(value)
        if len(_strings) >= _MEMO_LIMIT:
            _strings.clear()
        _strings[value] = written
    return written


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
        return _string(str(value))
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _key(key) -> str:
    written = _keys.get(key) if type(key) is str else None
    if written is None:
        if not isinstance(key, str):
            raise TypeError("mapping keys must be strings")
        key = str(key)
        written = key if _KEY_PLAIN.fullmatch(key) and key.lower() not in _RESERVED else _quoted(key)
        if len(_keys) >= _MEMO_LIMIT:
            _keys.clear()
        _keys[key] = written
    return written


def _flow_empty(value) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return scalar(value)


class _Writer:
    """Lines of one `dump`/`dump_all` call; `seen` maps (id(dict), indent) to the dict and its lines.

    Holding the dict itself keeps it alive for the whole call, so its id cannot be reused by another.
    """

    __slots__ = ("out", "seen")

    def __init__(self) -> None:
        self.out: list[str] = []
        self.seen: dict[tuple[int, str], tuple[dict, list[str]]] = {}

    def mapping(self, value: dict, indent: str) -> None:
        """Lines for a non-empty dict at `indent`."""
        out = self.out
        memo = (id(value), indent)
        hit = self.seen.get(memo)
        if hit is not None:
            out.extend(hit[1])
            return
        start = len(out)
        strings = _strings
        for key in sorted(value):
            item = value[key]
            kind = type(item)
            if kind is str:
                written = strings.get(item)
                out.append(f"{indent}{_key(key)}: {written if written is not None else _string(item)}")
            elif kind is dict or kind is list or isinstance(item, (dict, list)):
                if not item:
                    out.append(f"{indent}{_key(key)}: {'{}' if isinstance(item, dict) else '[]'}")
                elif isinstance(item, dict):
                    out.append(f"{indent}{_key(key)}:")
                    self.mapping(item, indent + "  ")
                else:
                    out.append(f"{indent}{_key(key)}:")
                    self.sequence(item, indent)
            else:
                out.append(f"{indent}{_key(key)}: {scalar(item)}")
        self.seen[memo] = (value, out[start:])

    def sequence(self, value: list, indent: str) -> None:
        """Lines for a non-empty list at `indent` (items as '- ', at the parent key's indent)."""
        out = self.out
        inner = indent + "  "
        for item in value:
            kind = type(item)
            if kind is str:
                out.append(f"{indent}- {_string(item)}")
            elif (kind is dict or kind is list or isinstance(item, (dict, list))) and item:
                first = len(out)
                if isinstance(item, dict):
                    self.mapping(item, inner)
                else:
                    self.sequence(item, inner)
                out[first] = f"{indent}- {out[first][len(inner) :]}"
            else:
                out.append(f"{indent}- {_flow_empty(item)}")

    def document(self, value) -> None:
        if isinstance(value, dict) and value:
            self.mapping(value, "")
        elif isinstance(value, list) and value:
            self.sequence(value, "")
        else:
            self.out.append(_flow_empty(value))


def dump(value: dict) -> str:
    """One block-style document, keys sorted, ending in a newline."""
    writer = _Writer()
    writer.document(value)
    return "\n".join(writer.out) + "\n"


def dump_all(documents) -> str:
    writer = _Writer()
    for doc in documents:
        writer.out.append("---")
        writer.document(doc)
    return "\n".join(writer.out) + "\n" if writer.out else ""
