"""The golden cases, shared by the golden test and `make golden` (tests/render/regen_golden.py).

Golden trees hold every rendered file except copies of the scoring runtime (modelctl_runtime/,
runtime-requirements.txt) and manifest.json: those change with every runtime commit. For the same
reason the image toolchain digest is pinned while golden trees are rendered, so image
fingerprints (and tags and labels) depend only on the example repos.
"""

from __future__ import annotations

import difflib
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

from compiler.pipeline import compile_repo
from compiler.render import render_graph
from compiler.targets import TARGET_TYPES

PROJECT = Path(__file__).resolve().parents[2]
GOLDEN_DIR = PROJECT / "tests" / "golden"
CASES = {  # golden folder -> (example repo, stage)
    "iris": ("examples/iris", None),
    "iris-prod": ("examples/iris", "prod"),
    "edge-vision": ("examples/edge-vision", None),
    "tls": ("tests/render/repos/tls", None),  # tls.secretRef on kubernetes (Service, Gateway) and edge
}
PINNED_TOOLCHAIN = "0" * 64
REGEN_COMMAND = "make golden   (or: .venv/bin/python tests/render/regen_golden.py)"


@contextmanager
def pinned_toolchain():
    with mock.patch("compiler.graph.resolve.image_toolchain_digest", return_value=PINNED_TOOLCHAIN):
        yield


def is_volatile(rel: str) -> bool:
    parts = rel.split("/")
    return rel == "manifest.json" or "modelctl_runtime" in parts or parts[-1] == "runtime-requirements.txt"


def render_case(case: str, out: Path) -> dict[str, bytes]:
    """Render one case into `out`; return {relative path: bytes} of the files golden trees keep."""
    repo, stage = CASES[case]
    with pinned_toolchain():
        graph = compile_repo(PROJECT / repo, stage=stage).require()
    render_graph(graph, out, types=TARGET_TYPES)
    return read_tree(out)


def read_tree(root: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if not is_volatile(rel):
            files[rel] = path.read_bytes()
    return files


def tree_diff(expected: dict[str, bytes], actual: dict[str, bytes], label: str) -> str:
    """A readable report: missing/extra files, and a unified diff per changed text file."""
    lines = []
    for rel in sorted(expected.keys() - actual.keys()):
        lines.append(f"missing from render: {label}/{rel}")
    for rel in sorted(actual.keys() - expected.keys()):
        lines.append(f"not in golden tree:  {label}/{rel}")
    for rel in sorted(expected.keys() & actual.keys()):
        old, new = expected[rel], actual[rel]
        if old == new:
            continue
        try:
            diff = difflib.unified_diff(
                old.decode().splitlines(),
                new.decode().splitlines(),
                f"golden/{label}/{rel}",
                f"rendered/{label}/{rel}",
                lineterm="",
                n=2,
            )
            lines.extend(diff)
        except UnicodeDecodeError:
            lines.append(f"binary file differs: {label}/{rel} ({len(old)} -> {len(new)} bytes)")
    return "\n".join(lines)
