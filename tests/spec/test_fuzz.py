"""Property test: random and mutated YAML never crashes the loader or validator.

Every input ends as a compiled graph or as diagnostics — never an uncaught exception.
"""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.diagnostics import Diagnostic
from compiler.load import parse_text
from compiler.pipeline import compile_repo

from spec_repo import BASE_REPO, write_repo

KEYS = [
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "spec",
    "framework",
    "path",
    "models",
    "image",
    "target",
    "replicas",
    "traffic",
    "type",
    "targets",
    "environment",
    "inherit",
    "edge",
    "fpga",
    "auth",
    "mode",
    "autoscale",
    "min",
    "max",
    "signature",
    "inputs",
    "dtype",
    "shape",
    "$schema",
    "tags",
    "x",
]
KINDS = ["Workspace", "Model", "Environment", "Image", "Deployment", "Endpoint", "Modle", ""]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(KINDS + ["modelctl.io/v1", "../x", "/etc", "iris@3"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), inner, max_size=5),
    ),
    max_leaves=25,
)

FILES = sorted(k for k in BASE_REPO if k.endswith(".yaml"))


def _dump(value) -> str:
    import io

    from ruamel.yaml import YAML

    buf = io.StringIO()
    YAML(typ="safe", pure=True).dump(value, buf)
    return buf.getvalue()


def _check(diags: list[Diagnostic]) -> None:
    for d in diags:
        assert isinstance(d.message, str) and d.message
        assert "Traceback" not in d.message


@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=string.printable + "\t\u00e9\u2028", max_size=200))
def test_random_text_never_crashes_the_parser(text):
    docs, diags = parse_text(text, "f.yaml")
    _check(diags)


@settings(
    max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(document=values, file=st.sampled_from(FILES))
def test_random_documents_end_in_a_graph_or_diagnostics(tmp_path_factory, document, file):
    root = write_repo(tmp_path_factory.mktemp("r"), dict(BASE_REPO))
    (root / file).write_text(_dump(document))
    result = compile_repo(root)
    _check(result.diagnostics)
    assert result.ok or result.diagnostics


MUTATIONS = st.sampled_from(["delete", "duplicate", "insert", "swap"])


@settings(
    max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(file=st.sampled_from(FILES), data=st.data())
def test_mutated_valid_files_end_in_a_graph_or_diagnostics(tmp_path_factory, file, data):
    text = BASE_REPO[file]
    for _ in range(data.draw(st.integers(1, 4))):
        if not text:
            break
        i = data.draw(st.integers(0, len(text) - 1))
        op = data.draw(MUTATIONS)
        if op == "delete":
            text = text[:i] + text[i + 1 :]
        elif op == "duplicate":
            text = text[:i] + text[i] + text[i:]
        elif op == "insert":
            text = text[:i] + data.draw(st.sampled_from(list(":-[]{}\t #&*!|>'\"\n ,?%@`"))) + text[i:]
        else:
            j = data.draw(st.integers(0, len(text) - 1))
            a, b = sorted((i, j))
            text = text[:a] + text[b:] + text[a:b]
    root = write_repo(tmp_path_factory.mktemp("m"), dict(BASE_REPO))
    (root / file).write_text(text)
    result = compile_repo(root)
    _check(result.diagnostics)
    assert result.ok or result.diagnostics
