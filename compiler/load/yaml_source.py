"""Read YAML files into plain data while keeping every value's file:line:col.

ruamel.yaml's round-trip loader records positions on the containers it builds; we keep that
tree beside a plain-Python copy so pydantic validates plain data and errors point at the source.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from ..diagnostics import Diagnostic, Location

MAX_FILE_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class RawDocument:
    """One YAML document as the user wrote it (before any schema is applied)."""

    file: str  # repo-relative posix path
    index: int  # position of the document in its file (0-based)
    data: Any  # plain dict/list/str/int/float/bool/None
    tree: Any  # the ruamel tree that carries positions
    overlay: "RawDocument | None" = None  # a stage patch applied on top (its positions win)

    @property
    def location(self) -> Location:
        return self.locate(())

    def locate(self, path: tuple, *, key: bool = False) -> Location:
        """Best position for a field path; the key's position when `key`, else its value's.

        A path that does not exist (a missing field) points at the nearest existing parent.
        """
        if self.overlay is not None and path and _has_path(self.overlay.data, path):
            return self.overlay.locate(path, key=key)
        node = self.tree
        line, col = _container_position(node)
        for i, step in enumerate(path):
            last = i == len(path) - 1
            if isinstance(node, CommentedMap) and step in node:
                pos = node.lc.key(step) if (key and last) else node.lc.value(step)
                if not key and isinstance(node[step], (CommentedMap, CommentedSeq)) and node[step]:
                    pos = node.lc.key(step)
                line, col = pos
                node = node[step]
            elif isinstance(node, CommentedSeq) and isinstance(step, int) and 0 <= step < len(node):
                line, col = node.lc.item(step)
                node = node[step]
            else:
                break
        return Location(self.file, line + 1, col + 1)


def _has_path(data: Any, path: tuple) -> bool:
    for step in path:
        if isinstance(data, dict) and step in data:
            data = data[step]
        elif isinstance(data, list) and isinstance(step, int) and 0 <= step < len(data):
            data = data[step]
        else:
            return False
    return True


def _container_position(node: Any) -> tuple[int, int]:
    lc = getattr(node, "lc", None)
    if lc is not None and lc.line is not None:
        return lc.line, lc.col
    return 0, 0


class UnsupportedTag(ValueError):
    pass


def to_plain(node: Any) -> Any:
    """Convert ruamel's tree into plain Python values."""
    if isinstance(node, CommentedMap):
        return {str(k) if not isinstance(k, (int, float, bool)) else k: to_plain(v) for k, v in node.items()}
    if isinstance(node, CommentedSeq):
        return [to_plain(v) for v in node]
    if isinstance(node, TaggedScalar):
        raise UnsupportedTag(str(node.tag.value if hasattr(node.tag, "value") else node.tag))
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, (dt.date, dt.datetime)):
        return node.isoformat()
    if isinstance(node, (dict, list)):  # an unexpected plain container from an alias
        return node
    raise UnsupportedTag(type(node).__name__)


def _yaml_error(file: str, err: MarkedYAMLError) -> Diagnostic:
    mark = err.problem_mark or err.context_mark
    loc = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
    problem = (err.problem or str(err)).strip()
    expected, suggestion = None, None
    if "'\\t'" in problem or "\t" in problem:
        message = "tab character: YAML indentation must use spaces"
        suggestion = "replace the tab with spaces"
    elif "duplicate key" in problem:
        message = problem.replace("found duplicate key", "duplicate key")
        suggestion = "remove one of the two entries or rename it"
    elif "mapping values are not allowed" in problem:
        message = "unexpected ':' — a value cannot start a new mapping on the same line"
        suggestion = "check indentation, or quote the value if it contains ': '"
    elif "could not find expected ':'" in problem:
        message = "could not find the ':' after a key"
        suggestion = "check indentation: a line is probably indented differently from its siblings"
    elif "undefined alias" in problem:
        message = problem
        suggestion = "define the anchor with '&name' before using '*name'"
    else:
        message = problem
        if err.context:
            message = f"{problem} ({err.context.strip()})"
        suggestion = "check indentation and brackets around this position"
    return Diagnostic(message, loc, expected=expected, suggestion=suggestion, code="yaml-syntax")


def _new_yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml


def parse_text(text: str, file: str) -> tuple[list[RawDocument], list[Diagnostic]]:
    """Parse every document of one file; a syntax error ends that file with one diagnostic."""
    docs: list[RawDocument] = []
    diags: list[Diagnostic] = []
    try:
        for index, tree in enumerate(_new_yaml().load_all(text)):
            if tree is None:
                continue
            doc = _to_document(file, index, tree, diags)
            if doc is not None:
                docs.append(doc)
    except MarkedYAMLError as err:
        diags.append(_yaml_error(file, err))
    except (YAMLError, RecursionError, ValueError) as err:
        diags.append(Diagnostic(f"cannot parse YAML: {err}", Location(file), code="yaml-syntax"))
    except Exception as err:  # noqa: BLE001 - the YAML library can fail on odd input (e.g. IndexError)
        diags.append(Diagnostic(f"cannot parse YAML ({type(err).__name__}: {err})", Location(file),
                                suggestion="check the file for stray characters", code="yaml-syntax"))
    return docs, diags


def _to_document(file: str, index: int, tree: Any, diags: list[Diagnostic]) -> RawDocument | None:
    doc = RawDocument(file, index, None, tree)
    try:
        data = to_plain(tree)
    except UnsupportedTag as tag:
        diags.append(Diagnostic(f"unsupported YAML tag or value type {tag}", doc.location,
                                expected="plain mappings, lists, strings, numbers and booleans",
                                suggestion="remove the '!tag'", code="yaml-tag"))
        return None
    except RecursionError:
        diags.append(Diagnostic("document nests too deeply", doc.location, code="yaml-syntax"))
        return None
    return RawDocument(file, index, data, tree)


def read_file(path: Path, rel: str) -> tuple[list[RawDocument], list[Diagnostic]]:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return [], [Diagnostic(f"file is larger than {MAX_FILE_BYTES // 1024 // 1024} MiB", Location(rel),
                                   code="file-too-large")]
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        return [], [Diagnostic(f"file is not UTF-8 text ({err.reason})", Location(rel), code="encoding")]
    except OSError as err:
        return [], [Diagnostic(f"cannot read file: {err.strerror}", Location(rel), code="io")]
    return parse_text(text, rel)

