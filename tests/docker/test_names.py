"""Docker object names (compiler/targets/docker/names.py): injective over (workspace, target, deployment),
valid for the engine, and read back into their parts — no engine needed."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.spec.common import NAME_PATTERN
from compiler.targets.docker import names

# Valid names (compiler/spec/common.py), built from a few short words so that different triples often
# join to the same text with '-': the case that broke the old scheme.
WORDS = st.sampled_from(["a", "b", "probe", "kill", "local", "1", "x9"])
NAME = st.lists(WORDS, min_size=1, max_size=4).map("-".join).filter(lambda n: len(n) <= 63)
FP = st.text("0123456789abcdef", min_size=64, max_size=64)
REVISION = st.one_of(st.just(""), st.text("0123456789abcdef", min_size=6, max_size=6))
REPLICA = st.integers(min_value=1, max_value=12)
TRIPLE = st.tuples(NAME, NAME, NAME)
DOCKER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")  # the engine's rule for container and volume names


def legacy_router(ws: str, target: str) -> str:  # what earlier versions named the router
    return f"modelctl-{ws}-{target}-router"


def test_the_reported_collision_is_gone():
    assert legacy_router("probe", "kill-local") == legacy_router("probe-kill", "local")
    assert names.router("probe", "kill-local") != names.router("probe-kill", "local")
    assert names.router("probe", "kill-local") == "modelctl_probe_kill-local_router"


@settings(max_examples=400, deadline=None)
@given(TRIPLE, TRIPLE, FP, FP, REPLICA, REPLICA, REVISION, REVISION)
def test_names_are_injective(a, b, fp_a, fp_b, n_a, n_b, rev_a, rev_b):
    (ws_a, t_a, _), (ws_b, t_b, _) = a, b
    assert (names.router(ws_a, t_a) == names.router(ws_b, t_b)) == ((ws_a, t_a) == (ws_b, t_b))
    assert (names.routes_volume(ws_a, t_a) == names.routes_volume(ws_b, t_b)) == ((ws_a, t_a) == (ws_b, t_b))
    assert (names.collected_volume(*a) == names.collected_volume(*b)) == (a == b)
    same = (a, fp_a[:12], n_a, rev_a) == (b, fp_b[:12], n_b, rev_b)
    assert (names.backend(*a, fp_a, n_a, rev_a) == names.backend(*b, fp_b, n_b, rev_b)) == same


@settings(max_examples=300, deadline=None)
@given(TRIPLE, FP, REPLICA, REVISION)
def test_every_name_reads_back_into_its_parts_and_kinds_never_meet(triple, fp, replica, revision):
    ws, target, deployment = triple
    backend = names.backend(ws, target, deployment, fp, replica, revision)
    made = {
        backend: ("backend", ws, target, deployment, fp[:12], revision, str(replica)),
        names.router(ws, target): ("router", ws, target),
        names.routes_volume(ws, target): ("routes", ws, target),
        names.collected_volume(ws, target, deployment): ("collected", ws, target, deployment),
    }
    assert len(made) == 4  # no two kinds share a name
    for name, parts in made.items():
        assert names.parse(name) == parts
        assert DOCKER_NAME.match(name) and len(name) <= 255, name
    assert names.is_backend(backend, ws, target, deployment)
    assert backend.startswith(names.backend_prefix(ws, target, deployment))
    assert names.backends(ws, target, deployment, fp, 3, revision)[0] == names.backend(
        ws, target, deployment, fp, 1, revision
    )


@given(TRIPLE, FP)
def test_names_of_earlier_versions_are_not_this_versions(triple, fp):
    ws, target, deployment = triple
    assert names.parse(f"{ws}-{deployment}-{fp[:12]}") is None
    assert not names.is_backend(f"{ws}-{deployment}-{fp[:12]}-2", ws, target, deployment)
    assert not names.is_router(legacy_router(ws, target), ws, target)


@pytest.mark.parametrize("parts", [("Probe", "local"), ("probe_x", "local"), ("probe", ""), ("probe", "-local")])
def test_a_part_outside_the_name_alphabet_is_refused(parts):
    assert not re.match(NAME_PATTERN, parts[0]) or not re.match(NAME_PATTERN, parts[1])
    with pytest.raises(ValueError):
        names.router(*parts)


def test_longest_names_stay_within_the_engines_limits():
    longest = "a" * 63
    volume = names.collected_volume(longest, longest, longest)
    backend = names.backend(longest, longest, longest, "f" * 64, 99, "abcdef")
    assert len(volume) <= 255 and len(backend) <= 255  # a volume's name is a folder name on the engine's host
