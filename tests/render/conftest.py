"""Fixtures for render tests: example repos copied into tmp folders, compiled graphs, rendered trees."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from compiler.pipeline import compile_repo
from compiler.render import render_graph
from compiler.targets import TARGET_TYPES

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def copy_example(tmp_path):
    """copy_example("iris") -> a private copy of examples/iris to edit."""

    def make(name: str) -> Path:
        dest = tmp_path / "repos" / name
        shutil.copytree(PROJECT / "examples" / name, dest, ignore=shutil.ignore_patterns(".modelctl"))
        return dest

    return make


@pytest.fixture(scope="session")
def rendered(tmp_path_factory):
    """Both examples (and iris --stage prod) rendered once: {case: out folder}."""
    outs = {}
    for case, (repo, stage) in {
        "iris": ("iris", None),
        "iris-prod": ("iris", "prod"),
        "edge-vision": ("edge-vision", None),
    }.items():
        graph = compile_repo(PROJECT / "examples" / repo, stage=stage).require()
        out = tmp_path_factory.mktemp("render") / case
        render_graph(graph, out, types=TARGET_TYPES)
        outs[case] = out
    return outs
