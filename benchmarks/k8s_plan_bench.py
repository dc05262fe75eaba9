"""No-op plan of a kubernetes target on a real API server (run: python benchmarks/k8s_plan_bench.py).

N deployments (default 1,000; six objects each: ServiceAccount, Deployment, Service, PDB,
NetworkPolicy … ≈ 5 × N objects; `replicas: 0`, so no kubelet is needed) are applied by modelctl's
own `apply_repo` into a test control plane (`../shared/k8s/cluster.sh`, started here on free ports,
or `--kubeconfig` of a running one with `--audit-log`). Then, in the same run:

- a no-op `plan` (compile + one LIST per kind + diff on owned fields), median of R runs, with its API
  requests counted from the audit log (target: ≤ 1 LIST per kind per namespace, 0 writes, < 3 s);
- `kubectl diff --server-side --field-manager=modelctl -R -f` over the same rendered objects (one
  dry-run PATCH per object), timed and counted the same way;

and prints the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from compiler.graph import ImageNode  # noqa: E402
from compiler.plan import Scope  # noqa: E402
from compiler.plan.refs import image_reference  # noqa: E402
from compiler.render import render_graph  # noqa: E402
from compiler.targets import TARGET_TYPES  # noqa: E402
from compiler.workflow import Session, apply_repo  # noqa: E402

WRITES = {"create", "update", "patch", "delete", "deletecollection"}


def free_port(pair: bool = False) -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if not pair:
            return port
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue


def write_repo(root: Path, kubeconfig: Path, namespace: str, n: int) -> str:
    name = "b" + uuid.uuid4().hex[:8]
    files = {
        "modelctl.yaml": f"apiVersion: modelctl.io/v1\nkind: Workspace\nmetadata: {{name: {name}}}\nspec:\n"
        f"  targets:\n    prod: {{type: kubernetes, kubeconfig: {kubeconfig}, namespace: {namespace}}}\n",
        "models/iris.yaml": "apiVersion: modelctl.io/v1\nkind: Model\nmetadata: {name: iris}\n"
        "spec: {framework: custom, path: artifacts/iris.bin}\n",
        "images/scorer.yaml": "apiVersion: modelctl.io/v1\nkind: Image\nmetadata: {name: scorer}\n"
        "spec: {models: [iris], environment: curated/sklearn, scoring: {script: score/score.py}}\n",
        "artifacts/iris.bin": "iris v1",
        "score/score.py": "def init():\n    pass\n\ndef run(data):\n    return data\n",
    }
    docs = [
        f"apiVersion: modelctl.io/v1\nkind: Deployment\nmetadata: {{name: d{i:04d}}}\n"
        "spec: {image: scorer, target: prod, replicas: 0, auth: {mode: none}}\n"
        for i in range(n)
    ]
    files["deployments/all.yaml"] = "---\n".join(docs)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    with Session.open(root, writable=True) as s:
        s.writable()
        assert s.registry is not None
        s.registry.register_model("iris", root / "artifacts/iris.bin", framework="custom")
        image = s.graph.get_as("Image/scorer", ImageNode)
        ref = image_reference(s.graph, image)
        s.registry.register_image(
            "scorer", fingerprint=image.fingerprint, models=[("iris", 1)], environment="curated/sklearn",
            image_ref=ref.split(":")[0] + "@sha256:" + "c" * 64,
        )  # fmt: skip
    return name


def audit_since(path: Path, offset: int, agent: str) -> list[dict]:
    time.sleep(1.0)  # the audit log is written as requests complete
    with path.open("rb") as f:
        f.seek(offset)
        events = [json.loads(line) for line in f.read().splitlines() if line.strip()]
    return [e for e in events if str(e.get("userAgent", "")).startswith(agent)]


def summary(events: list[dict]) -> str:
    verbs: dict[str, int] = {}
    for e in events:
        verbs[e["verb"]] = verbs.get(e["verb"], 0) + 1
    dry = sum(1 for e in events if e["verb"] in WRITES and "dryRun=All" in e.get("requestURI", ""))
    writes = sum(v for k, v in verbs.items() if k in WRITES) - dry
    listed = ", ".join(f"{k} {v}" for k, v in sorted(verbs.items()))
    return f"{len(events)} requests ({listed}); {writes} writes" + (f", {dry} dry-run patches" if dry else "")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--deployments", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--kubeconfig", type=Path)
    ap.add_argument("--audit-log", type=Path)
    ap.add_argument("--skip-kubectl", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="k8s-bench-"))
    cluster_dir = None
    script = ROOT.parent / "shared" / "k8s" / "cluster.sh"
    env = dict(os.environ, ETCD_PORT=str(free_port(pair=True)), K8S_PORT=str(free_port()))
    try:
        if args.kubeconfig:
            kubeconfig, audit = args.kubeconfig, args.audit_log
        else:
            cluster_dir = tmp / "cluster"
            subprocess.run(["bash", str(script), "up", str(cluster_dir)], env=env, check=True, capture_output=True)
            kubeconfig, audit = cluster_dir / "kubeconfig", cluster_dir / "audit.log"
        namespace = "bench-" + uuid.uuid4().hex[:6]
        subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), "create", "namespace", namespace],
                       check=True, capture_output=True)  # fmt: skip
        repo = tmp / "repo"
        write_repo(repo, kubeconfig, namespace, args.deployments)
        t0 = time.perf_counter()
        run = apply_repo(repo, Scope(), allow_dirty=True)
        assert run.outcome is not None and run.outcome.ok, [r.message for r in run.outcome.results if r.result != "ok"]
        print(f"apply of {args.deployments} deployments: {time.perf_counter() - t0:.1f} s")

        times = []
        for i in range(args.repeat):
            offset = audit.stat().st_size if audit else 0
            t0 = time.perf_counter()
            with Session.open(repo, Scope()) as s:
                plan = s.plan()
            times.append(time.perf_counter() - t0)
            assert not plan.has_changes, [(a.resource, a.reasons) for a in plan.actions if a.is_change][:3]
            if i == 0 and audit:
                print("no-op plan requests:", summary(audit_since(audit, offset, "modelctl/")))
        print(
            f"no-op plan over {args.deployments} deployments: median {statistics.median(times):.3f} s "
            f"(min {min(times):.3f}, max {max(times):.3f})"
        )

        if not args.skip_kubectl:
            rendered = tmp / "rendered"
            with Session.open(repo, Scope()) as s:
                render_graph(s.graph, rendered, types=TARGET_TYPES)
            folder = rendered / "kubernetes" / "prod"
            objects = sum(
                1 for p in folder.rglob("*.yaml") for line in p.read_text().splitlines() if line.startswith("kind: ")
            )
            offset = audit.stat().st_size if audit else 0
            t0 = time.perf_counter()
            done = subprocess.run(
                ["kubectl", "--kubeconfig", str(kubeconfig), "diff", "--server-side", "--field-manager=modelctl",
                 "--force-conflicts", "-R", "-f", str(folder)],
                capture_output=True, text=True,
            )  # fmt: skip
            kubectl = time.perf_counter() - t0
            print(
                f"kubectl diff --server-side over the same {objects} objects: {kubectl:.3f} s (exit {done.returncode})"
            )
            if done.returncode not in (0, 1):
                print(done.stderr[-2000:])
            if audit:
                print("kubectl diff requests:", summary(audit_since(audit, offset, "kubectl/")))
            print(f"ratio no-op plan / kubectl diff: {statistics.median(times) / kubectl:.3f}")
    finally:
        if cluster_dir is not None:
            subprocess.run(["bash", str(script), "down", str(cluster_dir)], env=env, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
