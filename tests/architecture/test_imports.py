"""The package import graph, read from the source (every import, lazy ones inside functions too):
dependencies point one way, so a new target type is one package and the planner stays pure."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import compiler

ROOT = Path(compiler.__file__).parent


def _unit(module: str) -> str:
    """compiler.plan.diff → compiler.plan (a package); compiler.pipeline → compiler.pipeline (a top-level module)."""
    parts = module.split(".")
    return ".".join(parts[:2])


def _module_of(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every compiler module the file imports, resolved to absolute names."""
    module = _module_of(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "compiler"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "compiler":
                continue
            found.add(target)
            if not node.module or target == "compiler":  # `from .. import pipeline`: the names are modules
                found |= {f"{target}.{a.name}" for a in node.names}
    return found


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        unit = _unit(_module_of(path))
        deps = graph.setdefault(unit, set())
        for target in _imports(path):
            other = _unit(target)
            if other != unit and other != "compiler":
                deps.add(other)
    return graph


def test_the_graph_is_read_from_the_source():
    graph = package_graph()
    assert {"compiler.plan", "compiler.targets", "compiler.workflow", "compiler.gitops", "compiler.runtime"} <= set(
        graph
    )
    assert "compiler.plan" in graph["compiler.targets"]  # targets implement the planner's interface
    assert "compiler.targets" in graph["compiler.workflow"]  # the wiring knows the concrete types


def test_plan_imports_no_target_and_no_gitops():
    deps = package_graph()["compiler.plan"]
    assert "compiler.targets" not in deps and "compiler.gitops" not in deps and "compiler.workflow" not in deps, deps


def test_no_cycles_between_packages():
    graph = package_graph()
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as err:
        raise AssertionError(f"import cycle between compiler packages: {' → '.join(err.args[1])}") from None


def test_runtime_imports_nothing_else_from_compiler():
    # shipped alone inside every image: compiler/runtime is copied into the build context
    assert package_graph()["compiler.runtime"] == set()


def test_no_target_type_branch_outside_the_targets():
    """Everything that depends on the target type goes through the registry of target types."""
    import re

    pattern = re.compile(r"""== ?"(docker|edge|fpga|kubernetes)"|in \("edge", "fpga"\)""")
    found = [
        f"{p.relative_to(ROOT.parent)}:{i}"
        for p in sorted(ROOT.rglob("*.py"))
        if "targets" not in p.relative_to(ROOT).parts
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == []
