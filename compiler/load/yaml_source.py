"""Read YAML files into plain data while keeping every value's file:line:col.

libyaml (through PyYAML's C composer) builds the node tree with positions; we construct plain
Python values from it ourselves, recording each field path's position, so that pydantic
validates plain data while errors point at the source. Constructing ourselves also lets us make
duplicate keys an error, refuse non-standard tags, and bound alias expansion.
(ruamel.yaml's pure-Python composer was 20-30x slower on large repos; see docs/architecture.md.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import BaseConstructor, ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import BaseResolver

try:  # libyaml's C parser; the pure-Python one is the fallback
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser, Composer):  # type: ignore[no-redef]
        def __init__(self, stream):
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)  # not _Parser: that name is this class once it is defined
            Composer.__init__(self)


from ..diagnostics import Diagnostic, Location

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_NODES_PER_DOCUMENT = 200_000  # bounds alias expansion ("billion laughs")

TAG = "tag:yaml.org,2002:"
STR_TAG = f"{TAG}str"


class _Loader(_Parser, BaseConstructor, BaseResolver):
    """Composes nodes only; every plain scalar arrives tagged str and we apply YAML 1.2's core
    schema ourselves (so `no`/`on`/dates stay strings, as in YAML 1.2 and ruamel.yaml)."""

    def __init__(self, stream):
        _Parser.__init__(self, stream)
        BaseConstructor.__init__(self)
        BaseResolver.__init__(self)

    def resolve(self, kind, value, implicit):  # noqa: ANN001, ANN201 - only untagged nodes come here
        return _DEFAULT_TAGS[kind]


_DEFAULT_TAGS = {ScalarNode: STR_TAG, SequenceNode: f"{TAG}seq", MappingNode: f"{TAG}map"}
_MAYBE_NOT_STRING = set("0123456789+-.~nNtTfF")  # first characters of null/bool/int/float spellings
_INT = re.compile(r"[-+]?[0-9]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_CONSTANTS: dict[str, object] = {
    "": None,
    "~": None,
    "null": None,
    "Null": None,
    "NULL": None,
    "true": True,
    "True": True,
    "TRUE": True,
    "false": False,
    "False": False,
    "FALSE": False,
    ".inf": float("inf"),
    "+.inf": float("inf"),
    "-.inf": float("-inf"),
    ".Inf": float("inf"),
    ".INF": float("inf"),
    "-.Inf": float("-inf"),
    "-.INF": float("-inf"),
    ".nan": float("nan"),
    ".NaN": float("nan"),
    ".NAN": float("nan"),
}


def core_schema_value(text: str) -> object:
    """A plain scalar under YAML 1.2's core schema."""
    if text and text[0] not in _MAYBE_NOT_STRING:
        return text
    if text in _CONSTANTS:
        return _CONSTANTS[text]
    if _INT.fullmatch(text):
        return int(text)
    if text[:2] in ("0x", "0o") and len(text) > 2:
        try:
            return int(text, 16 if text[1] == "x" else 8)
        except ValueError:
            return text
    if _FLOAT.fullmatch(text):
        return float(text)
    return text


EXPLICIT_TYPES: dict[str, type | tuple[type, ...]] = {
    f"{TAG}int": int,
    f"{TAG}float": (int, float),
    f"{TAG}bool": bool,
    f"{TAG}null": type(None),
}


@dataclass(frozen=True)
class RawDocument:
    """One YAML document as the user wrote it (before any schema is applied)."""

    file: str  # repo-relative posix path
    index: int  # position of the document in its file (0-based)
    data: Any  # plain dict/list/str/int/float/bool/None
    positions: dict = field(default_factory=dict, repr=False, compare=False)  # path -> (key pos, value pos)
    overlay: "RawDocument | None" = None  # a stage patch applied on top (its positions win)

    @property
    def location(self) -> Location:
        return self.locate(())

    def locate(self, path: tuple, *, key: bool = False) -> Location:
        """Best position for a field path; the key's position when `key`, else its value's.

        A mapping or list value is located at its key (where the reader's eye goes); a path that
        does not exist (a missing field) points at the nearest existing parent.
        """
        if self.overlay is not None and path and tuple(path) in self.overlay.positions:
            return self.overlay.locate(path, key=key)
        path = tuple(path)
        while path not in self.positions and path:
            path = path[:-1]
        key_pos, value_pos, is_container = self.positions.get(path, ((0, 0), (0, 0), True))
        line, col = key_pos if (key or is_container) and path else value_pos
        return Location(self.file, line + 1, col + 1)


class YamlProblem(Exception):
    def __init__(self, message: str, node: Node, suggestion: str | None = None, code: str = "yaml"):
        super().__init__(message)
        self.message, self.node, self.suggestion, self.code = message, node, suggestion, code


class _Builder:
    """Plain values from a composed node tree, recording positions per field path."""

    def __init__(self) -> None:
        self.positions: dict[tuple, tuple] = {}
        self.count = 0
        self.stack: set[int] = set()
        self.first_value: dict[tuple[int, str], Node] = {}  # (mapping id, key) -> value node, for duplicates

    def build(self, node: Node, path: tuple, key_mark=None) -> Any:
        self.count += 1
        if self.count > MAX_NODES_PER_DOCUMENT:
            raise YamlProblem(
                "document too large (aliases expand to too many values)",
                node,
                "avoid deeply nested aliases",
                code="yaml-size",
            )
        value_pos = (node.start_mark.line, node.start_mark.column)
        key_pos = (key_mark.line, key_mark.column) if key_mark is not None else value_pos
        self.positions[path] = (key_pos, value_pos, not isinstance(node, ScalarNode))
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        if id(node) in self.stack:
            raise YamlProblem("recursive alias: a value contains itself", node, code="yaml-alias")
        self.stack.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                self._tag(node, f"{TAG}seq")
                return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
            if isinstance(node, MappingNode):
                self._tag(node, f"{TAG}map")
                return self._mapping(node, path)
            raise YamlProblem(f"unsupported YAML node {type(node).__name__}", node, code="yaml-tag")  # never composed
        finally:
            self.stack.discard(id(node))

    def _tag(self, node: Node, expected: str) -> None:
        if node.tag != expected:
            raise YamlProblem(f"unsupported YAML tag {node.tag}", node, "remove the '!tag'", code="yaml-tag")

    def _scalar(self, node: ScalarNode) -> Any:
        if node.tag == STR_TAG:
            return node.value if node.style else core_schema_value(node.value)
        if node.tag in EXPLICIT_TYPES:  # !!int "3" and friends
            value = core_schema_value(node.value)
            wanted = EXPLICIT_TYPES[node.tag]
            if isinstance(value, wanted) and not (node.tag == f"{TAG}int" and isinstance(value, bool)):
                return float(value) if node.tag == f"{TAG}float" and isinstance(value, (int, float)) else value
            raise YamlProblem(f"'{node.value}' is not a valid {node.tag.removeprefix(TAG)}", node, code="yaml-value")
        raise YamlProblem(f"unsupported YAML tag or value type {node.tag}", node, "remove the '!tag'", code="yaml-tag")

    def _mapping(self, node: MappingNode, path: tuple) -> dict:
        result: dict = {}
        merged: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == STR_TAG and key_node.value == "<<" and not key_node.style:
                merged.update(self._merge_sources(value_node, path))
                continue
            if not isinstance(key_node, ScalarNode):
                raise YamlProblem(
                    "a mapping key must be a plain value, not a list or mapping", key_node, code="yaml-key"
                )
            key = self._scalar(key_node)
            key = key if isinstance(key, str) else str(key)
            if key in result:
                raise YamlProblem(
                    f'duplicate key "{_printable(key)}" with value "{_short(value_node)}" (original value: '
                    f'"{_short(self.first_value[id(node), key])}")',
                    key_node,
                    "remove one of the two entries or rename it",
                    code="yaml-duplicate-key",
                )
            self.first_value[id(node), key] = value_node
            result[key] = self.build(value_node, path + (key,), key_node.start_mark)
        for key, value in merged.items():
            result.setdefault(key, value)
        return result

    def _merge_sources(self, node: Node, path: tuple) -> dict:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        merged: dict = {}
        for source in reversed(sources):
            if not isinstance(source, MappingNode):
                raise YamlProblem("'<<' merges only mappings", source, code="yaml-merge")
            merged.update(self._mapping(source, path))
        return merged


def _short(node: Node) -> str:
    return _printable(node.value) if isinstance(node, ScalarNode) else "…"


def _printable(text: str) -> str:
    """User text inside a message: control characters escaped (messages reach terminals and CI logs)."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _yaml_error(file: str, err: yaml.MarkedYAMLError, text: str) -> Diagnostic:
    mark = err.problem_mark or err.context_mark
    loc = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
    problem = (err.problem or str(err)).strip()
    at_tab = mark is not None and 0 <= mark.index < len(text) and text[mark.index] == "\t"
    if at_tab or "'\\t'" in problem:
        message = "tab character: YAML indentation must use spaces"
        suggestion = "replace the tab with spaces"
    elif "mapping values are not allowed" in problem:
        message = "unexpected ':' — a value cannot start a new mapping on the same line"
        suggestion = "check indentation, or quote the value if it contains ': '"
    elif "could not find expected ':'" in problem:
        message = "could not find the ':' after a key"
        suggestion = "check indentation: a line is probably indented differently from its siblings"
    elif "undefined alias" in problem or "found undefined" in problem:
        message = problem
        suggestion = "define the anchor with '&name' before using '*name'"
    else:
        message = f"{problem} ({err.context.strip()})" if err.context else problem
        suggestion = "check indentation and brackets around this position"
    return Diagnostic(message, loc, suggestion=suggestion, code="yaml-syntax")


def _compose_all(text: str) -> Iterator[Node | None]:
    """yaml.compose_all with our loader (whose type PyYAML's stubs do not list)."""
    loader = _Loader(text)
    try:
        while loader.check_node():
            yield loader.get_node()
    finally:
        loader.dispose()


def parse_text(text: str, file: str) -> tuple[list[RawDocument], list[Diagnostic]]:
    """Parse every document of one file; a syntax error ends that file with one diagnostic."""
    docs: list[RawDocument] = []
    diags: list[Diagnostic] = []
    try:
        for index, node in enumerate(_compose_all(text)):
            if node is None or (isinstance(node, ScalarNode) and node.tag == f"{TAG}null"):
                continue
            builder = _Builder()
            try:
                data = builder.build(node, ())
            except YamlProblem as problem:
                mark = problem.node.start_mark
                diags.append(
                    Diagnostic(
                        problem.message,
                        Location(file, mark.line + 1, mark.column + 1),
                        suggestion=problem.suggestion,
                        code=problem.code,
                    )
                )
                continue
            except (ConstructorError, ValueError, OverflowError) as err:
                diags.append(
                    Diagnostic(
                        f"invalid value: {err}",
                        Location(file, node.start_mark.line + 1, node.start_mark.column + 1),
                        code="yaml-value",
                    )
                )
                continue
            docs.append(RawDocument(file, index, data, builder.positions))
    except yaml.MarkedYAMLError as err:
        diags.append(_yaml_error(file, err, text))
    except (yaml.YAMLError, RecursionError, ValueError) as err:
        diags.append(Diagnostic(f"cannot parse YAML: {err}", Location(file), code="yaml-syntax"))
    return docs, diags


_SEPARATOR = re.compile(r"^---", re.MULTILINE)
_KIND = re.compile(r"^kind:[ \t]*[\"']?([A-Za-z]+)[\"']?[ \t]*(?:#.*)?$", re.MULTILINE)
_FLOW_NAME = re.compile(r"^metadata:[ \t]*\{[^}\n]*?\bname:[ \t]*[\"']?([a-z0-9][a-z0-9-]*)", re.MULTILINE)
_BLOCK_NAME = re.compile(
    r"^metadata:[ \t]*(?:#.*)?\n(?:[ \t]*(?:#.*)?\n|[ \t]+.*\n)*?[ \t]+name:[ \t]*[\"']?([a-z0-9][a-z0-9-]*)",
    re.MULTILINE,
)


def scan_names(text: str) -> list[tuple[str, str]]:
    """(kind, name) of the documents in a file that could not be parsed, by a lenient line scan.

    Only to say what a reference points at ("… is in FILE, which could not be parsed") instead of
    calling it unknown; never used as data. A document whose kind or name cannot be seen is left out.
    """
    found = []
    for chunk in _SEPARATOR.split(text + "\n"):
        kind = _KIND.search(chunk)
        name = _FLOW_NAME.search(chunk) or _BLOCK_NAME.search(chunk)
        if kind and name:
            found.append((kind.group(1), name.group(1)))
    return found


def read_file(path: Path, rel: str) -> tuple[list[RawDocument], list[Diagnostic]]:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return [], [
                Diagnostic(
                    f"file is larger than {MAX_FILE_BYTES // 1024 // 1024} MiB", Location(rel), code="file-too-large"
                )
            ]
        data = path.read_bytes()
    except OSError as err:
        return [], [Diagnostic(f"cannot read file: {err.strerror}", Location(rel), code="io")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        return [], [_not_utf8(data, err, rel)]
    return parse_text(text, rel)


def _not_utf8(data: bytes, err: UnicodeDecodeError, rel: str) -> Diagnostic:
    """At the first byte that is not UTF-8: its line and column (in characters, as an editor counts)."""
    line_start = data.rfind(b"\n", 0, err.start) + 1
    line = data.count(b"\n", 0, err.start) + 1
    col = len(data[line_start : err.start].decode("utf-8", errors="replace")) + 1
    byte = data[err.start : err.start + 1].hex()
    return Diagnostic(
        f"file is not UTF-8 text ({err.reason}: byte 0x{byte})",
        Location(rel, line, col),
        code="encoding",
        suggestion="save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)",
    )
