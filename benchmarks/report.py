"""docs/benchmarks.md from one run_all.py run: tables of medians (min–max), ratios and the bars."""

from __future__ import annotations

import math
import statistics

NOT_RUN = "not measured in this run"


def med(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float], fmt: str = "{:.3f}") -> str:
    """'median (min–max)' of repeated runs; a single run is shown alone."""
    if not values:
        return "–"
    if len(values) == 1:
        return fmt.format(values[0]) + " (1 run)"
    return f"{fmt.format(med(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def rate(count: int, seconds: list[float]) -> str:
    return f"{count / med(seconds):,.0f}" if seconds else "–"


def yes(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**not met**")


def loglog_slope(sizes: list[int], times: list[float]) -> float:
    """Least-squares slope of log(time) over log(size): 1 is linear, below 1 better than linear."""
    xs, ys = [math.log(s) for s in sizes], [math.log(t) for t in times]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def header(r: dict) -> list[str]:
    m = r["machine"]
    v = m["versions"]
    sweep, serving = r["sweep"], r["serving"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`benchmarks/run_all.py`"
        + (" **--quick**: short runs for developing the harness, not numbers to quote" if r["quick"] else "")
        + f"), which ran every section below in one run of {r['total_s'] / 60:.1f} minutes. Each peer is measured in",
        "the same run, on the same input, on the same machine, in turns with modelctl where it can be: the machine is",
        "shared with other work, so absolute numbers move from run to run and the same-run ratios are what counts.",
        "",
        f"- Machine: {m['cores']} cores, {m['memory_gib']} GiB, {m['os']} (kernel {m['kernel']}), Python {m['python']}; "
        f"load average {m['load_start'][0]:.1f} at the start, {m['load_end'][0]:.1f} at the end",
        f"- Date: {m['date']}; modelctl at `{m['commit']}`" + (" (with uncommitted changes)" if m["dirty"] else ""),
        f"- Versions: scikit-learn {v['scikit-learn']}, numpy {v['numpy']}, uvicorn {v['uvicorn']}, "
        f"Helm {sweep.get('helm_version') or '–'} (helm-python-sdk's engine), kubectl/kustomize {sweep.get('kubectl') or '–'}, "
        + (
            f"MLflow {serving['versions']['mlflow'].split()[0]}, MLServer {serving['versions']['mlserver'].split()[0]}, "
            if "versions" in serving
            else ""
        )
        + f"Docker {v['docker'] or '–'}, {v['wrk'] or 'wrk –'}",
        "- Section times: " + ", ".join(f"{k} {s:.0f} s" for k, s in r["timings"].items()),
        "",
    ]
    return lines


def sweep_section(r: dict) -> tuple[list[str], list[tuple[str, str, bool | None]]]:
    sweep = r["sweep"]
    rows = sweep["sizes"]
    repeat = r["config"]["repeat"]
    lines = [
        "## Render, validate and plan by repo size (benchmarks/sweep_bench.py)",
        "",
        "The render benchmark's repo (10 models/images, N Deployments on one kubernetes target — half autoscaled —,",
        "N/10 Endpoints). **Cold render**: `render_graph` (graph → every file, published atomically with one syncfs)",
        "into a new folder; **warm**: again into the same folder, repo unchanged; **one model changed**: after one",
        "model file changed, N/10 deployments and one image depend on it. **Helm**: an equivalent chart (templates",
        "ranging over per-deployment values, labels and metadata from `define`d helpers; `benchmarks/peers/helm_chart.py`)",
        "loaded, rendered by Helm's Go engine and written out, in Helm's own venv, one run after each modelctl run;"
        " its objects parse to exactly modelctl's (checked: see the last column). **validate**: `compile_repo`"
        " in-process. **plan**: a docker-target repo of N deployments against an empty engine (N creations).",
        f"Times in seconds, median (min–max) of {repeat} runs ({3 * repeat} for the warm render).",
        "",
        "| deployments | objects | validate | cold render | objects/s | Helm (load+render+write) | Helm objects/s |"
        " cold ÷ Helm objects/s | warm render | warm ÷ cold | one model changed (nodes re-rendered) | plan | same objects |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    bars: list[tuple[str, str, bool | None]] = []
    for row in rows:
        cold, helm, warm = row["render_cold_s"], row["helm_s"], row["render_warm_s"]
        ratio = (med(helm) / med(cold)) if helm else None
        warm_ratio = med(warm) / med(cold)
        lines.append(
            f"| {row['deployments']:,} | {row['objects']:,} | {spread(row['validate_s'])} | {spread(cold)} | "
            f"{rate(row['objects'], cold)} | {spread(helm) if helm else '–'} | {rate(row['objects'], helm)} | "
            f"{f'{ratio:.2f}×' if ratio else '–'} | {spread(warm)} | {warm_ratio:.1%} | "
            f"{row['one_model_change_s']:.3f} ({row['one_model_change_rendered']:,} of {row['nodes']:,}"
            f"{', only dependents' if row['one_model_change_only_dependents'] else ', NOT only dependents'}) | "
            f"{spread(row['plan_s'])} | {'yes' if row['helm_same_objects'] else ('–' if row['helm_same_objects'] is None else 'NO')} |"
        )
    big = max(rows, key=lambda x: x["deployments"])
    if big["helm_s"]:
        ratio = med(big["helm_s"]) / med(big["render_cold_s"])
        bars.append(
            (
                f"cold render objects/s ≥ Helm engine's at {big['deployments']:,} deployments",
                f"{rate(big['objects'], big['render_cold_s'])} vs {rate(big['objects'], big['helm_s'])} objects/s: {ratio:.2f}×",
                ratio >= 1,
            )
        )
    warm_ratio = med(big["render_warm_s"]) / med(big["render_cold_s"])
    bars.append(
        (
            f"warm render ≤ 10 % of cold ({big['deployments']:,} deployments)",
            f"{med(big['render_warm_s']):.3f} s vs {med(big['render_cold_s']):.3f} s: {warm_ratio:.1%}",
            warm_ratio <= 0.10,
        )
    )
    lines += [
        "",
        "CPU seconds (user + system of the whole process, every thread; not skewed by waiting for a shared machine):",
        "",
    ]
    for row in rows:
        if row["helm_cpu_s"]:
            cpu_ratio = med(row["helm_cpu_s"]) / med(row["render_cold_cpu_s"])
            verdict = (
                f"modelctl uses **{cpu_ratio:.2f}×** less CPU than Helm"
                if cpu_ratio >= 1
                else f"Helm uses **{1 / cpu_ratio:.2f}×** less CPU"
            )
            lines.append(
                f"- {row['deployments']:,} deployments: cold render {spread(row['render_cold_cpu_s'])}, "
                f"Helm {spread(row['helm_cpu_s'])}: {verdict}"
            )
    lines += ["", "Helm's engine alone (render call only, without loading the chart or writing files): "]
    lines[-1] += "; ".join(
        f"{row['deployments']:,}: {spread(row['helm_render_only_s'])} s" for row in rows if row["helm_render_only_s"]
    )
    lines[-1] += (
        ". modelctl's cold render above includes writing one file per deployment and endpoint and flushing them."
    )
    sizes = [row["deployments"] for row in rows]
    if len(sizes) >= 2:
        lines += ["", "How cost grows with repo size (least-squares slope of log time over log size; 1 = linear):", ""]
        for label, key in (("plan", "plan_s"), ("validate", "validate_s"), ("cold render", "render_cold_s")):
            meds = [med(row[key]) for row in rows]
            per = ", ".join(f"{1e3 * t / n:.2f} ms" for t, n in zip(meds, sizes, strict=True))
            lines.append(
                f"- {label}: slope **{loglog_slope(sizes, meds):.2f}**; per deployment {per} at {', '.join(f'{n:,}' for n in sizes)}"
            )
        slope = loglog_slope(sizes, [med(row["plan_s"]) for row in rows])
        bars.append(("plan cost grows linearly or better", f"log-log slope {slope:.2f}", slope <= 1.1))
    kz = [row for row in rows if "kustomize_s" in row]
    lines += ["", "`kubectl kustomize` over the same rendered objects (one `resources:` entry per file):", ""]
    for row in rows:
        if "kustomize_s" in row:
            k = row["kustomize_s"][0]
            lines.append(
                f"- {row['deployments']:,} deployments: {k:.2f} s → {row['kustomize_objects'] / k:,.0f} objects/s; "
                f"modelctl cold render {row['objects'] / med(row['render_cold_s']):,.0f} objects/s = "
                f"**{(row['objects'] / med(row['render_cold_s'])) / (row['kustomize_objects'] / k):.0f}×**"
            )
        else:
            lines.append(
                f"- {row['deployments']:,} deployments: {NOT_RUN} (kustomize grows quadratically with the number of "
                "resources: 376.6 s at 1,000 deployments on 2026-11-25, so only the small sizes fit the 20-minute run)"
            )
    if not kz and not sweep.get("kubectl"):
        lines.append("- kubectl is not installed here: not measured.")
    return lines + [""], bars


def serving_section(r: dict) -> tuple[list[str], list[tuple[str, str, bool | None]]]:
    s = r["serving"]
    if "skipped" in s:
        return ["## Serving (benchmarks/serving_bench.py)", "", f"{NOT_RUN}: {s['skipped']}", ""], []
    floor, runs = s["floor"], s["runs"]
    lines = [
        "## Serving (benchmarks/serving_bench.py)",
        "",
        f"The same model (StandardScaler + LogisticRegression on iris, one joblib file), {s['workers']} workers for every"
        " server (modelctl: uvicorn workers; MLflow: `--workers`; MLServer: `parallel_workers`), auth off, access logs"
        f" as each server ships. Single-row requests from `wrk -t2`, {s['duration_s']} s per concurrency; the"
        f" configurations ran in turns, {s['repeat']}× each; the table shows each one's median run, with the req/s"
        " range over its runs. CPU per request: user + system time of the server's process group during the run,"
        " over its requests (wrk's own CPU not included). modelctl + batching: `MODELCTL_BATCH_MAX_SIZE=32`,"
        " `MODELCTL_BATCH_MAX_LATENCY_MS=2`; MLServer + adaptive batching: `max_batch_size: 32`, `max_batch_time: 0.002`.",
        "",
        f"In-process `predict()` floor (one core, one row per call): **{floor['rps']:,.0f} calls/s**, p50"
        f" {floor['p50_ms']:.2f} ms, p99 {floor['p99_ms']:.2f} ms.",
        "",
        "| server | conc | req/s (range) | p50 ms | p99 ms | server CPU ms/request | non-2xx |",
        "|---|---|---|---|---|---|---|",
    ]
    medians = s["median"]
    for name, by_c in medians.items():
        for c, m in by_c.items():
            rps = [run[c]["rps"] for run in runs[name]]
            rng = f" ({min(rps):,.0f}–{max(rps):,.0f})" if len(rps) > 1 else ""
            lines.append(
                f"| {name} | {c} | {m['rps']:,.0f}{rng} | {m['p50_ms']:.2f} | {m['p99_ms']:.2f} | "
                f"{m['cpu_ms_per_request']:.2f} | {m['non2xx']} |"
            )
    bars: list[tuple[str, str, bool | None]] = []

    def get(name, c):
        by_c = medians.get(name)
        return None if by_c is None else by_c.get(str(c), by_c.get(c))

    ours, mlflow = get("modelctl", 32), get("mlflow models serve", 32)
    lines += ["", "Ratios (same run):", ""]
    for c in (8, 32):
        o, f = get("modelctl", c), get("mlflow models serve", c)
        parts = []
        if o and f:
            parts.append(f"modelctl ÷ MLflow req/s **{o['rps'] / f['rps']:.1f}×**")
        for peer in ("MLServer", "MLServer + adaptive batching"):
            p = get(peer, c)
            if o and p:
                parts.append(f"÷ {peer} **{o['rps'] / p['rps']:.2f}×**")
        b = get("modelctl + batching", c)
        if b:
            parts.append(f"modelctl + batching ÷ floor **{b['rps'] / floor['rps']:.2f}×**")
        lines.append(f"- c={c}: " + ", ".join(parts))
    if ours and mlflow:
        bars.append(
            (
                "modelctl ≥ 3× MLflow req/s at c=32 with p99 ≤ 25 ms",
                f"{ours['rps'] / mlflow['rps']:.1f}×, p99 {ours['p99_ms']:.1f} ms",
                ours["rps"] >= 3 * mlflow["rps"] and ours["p99_ms"] <= 25,
            )
        )
    peers = [get(p, 32) for p in ("MLServer", "MLServer + adaptive batching")]
    peers = [p for p in peers if p]
    if ours and peers:
        best = max(p["rps"] for p in peers)
        bars.append(
            (
                "modelctl ahead of MLServer at c=32 (its best configuration)",
                f"{ours['rps'] / best:.2f}×",
                ours["rps"] > best,
            )
        )
    batched = get("modelctl + batching", 32)
    bars.append(
        (
            "batching on: single-row requests at c=32 ≥ in-process single-call predict() rate",
            f"{batched['rps']:,.0f} req/s vs {floor['rps']:,.0f} calls/s: {batched['rps'] / floor['rps']:.2f}×"
            if batched
            else f"{NOT_RUN}: the runtime has no batching in this tree",
            (batched["rps"] >= floor["rps"]) if batched else None,
        )
    )
    return lines + [""], bars


def build_section(r: dict) -> list[str]:
    b = r["build"]
    lines = ["## Image rebuild after a model-only change (benchmarks/plan_bench.py)", ""]
    if "skipped" in b:
        return lines + [f"{NOT_RUN}: {b['skipped']}", ""]
    ratio = b["model_only_s"] / b["cold_s"]
    return lines + [
        "The iris sklearn image rendered by modelctl, built by the local Docker engine: cold (layer cache off) and",
        "again after only the model file changed (cache on). One run each.",
        "",
        "| measurement | result |",
        "|---|---|",
        f"| cold build | {b['cold_s']:.1f} s |",
        f"| rebuild after a model-only change | {b['model_only_s']:.2f} s (Docker: {b['cached_steps']} of {b['steps']} steps from its cache) |",
        f"| ratio | **{ratio:.3f} ({ratio:.1%} of cold)** |",
        "",
    ]


def k8s_section(r: dict) -> list[str]:
    k = r["k8s"]
    lines = ["## Kubernetes no-op plan (benchmarks/k8s_plan_bench.py)", ""]
    if "skipped" in k:
        return lines + [f"{NOT_RUN}: {k['skipped']}", ""]
    ratio = k["plan_median_s"] / k["kubectl_diff_s"] if k.get("kubectl_diff_s") else None
    return lines + [
        f"{k['deployments']:,} deployments (`replicas: 0`) applied by modelctl's `apply_repo` ({k['apply_s']} s) into the",
        "test control plane of `../shared/k8s` started by the benchmark; then a no-op plan, and `kubectl diff",
        "--server-side` over the same rendered objects. (1,000 deployments take ~4 minutes to apply, too long for",
        "this run; the 1,000-deployment figures of 2026-12-01 are in the earlier section below.)",
        "",
        "| measurement | result |",
        "|---|---|",
        f"| no-op plan, median of {k['repeat']} (min–max) | **{k['plan_median_s']:.3f} s** ({k['plan_min_s']:.3f}–{k['plan_max_s']:.3f}) |",
        f"| its API requests (audit log) | {k['plan_requests']} |",
        f"| `kubectl diff --server-side` over the same {int(k['kubectl_objects'] or 0):,} objects | {k['kubectl_diff_s']:.3f} s; {k['kubectl_requests']} |",
        f"| ratio no-op plan ÷ kubectl diff | **{ratio:.3f}** |" if ratio else "| ratio | – |",
        "",
    ]


def markdown(r: dict, earlier: str) -> str:
    lines = header(r)
    sweep_lines, sweep_bars = sweep_section(r)
    serving_lines, serving_bars = serving_section(r)
    bars = serving_bars + sweep_bars
    lines += ["## Bars (issue 12), this run", "", "| bar | result | |", "|---|---|---|"]
    lines += [f"| {name} | {result} | {yes(ok)} |" for name, result, ok in bars]
    lines += [""]
    lines += serving_lines + sweep_lines + build_section(r) + k8s_section(r)
    if earlier:
        lines += [earlier.rstrip(), ""]
    return "\n".join(lines)
