"""The manifest YAML emitter round-trips through PyYAML (YAML 1.1 rules) for any manifest-shaped data."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.render import fastyaml

TRICKY = [
    "yes",
    "No",
    "on",
    "OFF",
    "true",
    "null",
    "~",
    "",
    "0",
    "0x1F",
    "1e3",
    "1_000",
    "08",
    "12:30",
    ".5",
    "- a",
    "a: b",
    "#x",
    "x #y",
    "'q'",
    '"q"',
    "*ref",
    "&a",
    "!tag",
    "@x",
    "%x",
    "{}",
    "[]",
    "a\nb",
    " pad ",
    "500m",
    "/v2/health",
    "tags.site='f'",
    "é",
    "\t",
    "a,b",
    "?",
    "|",
    ">",
    "=",
    "<<",
    "Y",
    "n",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(TRICKY),
    st.text(max_size=12),
)
keys = st.one_of(
    st.sampled_from(TRICKY), st.text(min_size=1, max_size=10), st.from_regex(r"[a-z][a-z0-9./-]{0,20}", fullmatch=True)
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(keys, values, max_size=6))
def test_round_trip(doc):
    text = fastyaml.dump(doc)
    assert yaml.safe_load(text) == doc
    assert list(yaml.safe_load_all(fastyaml.dump_all([doc, doc]))) == [doc, doc]


def test_trailing_newline_is_quoted():
    assert fastyaml.dump({"A\n": "b\n"}) == '"A\\n": "b\\n"\n'
    assert yaml.safe_load(fastyaml.dump({"A\n": "b\n"})) == {"A\n": "b\n"}


def test_block_style_and_sorted_keys():
    text = fastyaml.dump({"b": [{"y": 1, "x": "8080"}, []], "a": {}, "c": "yes"})
    assert text == 'a: {}\nb:\n- x: "8080"\n  "y": 1\n- []\nc: "yes"\n'
