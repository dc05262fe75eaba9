"""`modelctl monitor DEPLOYMENT`: request rate, errors and latency from /metrics, plus collected-data
statistics and drift (PSI) against a baseline.

A deployment on a docker target is looked up by name in the repo's registry (its URL), its auth
secret (the bearer key, or in auth mode token the signing secret a short-lived token is minted from;
the secret itself is never sent) and its data-collection volume on the engine; --url, --key-file and
--collected point at any runtime and folder instead.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from .consoles import console, err_console


def _fmt(value, spec: str = ".2f", suffix: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{suffix}"


def _lookup(repo: Path, name: str, interval: float) -> tuple[str | None, str | None, Path | None]:
    """URL, bearer credential and collected-data folder of a deployment, from the registry, secrets and
    engine (a token, valid for a scrape `interval` apart, when the deployment uses auth mode token)."""
    from ..diagnostics import DiagnosticError
    from ..graph import DeploymentNode
    from ..monitor.credentials import bearer_credential, token_ttl
    from ..names import default_keys_secret
    from ..pipeline import compile_repo
    from ..registry import open_registry_if_present
    from ..targets import TARGET_TYPES
    from ..targets.docker.secrets import lookup

    try:
        graph = compile_repo(repo).require()
    except DiagnosticError as err:
        first = err.diagnostics[0]
        where = f"{first.location}: " if first.location else ""
        err_console.print(
            f"error: cannot look up deployment '{escape(name)}' in {escape(str(repo))} "
            f"({escape(where + first.message)}); pass --repo DIR, or --url and/or --collected",
            soft_wrap=True,
        )
        raise typer.Exit(1) from None
    node = graph.nodes.get(f"Deployment/{name}")
    if not isinstance(node, DeploymentNode):
        from ..diagnostics import did_you_mean

        hint = did_you_mean(name, [n.name for n in graph.of_kind("Deployment")]) or ""
        err_console.print(
            f"error: no deployment '{escape(name)}' in {escape(str(repo))}" + (f"; {hint}" if hint else "")
        )
        raise typer.Exit(1)
    target_type = TARGET_TYPES[node.target.type]
    if not target_type.serves_http:
        err_console.print(
            f"error: '{escape(name)}' runs on a {node.target.type} target, which serves nothing modelctl "
            "can reach from here; pass --url and --collected"
        )
        raise typer.Exit(1)
    ws = graph.workspace.spec
    registry = open_registry_if_present(ws.registry, ws.artifacts, Path(graph.root))
    records = [] if registry is None else registry.list_deployments(target=node.target_name)
    if registry is not None:
        registry.close()
    record = next((d for d in records if d.name == name), None)
    if record is None or not record.url:
        err_console.print(f"error: '{escape(name)}' is not deployed (no record in the registry); run modelctl apply")
        raise typer.Exit(1)
    key = None
    if node.spec.auth.mode in ("key", "token"):
        # The secret apply mounted (secretRef, else the default it generated); absent: no credential.
        # In token mode it is the signing secret: only a short-lived token minted from it is sent.
        value = lookup(Path(graph.root), node.spec.auth.secret_ref or default_keys_secret(name))
        key = bearer_credential(node.spec.auth.mode, value, token_ttl(interval))
    return (
        record.url,
        key,
        target_type.collected_data(graph.workspace.name, node) if node.spec.data_collection.enabled else None,
    )


def monitor(
    deployment: Optional[str] = typer.Argument(None, help="Deployment name, looked up in the repo (docker targets)."),
    repo: Path = typer.Option(Path("."), "--repo", help="The GitOps repo the deployment belongs to."),
    since: str = typer.Option("1h", "--since", help="Window of collected data to summarise (30m, 1h, 2d...)."),
    url: Optional[str] = typer.Option(None, "--url", help="Base URL of a running scoring runtime."),
    collected: Optional[Path] = typer.Option(None, "--collected", help="Folder of collected data (file sink)."),
    baseline: Optional[Path] = typer.Option(
        None, "--baseline", help="Baseline for drift: CSV with header, JSONL records, or a folder."
    ),
    model: Optional[str] = typer.Option(None, "--model", help="Only this model."),
    key_file: Optional[Path] = typer.Option(None, "--key-file", help="File holding the runtime's bearer key."),
    token_secret_file: Optional[Path] = typer.Option(
        None,
        "--token-secret-file",
        help="Signing secret of a runtime in auth mode token: a short-lived token is minted from it (never sent).",
    ),
    interval: float = typer.Option(
        5.0, "--interval", min=0.0, help="Seconds between two /metrics scrapes for rates (0: one scrape)."
    ),
    fail_on_drift: bool = typer.Option(False, "--fail-on-drift", help="Exit 2 when any feature's PSI >= 0.25."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Serving health and data drift of a deployment, as tables.

    Examples: modelctl monitor iris-local --repo examples/iris --since 30m

    modelctl monitor --url http://127.0.0.1:8080 --collected ./collected --baseline train.csv
    """
    from ..monitor.collected import (
        aliases,
        columns,
        feature_rows,
        load_baseline,
        match_baseline,
        parse_since,
        read_records,
    )
    from ..monitor.credentials import bearer_credential, token_ttl
    from ..monitor.drift import PSI_SIGNIFICANT, feature_stats
    from ..monitor.metrics import MonitorError, scrape, traffic

    if key_file and token_secret_file:
        err_console.print("error: pass --key-file (auth mode key) or --token-secret-file (mode token), not both")
        raise typer.Exit(1)
    try:
        if token_secret_file:
            key = bearer_credential("token", token_secret_file.read_text(), token_ttl(interval))
        else:
            key = key_file.read_text().strip() if key_file else os.environ.get("MODELCTL_KEY")
    except OSError as exc:
        err_console.print(f"error: cannot read {escape(str(exc.filename))}: {escape(exc.strerror or str(exc))}")
        raise typer.Exit(1) from None
    if not url and not collected:
        if not deployment:
            err_console.print("error: name a deployment, or pass --url and/or --collected")
            raise typer.Exit(1)
        url, found_key, collected = _lookup(repo, deployment, interval)
        key = key or found_key
    report: dict = {"deployment": deployment}
    try:
        window = parse_since(since)
        if url:
            before = scrape(url, key) if interval > 0 else None
            if before is not None:
                time.sleep(interval)
            after = scrape(url, key)
            rows = [t for t in traffic(before, after) if not model or t.model == model]
            report["traffic"] = [t.__dict__ for t in rows]
            report["collector"] = {
                "queue_depth": after.gauges.get("modelctl_collector_queue_depth"),
                "dropped": {
                    label: v
                    for (name, label), v in after.counters.items()
                    if name == "modelctl_collector_dropped_total"
                },
            }
        if collected:
            records = read_records(collected, window, model)
            current = columns(feature_rows(records))
            base: dict[str, list[float]] | None = None
            warnings: list[str] = []
            if baseline:
                base, warnings = match_baseline(current, aliases(records), load_baseline(baseline, model))
            stats = feature_stats(current, base)
            report["collected"] = {
                "records": len(records),
                "since": since,
                "models": sorted({f"{r.get('model')}:{r.get('version')}" for r in records}),
                "features": [dict(s.__dict__, drift=s.drift) for s in stats],
                "baselineWarnings": warnings,
            }
            for text in warnings:  # on stderr: --json output stays one document
                err_console.print(f"[yellow]warning:[/yellow] {escape(text)}", soft_wrap=True)
    except (MonitorError, OSError) as exc:
        err_console.print(f"error: {escape(str(exc))}")
        raise typer.Exit(1) from None

    if as_json:
        console.print_json(json.dumps(report, default=str))
    else:
        _print_tables(report, url, interval)
    drifted = [
        f
        for f in report.get("collected", {}).get("features", [])
        if f["psi"] is not None and f["psi"] >= PSI_SIGNIFICANT
    ]
    if fail_on_drift and drifted:
        raise typer.Exit(2)


def _print_tables(report: dict, url: str | None, interval: float) -> None:
    if "traffic" in report:
        t = Table(
            title=f"Serving ({escape(url or '')}, rates over {interval:g} s)"
            if interval
            else f"Serving ({escape(url or '')}, since start)"
        )
        for col in ("model", "requests", "req/s", "4xx", "5xx", "p50", "p90", "p99"):
            t.add_column(col, justify="left" if col == "model" else "right")
        for r in report["traffic"]:
            t.add_row(
                escape(r["model"]),
                f"{r['total']:,.0f}",
                _fmt(r["rate"], ".1f"),
                _fmt(r["client_error_rate"] and r["client_error_rate"] * 100, ".1f", "%"),
                _fmt(r["server_error_rate"] and r["server_error_rate"] * 100, ".1f", "%"),
                _fmt(r["p50_ms"], ".1f", " ms"),
                _fmt(r["p90_ms"], ".1f", " ms"),
                _fmt(r["p99_ms"], ".1f", " ms"),
            )
        console.print(t)
        c = report["collector"]
        dropped = ", ".join(f"{k}={v:,.0f}" for k, v in c["dropped"].items()) or "none"
        console.print(f"collector queue depth {_fmt(c['queue_depth'], ',.0f')}, dropped: {dropped}")
    if "collected" in report:
        c = report["collected"]
        t = Table(
            title=f"Collected data, last {c['since']}: {c['records']:,} records "
            f"({escape(', '.join(c['models'])) or 'none'})"
        )
        t.add_column("feature", no_wrap=True)
        for col in ("count", "mean", "std", "min", "median", "max", "PSI"):
            t.add_column(col, justify="right")
        t.add_column("drift", no_wrap=True, min_width=len("significant"))
        for f in c["features"]:
            style = {"significant": "red", "moderate": "yellow"}.get(f["drift"], "")
            t.add_row(
                escape(f["feature"]),
                f"{f['count']:,}",
                _fmt(f["mean"], ".3g"),
                _fmt(f["std"], ".3g"),
                _fmt(f["min"], ".3g"),
                _fmt(f["p50"], ".3g"),
                _fmt(f["max"], ".3g"),
                _fmt(f["psi"], ".3f"),
                f"[{style}]{f['drift']}[/]" if style else f["drift"],
            )
        console.print(t)


def register(app: typer.Typer) -> None:
    app.command("monitor")(monitor)
