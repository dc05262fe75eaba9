"""`modelctl devices simulate`: do with a published edge bundle what a device would, on this machine."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any, List, Optional

import typer
from rich.markup import escape

from .plan import console, err_console, user_errors

app = typer.Typer(help="Edge devices: try a published bundle as a device would.", no_args_is_help=True)


@app.command("simulate")
def simulate(
    deployment: str = typer.Argument(..., help="The edge Deployment whose published bundle to run."),
    directory: Path = typer.Argument(Path("."), metavar="[DIR]", help="The GitOps repo."),
    device_tags: Optional[List[str]] = typer.Option(
        None, "--device-tags", help="A tag of the simulated device, NAME=VALUE (repeatable): site=factory-1"
    ),
    input_file: Optional[Path] = typer.Option(
        None, "--input", help="The scoring request body (JSON); default: one row of zeros from the model's signature."
    ),
    timeout: float = typer.Option(180.0, "--timeout", help="Seconds to wait for the scorer to be ready."),
) -> None:
    """Fetch DEPLOYMENT's published bundle (folder or OCI), verify every checksum, evaluate its target
    condition against the device's tags, run its modules on the local Docker engine, send one scoring
    request, print the routes its collected data would take, then remove everything it started.

    Example: modelctl devices simulate digits-edge examples/edge-vision --device-tags site=factory-1 --device-tags camera=true
    """
    from ..diagnostics import did_you_mean
    from ..pipeline import compile_repo
    from ..targets.publish import device
    from ..targets.publish.bundles import open_bundles
    from ..targets.publish.location import parse_location, publish_setting
    from ..targets.publish.target_condition import ConditionError, parse_tag

    with user_errors():
        try:
            tags = dict(parse_tag(t) for t in device_tags) if device_tags else None
        except ConditionError as err:
            raise typer.BadParameter(str(err), param_hint="--device-tags") from None
        graph = compile_repo(directory).require()
        edge = {d.name: d for d in graph.of_kind("Deployment") if d.spec.edge is not None}
        node = edge.get(deployment)
        other = next((d for d in graph.of_kind("Deployment") if d.name == deployment), None)
        if node is None and other is not None:
            err_console.print(
                f"[red]error:[/red] Deployment/{escape(deployment)} runs on target '{escape(other.target_name)}' "
                f"(type {escape(other.target.type)}), not on an edge target: devices simulate runs edge "
                f"deployments (here: {', '.join(sorted(edge)) or 'none'})"
            )
            raise typer.Exit(1)
        if node is None:
            hint = did_you_mean(deployment, edge)
            err_console.print(
                f"[red]error:[/red] no edge deployment named '{escape(deployment)}' in {escape(str(directory))}"
                + (f"; {hint}" if hint else f" (edge deployments: {', '.join(sorted(edge)) or 'none'})")
            )
            raise typer.Exit(1)
        root = Path(graph.root)
        location = parse_location(publish_setting(node.target), root, node.target_name)
        bundles = open_bundles(location, graph.workspace.name)
        try:
            bundle = next((b for b in bundles.list() if b.name == deployment), None)
            if bundle is None:
                err_console.print(
                    f"[red]error:[/red] Deployment/{deployment} is not published at {location}: "
                    f"run 'modelctl apply' first"
                )
                raise typer.Exit(1)
            try:
                fetched = device.fetch(bundles, bundle)
            except device.TamperedBundle as err:
                err_console.print(f"[red]error:[/red] {escape(str(err))}", soft_wrap=True)
                raise typer.Exit(1) from None
            console.print(
                f"fetched {fetched.where}: {len(bundle.marker.get('files') or {})} files and bundle.tar.gz verified "
                f"(deployment {fetched.manifest.get('id')}, priority {fetched.manifest.get('priority')})",
                soft_wrap=True,
            )
            if not _targeting(device.candidates(bundles, node.target_name, tags), deployment, tags):
                raise typer.Exit(1)
        finally:
            bundles.close()
        body = _request(graph, node, input_file)
        _run(root, graph.workspace.name, fetched.manifest, deployment, body, timeout)
        carried = device.collected_routes(fetched.manifest, deployment)
        if carried:
            console.print("routes that would carry the scorer's collected output:")
            for name, route in carried.items():
                console.print(f"  {escape(name)}: {escape(route)}", soft_wrap=True)
        else:
            console.print("no route carries the scorer's collected output (data collection off, or no such route)")


def _targeting(found: list, deployment: str, tags: dict[str, Any] | None) -> bool:
    """Say which published deployments this device gets; False when it would not get `deployment`."""
    from ..targets.publish.device import winner

    if tags is None:
        console.print("no --device-tags: target conditions not evaluated")
        return True
    shown = ", ".join(f"{k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in sorted(tags.items()))
    console.print(f"device tags: {shown}")
    for c in found:
        verdict = "targets this device" if c.matches else "does not target this device"
        extra = f" ({c.problem})" if c.problem else ""
        kind = "layered" if c.layered else "base"
        console.print(
            f"  {c.name} ({c.id}, {kind}, priority {c.priority}): {escape(c.condition)} → {verdict}{escape(extra)}",
            soft_wrap=True,
        )
    best = winner(found)
    # layers apply on top of the base a device got, when they outrank it; without a base, nothing runs
    layers = [c for c in found if best and c.layered and c.matches and c.priority > best.priority]
    if best is None:
        console.print("no base deployment targets this device")
    else:
        console.print(f"winner by priority: {best.name} ({best.id}, priority {best.priority})", soft_wrap=True)
    if layers:
        console.print("layered on top: " + ", ".join(f"{c.name} (priority {c.priority})" for c in layers))
    me = next((c for c in found if c.name == deployment), None)
    if me is not None and (me == best or me in layers):
        console.print(f"this device gets {deployment}")
        return True
    if me is None or not me.matches:
        why = "its target condition does not match"
    elif me.layered and best is None:
        why = "a layered deployment applies only over a base deployment that targets the device"
    else:
        why = "a deployment with a higher priority wins"
    err_console.print(f"[red]error:[/red] this device would not get {deployment}: {why}")
    return False


def _request(graph: Any, node: Any, input_file: Path | None) -> dict:
    if input_file is not None:
        try:
            return json.loads(input_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise typer.BadParameter(f"{input_file}: {err}", param_hint="--input") from None
    image = graph.get(node.image_id)
    for use in image.models:
        signature = graph.get(use.model_id).spec.signature
        if signature is not None and len(signature.inputs) == 1:
            width = [d for d in signature.inputs[0].shape[1:] if d > 0]
            row = [0.0] * (width[0] if width else 1)
            return {"data": [row]}
    raise typer.BadParameter(
        "the model's signature does not give one input row: pass --input FILE", param_hint="--input"
    )


def _run(root: Path, workspace: str, manifest: dict, scorer: str, body: dict, timeout: float) -> None:
    import httpx

    from ..errors import ApplyError
    from ..targets.publish.device import agent_modules
    from ..targets.publish.simulate import Simulation, registry_auth

    modules = agent_modules(manifest)
    if scorer not in modules:
        raise ApplyError(f"the bundle has no module {scorer} (modules: {', '.join(sorted(modules))})")
    auth = registry_auth(root, manifest)
    sim = Simulation(root, workspace, lambda line: console.print(escape(line), soft_wrap=True))
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        sim.want_secret_files(modules)
        containers = sim.start(modules, auth)
        url = sim.address(containers[scorer])
        console.print(f"waiting for {scorer} at {url} …")
        sim.wait_ready(containers[scorer], url, timeout)
        headers = _auth_header(sim, modules[scorer])
        answer = httpx.post(f"{url}/score", json=body, headers=headers, timeout=30)
        console.print(f"POST {url}/score → HTTP {answer.status_code}")
        console.print(escape(answer.text.strip()), soft_wrap=True)
        if answer.status_code != 200:
            raise ApplyError(f"the scorer answered HTTP {answer.status_code}")
    finally:
        signal.signal(signal.SIGTERM, previous)
        left = sim.cleanup()
        if left:
            err_console.print("could not remove: " + "; ".join(left))
        else:
            console.print(f"stopped and removed everything {sim.prefix} started")


def _auth_header(sim: Any, module: dict) -> dict[str, str]:
    env = {k: str(v.get("value", "")) for k, v in (module.get("env") or {}).items()}
    if env.get("MODELCTL_AUTH_MODE") != "key":
        return {}
    keys_file = env.get("MODELCTL_AUTH_KEYS_FILE", "")
    key = sim.secret_file_value(keys_file)
    return {"Authorization": f"Bearer {key.splitlines()[0].strip()}"} if key else {}


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
