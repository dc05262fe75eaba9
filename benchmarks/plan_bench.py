"""Plan/apply benchmarks on the real Docker engine and OCI registry (run: python benchmarks/plan_bench.py).

1. No-op plan over a repo of N deployments (default 200): compile + read live state (registry,
   engine, image registry) + diff, against live objects that match the repo. The live objects are
   real: N labelled containers (from the base image, running `sleep`), a real router with N routes,
   N registry records, a pushed image. Target: under 1 s, and no slower than the code at
   --baseline REV (default: the last commit before the target-type interface), timed in the same
   run on the same live objects, both in a fresh interpreter.
2. Model-only rebuild vs cold build of the same image (curated sklearn environment): the cold build
   runs with the layer cache off; the rebuild changes only the model file. Target: under 10 %.

Prints both ratios. Needs `bash scripts/services.sh up`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from compiler.plan import Scope  # noqa: E402
from compiler.plan.deployments import deployment_spec_json  # noqa: E402
from compiler.plan.refs import image_reference  # noqa: E402
from compiler.plan.services import BuiltImage  # noqa: E402
from compiler.plan.target import DeployRequest  # noqa: E402
from compiler.targets import TARGET_TYPES  # noqa: E402
from compiler.targets.docker import names  # noqa: E402
from compiler.targets.docker.build import DockerBuilder  # noqa: E402
from compiler.targets.docker.containers import backend_labels  # noqa: E402
from compiler.targets.docker.facts import RouteFact  # noqa: E402
from compiler.targets.docker.router import Router, router_base  # noqa: E402
from compiler.targets.docker.secrets import resolve_all  # noqa: E402
from compiler.workflow import Session  # noqa: E402

# the last commit before the target-type interface (compiler/workflow): the "before" of the no-op plan
BASELINE_REV = "f486360"
# times N no-op plans of ROOT in a fresh interpreter, with the package found first on sys.path
TIMING_SCRIPT = """
import json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
from compiler.plan import Scope
try:
    from compiler.workflow import Session
except ImportError:  # before compiler/workflow
    from compiler.plan.session import Session
times, changed = [], False
for _ in range(int(sys.argv[3])):
    t0 = time.perf_counter()
    with Session.open(sys.argv[2], Scope()) as s:
        plan = s.plan()
    times.append(time.perf_counter() - t0)
    changed |= plan.has_changes
print(json.dumps({"median": statistics.median(times), "min": min(times), "max": max(times), "changed": changed}))
"""

REGISTRY = "127.0.0.1:5000"
BASE = "modelctl/python-base:bookworm"
EXAMPLE = ROOT / "examples" / "iris"


def write_repo(root: Path, ws: str, n: int) -> None:
    (root / "artifacts").mkdir(parents=True)
    shutil.copy(EXAMPLE / "artifacts" / "iris.joblib", root / "artifacts" / "model.joblib")
    (root / "modelctl.yaml").write_text(
        f"apiVersion: modelctl.io/v1\nkind: Workspace\nmetadata: {{name: {ws}}}\nspec:\n"
        f"  imageRegistry: {REGISTRY}/{ws}\n  baseImages: {{python:3.11-slim: {BASE}}}\n"
        f"  targets:\n    local: {{type: docker, portRange: [30000, {30000 + n + 50}]}}\n"
    )
    (root / "models.yaml").write_text(
        "apiVersion: modelctl.io/v1\nkind: Model\nmetadata: {name: iris}\n"
        "spec: {framework: sklearn, path: artifacts/model.joblib}\n"
    )
    (root / "images.yaml").write_text(
        "apiVersion: modelctl.io/v1\nkind: Image\nmetadata: {name: scorer}\n"
        "spec: {models: [iris], environment: curated/sklearn}\n"
    )
    docs = [
        f"apiVersion: modelctl.io/v1\nkind: Deployment\nmetadata: {{name: d{i:03d}}}\n"
        f"spec: {{image: scorer, target: local, auth: {{mode: key, secretRef: bench-keys}}}}\n"
        for i in range(n)
    ]
    (root / "deployments.yaml").write_text("---\n".join(docs))


def materialise_live_state(root: Path, ws: str) -> None:
    """Make live state match the repo without running N scoring servers."""
    with Session.open(root, Scope(), writable=True) as s:
        graph, reg = s.graph, s.registry
        client = s.connection("docker").engines.get(None)
        model = graph.get("Model/iris")
        reg.register_model("iris", root / model.artifact.path, framework="sklearn")
        image = graph.get("Image/scorer")
        ref = image_reference(graph, image)
        client.images.get(BASE).tag(ref)
        pushed = DockerBuilder(client).push(BuiltImage(ref, ref), progress=lambda _t: None)
        reg.register_image(
            "scorer",
            fingerprint=image.fingerprint,
            models=[("iris", 1)],
            environment="sklearn",
            image_ref=pushed.pinned,
        )
        target = graph.workspace.spec.targets["local"]
        router = Router(client, ws, "local", target.bind_address, router_base(graph.workspace.spec.base_images))
        router.ensure()
        routes = []
        for i, node in enumerate(graph.of_kind("Deployment")):
            req = DeployRequest(
                ws,
                root,
                node.id,
                node.name,
                "local",
                target,
                node.fingerprint,
                ref,
                "scorer",
                8080,
                node.spec,
                deployment_spec_json(node),
            )
            name = names.backend(ws, "local", node.name, node.fingerprint)
            backend_port = 40000 + i
            digests = resolve_all(req).digests  # the plan also reads and compares the key's digest
            client.containers.run(
                BASE,
                ["sleep", "infinity"],
                name=name,
                detach=True,
                labels=backend_labels(req, backend_port, digests),
                mem_limit="16m",
                network_mode="none",
            )
            routes.append(RouteFact(node.name, name, target.port_range[0] + i, backend_port, node.fingerprint))
            reg.record_deployment(
                node.name, "local", "scorer", 1, f"http://127.0.0.1:{routes[-1].port}", node.fingerprint
            )
        router.set_routes(routes)


def timed_plans(root: Path, runs: int) -> tuple[list[float], bool]:
    times, changed = [], False
    for _ in range(runs):
        t0 = time.perf_counter()
        with Session.open(root, Scope()) as s:
            plan = s.plan()
        times.append(time.perf_counter() - t0)
        changed |= plan.has_changes
        if plan.has_changes:
            print("unexpected changes:", [(a.resource, a.reasons) for a in plan.changes][:5])
    return times, changed


def timed_in_fresh_interpreter(package_root: Path, root: Path, runs: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", TIMING_SCRIPT, str(package_root), str(root), str(runs)],
        capture_output=True,
        text=True,
        cwd=package_root,
    )
    if out.returncode != 0:
        raise SystemExit(f"timing the package at {package_root} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def rename_router(ws: str, name: str) -> None:
    """The bench's router (found by its labels) renamed: code before names.py finds it by name only."""
    import docker

    client = docker.from_env()
    try:
        labels = [f"modelctl.io/workspace={ws}", "modelctl.io/role=router"]
        [router] = client.containers.list(all=True, filters={"label": labels})
        router.rename(name)
    finally:
        client.close()


def alternated(ws: str, root: Path, runs: int, baseline_root: Path | None) -> tuple[dict, dict | None]:
    """This tree and the baseline timed in turns (a fresh interpreter each, `runs` plans in each), so
    load from elsewhere on the machine falls on both alike; medians over every plan. The baseline
    (before names.py) reads the same live objects, its router under the name it gave it."""
    mine: list[float] = []
    theirs: list[float] = []
    changed = {"mine": False, "theirs": False}
    for _ in range(max(runs, 1)):
        got = timed_in_fresh_interpreter(ROOT, root, 3)
        mine.append(got["median"])
        changed["mine"] |= got["changed"]
        if baseline_root is not None:
            rename_router(ws, f"modelctl-{ws}-local-router")
            try:
                got = timed_in_fresh_interpreter(baseline_root, root, 3)
            finally:
                rename_router(ws, names.router(ws, "local"))
            theirs.append(got["median"])
            changed["theirs"] |= got["changed"]
    now = {"median": statistics.median(mine), "min": min(mine), "max": max(mine), "changed": changed["mine"]}
    before = (
        {"median": statistics.median(theirs), "min": min(theirs), "max": max(theirs), "changed": changed["theirs"]}
        if theirs
        else None
    )
    return now, before


def export_revision(rev: str, dest: Path) -> Path:
    """The compiler package and the data folders it reads, as they were at rev (git archive: no
    checkout, no index change)."""
    dest.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "compiler", "templates", "environments", "schemas"],
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest


def cleanup(ws: str) -> None:
    import docker

    client = docker.from_env()
    for c in client.containers.list(all=True, filters={"label": f"modelctl.io/workspace={ws}"}):
        c.remove(force=True)


def bench_plan(n: int, runs: int, baseline: str | None) -> dict:
    ws = "bench" + uuid.uuid4().hex[:6]
    tmp = Path(tempfile.mkdtemp(prefix="modelctl-plan-bench-"))
    root = tmp / "repo"
    root.mkdir()
    try:
        write_repo(root, ws, n)
        t0 = time.perf_counter()
        materialise_live_state(root, ws)
        setup = time.perf_counter() - t0
        times, changed = timed_plans(root, runs)
        now, before = alternated(ws, root, runs, export_revision(baseline, tmp / "baseline") if baseline else None)
        t0 = time.perf_counter()
        cli = subprocess.run(
            [sys.executable, "-m", "compiler.cli.main", "plan", str(root), "--detailed-exitcode"],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        cli_seconds = time.perf_counter() - t0
        return {
            "deployments": n,
            "setup_s": round(setup, 1),
            "plan_median_s": round(statistics.median(times), 3),
            "plan_min_s": round(min(times), 3),
            "plan_max_s": round(max(times), 3),
            "no_changes": not changed,
            "cli_s": round(cli_seconds, 2),
            "cli_exit": cli.returncode,
            "fresh_median_s": round(now["median"], 3),
            "fresh_min_s": round(now["min"], 3),
            "fresh_max_s": round(now["max"], 3),
            "fresh_no_changes": not now["changed"],
            **(
                {
                    "baseline": baseline,
                    "baseline_median_s": round(before["median"], 3),
                    "baseline_min_s": round(before["min"], 3),
                    "baseline_max_s": round(before["max"], 3),
                    "baseline_no_changes": not before["changed"],
                }
                if before
                else {}
            ),
        }
    finally:
        cleanup(ws)
        shutil.rmtree(tmp, ignore_errors=True)


def bench_build() -> dict:
    """Cold build (cache off) vs a rebuild after a model-only change, of the same rendered image."""
    import docker

    from compiler.render import render_graph

    client = docker.from_env(timeout=1800)
    builder = DockerBuilder(client)
    tmp = Path(tempfile.mkdtemp(prefix="modelctl-build-bench-"))
    ws = "bbench" + uuid.uuid4().hex[:6]
    root = tmp / "repo"
    root.mkdir()
    try:
        write_repo(root, ws, 1)
        tag = f"modelctl-bench/{ws}"
        with Session.open(root, Scope()) as s:
            render_graph(s.graph, tmp / "v1", only={"Image/scorer"}, types=TARGET_TYPES)
        t0 = time.perf_counter()
        for chunk in client.api.build(
            path=str(tmp / "v1/images/scorer"), tag=f"{tag}:cold", nocache=True, rm=True, forcerm=True, decode=True
        ):
            if "error" in chunk:
                raise SystemExit(chunk["error"])
        cold = time.perf_counter() - t0
        shutil.copy(EXAMPLE / "artifacts" / "iris-forest.joblib", root / "artifacts" / "model.joblib")
        with Session.open(root, Scope()) as s:
            render_graph(s.graph, tmp / "v2", only={"Image/scorer"}, types=TARGET_TYPES)
        t0 = time.perf_counter()
        built = builder.build(
            tmp / "v2/images/scorer", f"{tag}:model-only", resource="Image/scorer", progress=lambda _t: None
        )
        rebuild = time.perf_counter() - t0
        return {
            "cold_s": round(cold, 1),
            "model_only_s": round(rebuild, 2),
            "cached_steps": built.cached_steps,
            "steps": built.steps,
        }
    finally:
        for suffix in ("cold", "model-only"):
            try:
                client.images.remove(f"modelctl-bench/{ws}:{suffix}", force=True)
            except docker.errors.DockerException:
                pass
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-build", action="store_true", help="Only the no-op plan benchmark.")
    parser.add_argument("--baseline", default=BASELINE_REV, help="git revision to time side by side ('' for none).")
    args = parser.parse_args()
    plan = bench_plan(args.deployments, args.runs, args.baseline or None)
    print(json.dumps({"no_op_plan": plan}, indent=2))
    print(
        f"no-op plan over {plan['deployments']} deployments: median {plan['plan_median_s']:.3f} s "
        f"= {plan['plan_median_s'] / 1.0:.2f}× the 1 s target (CLI incl. interpreter start: {plan['cli_s']:.2f} s, "
        f"exit {plan['cli_exit']})"
    )
    if "baseline_median_s" in plan:
        print(
            f"same live objects, fresh interpreters: this tree {plan['fresh_median_s']:.3f} s, "
            f"{plan['baseline']} {plan['baseline_median_s']:.3f} s: ratio "
            f"{plan['fresh_median_s'] / plan['baseline_median_s']:.2f} (target ≤ 1.00, within noise)"
        )
    if not args.skip_build:
        build = bench_build()
        print(json.dumps({"build": build}, indent=2))
        ratio = build["model_only_s"] / build["cold_s"]
        print(
            f"model-only rebuild {build['model_only_s']:.2f} s vs cold build {build['cold_s']:.1f} s: "
            f"ratio {ratio:.3f} ({ratio * 100:.1f} % of cold; target < 10 %)"
        )


if __name__ == "__main__":
    main()
