"""Discover a repo's YAML files, apply a stage overlay, and validate every document's schema."""

from __future__ import annotations

import fnmatch
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from ..diagnostics import Diagnostic, Location, did_you_mean
from ..spec import API_VERSION, KINDS, Document
from . import errors
from .yaml_source import RawDocument, read_file, scan_names

DocumentT = TypeVar("DocumentT", bound=Document)

SKIP_DIRS = {".git", ".modelctl", ".venv", "venv", "node_modules", "__pycache__", "out", "build", "dist", "stages"}
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class LoadedDocument:
    raw: RawDocument
    doc: Document  # of the class KINDS[kind]

    def doc_as(self, cls: type[DocumentT]) -> DocumentT:
        """The document as the class of its kind (`Model` for a Model, …): a mismatch is a bug, not a user error."""
        if not isinstance(self.doc, cls):
            raise TypeError(f"{self.id} is a {type(self.doc).__name__}, not a {cls.__name__}")
        return self.doc

    @property
    def kind(self) -> str:
        return self.raw.data["kind"]

    @property
    def name(self) -> str:
        return self.raw.data["metadata"]["name"]

    @property
    def id(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass
class LoadResult:
    root: Path
    documents: list[LoadedDocument] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    declared: set[tuple[str, str]] = field(default_factory=set)  # (kind, name) of every document, valid or not
    unreadable: list[str] = field(default_factory=list)  # files with a YAML error: their names are unknown
    # (kind, name) → the parse error of a document that failed to parse, its name seen by a lenient scan
    unparsed: dict[tuple[str, str], Diagnostic] = field(default_factory=dict)
    invalid: list[RawDocument] = field(default_factory=list)  # documents with schema errors (reported already)


def discover(root: Path) -> list[Path]:
    """Every YAML file under root, sorted, skipping VCS, build output, hidden folders and stage overlays."""
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.startswith(".")]
        found.extend(os.path.join(folder, f) for f in files if f.endswith(YAML_SUFFIXES) and not f.startswith("."))
    prefix = len(str(root)) + 1
    return [Path(p) for p in sorted(found, key=lambda p: p[prefix:].replace(os.sep, "/"))]


def load_repo(root: Path, *, stage: str | None = None, paths: list[Path] | None = None) -> LoadResult:
    root = root.resolve()
    result = LoadResult(root)
    if not root.is_dir():
        result.diagnostics.append(Diagnostic(f"not a directory: {root}", code="io"))
        return result
    raws = _read_all(root, paths if paths is not None else discover(root), result.diagnostics, result.unparsed)
    result.unreadable = sorted({d.location.file for d in result.diagnostics if d.location})
    raws = _drop_excluded(raws)
    if stage:
        raws = _apply_stage(root, stage, raws, result.diagnostics)
    for raw in raws:
        if (doc_id := _doc_id(raw)) is not None:
            result.declared.add(doc_id)
        doc = validate_document(raw, result.diagnostics)
        if doc is not None:
            result.documents.append(LoadedDocument(raw, doc))
        else:
            result.invalid.append(raw)
    return result


NOT_YAML_PROBLEMS = ("io", "file-too-large")  # unread files; a non-UTF-8 one is scanned leniently


def _read_all(
    root: Path, files: list[Path], diags: list[Diagnostic], unparsed: dict[tuple[str, str], Diagnostic] | None = None
) -> list[RawDocument]:
    """Every file's documents; `unparsed` collects the names in files with YAML errors (not for overlays)."""
    raws: list[RawDocument] = []
    prefix = str(root) + os.sep
    for path in files:
        text = str(path)
        rel = text[len(prefix) :].replace(os.sep, "/") if text.startswith(prefix) else text
        refused = _refuse(root, path, rel)
        if refused is not None:
            diags.append(refused)
            continue
        docs, problems = read_file(path, rel)
        raws.extend(docs)
        diags.extend(problems)
        if unparsed is not None and problems and not any(p.code in NOT_YAML_PROBLEMS for p in problems):
            _note_unparsed(path, docs, problems, unparsed)
    return raws


def _note_unparsed(
    path: Path, docs: list[RawDocument], problems: list[Diagnostic], unparsed: dict[tuple[str, str], Diagnostic]
) -> None:
    """Which documents of a file with YAML errors did not parse, and the error that stopped each."""
    parsed = {doc_id for d in docs if (doc_id := _doc_id(d)) is not None}
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return
    lines = text.splitlines(keepends=True)
    starts = [0] + [i for i, line in enumerate(lines) if line.startswith("---")]
    for doc_id in scan_names(text):
        if doc_id in parsed or doc_id in unparsed:
            continue
        unparsed[doc_id] = _error_for(doc_id, lines, starts, problems)


def _error_for(doc_id: tuple[str, str], lines: list[str], starts: list[int], problems: list[Diagnostic]) -> Diagnostic:
    """The problem inside the document that declares doc_id, else the file's first problem."""
    for begin, end in zip(starts, [*starts[1:], len(lines)], strict=True):
        chunk = "".join(lines[begin:end])
        if doc_id in scan_names(chunk):
            for p in problems:
                if p.location and begin < p.location.line <= end + 1:
                    return p
    return problems[0]


def _refuse(root: Path, path: Path, rel: str) -> Diagnostic | None:
    """A YAML file that must not be read: a symlink leading out of the repo (or into .git /
    .modelctl), or not a regular file (a FIFO would block, a device never ends). Its content is
    never read, so no part of it can appear in a message."""
    try:
        resolved = path.resolve()
        regular = stat.S_ISREG(resolved.stat().st_mode)
    except (OSError, RuntimeError, ValueError) as err:  # a dangling or looping symlink
        return Diagnostic(
            f"cannot read file: {getattr(err, 'strerror', None) or 'broken symlink'}",
            Location(rel),
            code="io",
            suggestion="fix or remove the symlink",
        )
    if not resolved.is_relative_to(root):
        return Diagnostic(
            "this YAML file is a symlink pointing outside the repo; it was not read",
            Location(rel),
            expected="YAML files inside the repo",
            code="symlink-escape",
            suggestion="copy the file into the repo instead of linking to it",
        )
    private = [part for part in resolved.relative_to(root).parts if part.lower() in (".git", ".modelctl")]
    if private:
        return Diagnostic(
            f"this YAML file is a symlink into {private[0]}/; it was not read",
            Location(rel),
            expected="YAML files outside .git and .modelctl",
            code="symlink-escape",
            suggestion="remove the symlink",
        )
    if not regular:
        return Diagnostic(
            "not a regular file; it was not read",
            Location(rel),
            code="io",
            expected="a regular YAML file",
            suggestion="remove it or rename it to another suffix",
        )
    return None


def _drop_excluded(raws: list[RawDocument]) -> list[RawDocument]:
    patterns: list[str] = []
    for raw in raws:
        if isinstance(raw.data, dict) and raw.data.get("kind") == "Workspace":
            spec = raw.data.get("spec") or {}
            if isinstance(spec, dict) and isinstance(spec.get("exclude"), list):
                patterns.extend(p for p in spec["exclude"] if isinstance(p, str))
    if not patterns:
        return raws
    return [r for r in raws if not any(fnmatch.fnmatch(r.file, p) for p in patterns)]


def validate_document(raw: RawDocument, diags: list[Diagnostic]) -> Document | None:
    data = raw.data
    if not isinstance(data, dict):
        diags.append(
            Diagnostic(
                f"a document must be a mapping, got {errors.describe(data)}",
                raw.location,
                expected="a mapping with apiVersion, kind, metadata and spec",
                code="not-a-mapping",
            )
        )
        return None
    kind = data.get("kind")
    if "kind" not in data:
        diags.append(
            Diagnostic(
                "missing required field 'kind'",
                raw.location,
                path="kind",
                expected="one of: " + ", ".join(KINDS),
                suggestion="add 'kind:'",
                code="missing",
            )
        )
        return None
    if not isinstance(kind, str) or kind not in KINDS:
        diags.append(
            Diagnostic(
                f"unknown kind {kind!r}",
                raw.locate(("kind",)),
                path="kind",
                expected="one of: " + ", ".join(KINDS),
                suggestion=did_you_mean(str(kind), KINDS),
                code="unknown-kind",
            )
        )
        return None
    version = data.get("apiVersion")
    if version != API_VERSION:
        message = (
            "missing required field 'apiVersion'"
            if version is None
            else f"unsupported apiVersion {errors.describe(version)}"
        )
        diags.append(
            Diagnostic(
                message,
                raw.locate(("apiVersion",)),
                path="apiVersion",
                expected=f"'{API_VERSION}'",
                suggestion=f"write 'apiVersion: {API_VERSION}'",
                code="api-version",
            )
        )
        return None
    model = KINDS[kind]
    try:
        return model.model_validate(data)
    except ValidationError as err:
        diags.extend(errors.convert(err, raw, model))
        return None


# -- stages: overlays under stages/<stage>/ patch documents by kind + name (RFC 7386 merge patch)


def _apply_stage(root: Path, stage: str, raws: list[RawDocument], diags: list[Diagnostic]) -> list[RawDocument]:
    stage_dir = root / "stages" / stage
    if not stage_dir.is_dir():
        known = sorted(p.name for p in (root / "stages").iterdir() if p.is_dir()) if (root / "stages").is_dir() else []
        diags.append(
            Diagnostic(
                f"unknown stage '{stage}': no folder stages/{stage}",
                Location("stages"),
                expected="one of: " + ", ".join(known) if known else "a folder stages/<stage>",
                suggestion=did_you_mean(stage, known),
                code="unknown-stage",
            )
        )
        return raws
    patches = _read_all(root, sorted(p for p in stage_dir.rglob("*") if p.suffix in YAML_SUFFIXES), diags)
    by_id = {doc_id: i for i, r in enumerate(raws) if (doc_id := _doc_id(r)) is not None}
    out = list(raws)
    for patch in patches:
        pid = _doc_id(patch)
        if pid is None:
            diags.append(
                Diagnostic(
                    "a stage patch needs 'kind' and 'metadata.name'",
                    patch.location,
                    expected="kind and metadata.name of the resource to patch",
                    code="stage-patch",
                )
            )
        elif pid in by_id:
            base = out[by_id[pid]]
            out[by_id[pid]] = RawDocument(
                base.file, base.index, merge_patch(base.data, patch.data), base.positions, overlay=patch
            )
        else:
            diags.append(
                Diagnostic(
                    f"stage patch for {pid[0]}/{pid[1]} matches no resource",
                    patch.location,
                    suggestion=did_you_mean(f"{pid[0]}/{pid[1]}", [f"{k}/{n}" for k, n in by_id]),
                    code="stage-patch",
                )
            )
    return out


def _doc_id(raw: RawDocument) -> tuple[str, str] | None:
    d = raw.data
    if isinstance(d, dict) and isinstance(d.get("metadata"), dict) and d.get("kind") and d["metadata"].get("name"):
        return str(d["kind"]), str(d["metadata"]["name"])
    return None


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: mappings merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
