"""IoT Edge rules checked by validate with file:line:col: layered priority over the base, system
modules, createOptions chunks (512 characters, at most 8), module twin sizes (32 KB, 4 KB a value)."""

from __future__ import annotations

import json

import jsonschema
from test_render_edge_fpga import EDGE_SCHEMA, _manifest

from compiler.pipeline import compile_repo
from compiler.render import render_graph
from compiler.render.edge_limits import reassemble
from compiler.targets import TARGET_TYPES


def _errors(repo, code: str) -> list:  # noqa: ANN001
    return [d for d in compile_repo(repo).diagnostics if d.code == code]


def _add_module(repo, module_yaml: str) -> None:  # noqa: ANN001
    path = repo / "deployments" / "digits-edge.yaml"
    path.write_text(path.read_text().replace("    routes:\n", "    modules:\n" + module_yaml + "    routes:\n", 1))


def test_a_layered_deployment_must_outrank_every_base(copy_example):
    repo = copy_example("edge-vision")
    extra = repo / "deployments" / "digits-edge-high.yaml"
    extra.write_text(
        "apiVersion: modelctl.io/v1\nkind: Deployment\nmetadata: {name: digits-edge-high}\n"
        "spec:\n  image: digits-scorer\n  target: factory\n  auth: {mode: key, secretRef: digits-keys}\n"
        "  edge: {targetCondition: \"tags.site='factory-2'\", priority: 25}\n"
    )
    [diag] = _errors(repo, "edge-layering")
    assert str(diag.location).endswith("deployments/digits-edge.yaml:29:15"), (
        diag.location
    )  # the layered one's priority
    assert diag.message == (
        "layered deployment has priority 20, not above base deployment 'digits-edge-high' (priority 25) "
        "on target 'factory': the base would override the layer"
    )
    assert diag.suggestion == "set spec.edge.priority to 26 or more"
    extra.write_text(extra.read_text().replace("priority: 25", "priority: 15"))
    assert _errors(repo, "edge-layering") == []


def test_system_modules_are_refused(copy_example):
    repo = copy_example("edge-vision")
    _add_module(repo, "      edgehub:\n        image: 127.0.0.1:5000/vision/hub:1\n")
    [diag] = _errors(repo, "edge-system-module")
    assert diag.location.line == 15 and diag.path == "spec.edge.modules.edgehub"
    assert "may not define the system module 'edgehub'" in diag.message


def test_equal_base_priorities_warn_that_the_newest_wins(copy_example):
    repo = copy_example("edge-vision")
    (repo / "deployments" / "other.yaml").write_text(
        "apiVersion: modelctl.io/v1\nkind: Deployment\nmetadata: {name: other}\n"
        "spec:\n  image: digits-scorer\n  target: factory\n  auth: {mode: key, secretRef: digits-keys}\n"
        "  edge: {targetCondition: \"tags.site='x'\", priority: 10}\n"
    )
    [diag] = _errors(repo, "edge-priority-tie")
    assert diag.severity == "warning" and "published last" in diag.message


def test_create_options_are_chunked_at_512_and_the_8_chunk_limit_is_enforced(copy_example, tmp_path):
    repo = copy_example("edge-vision")
    base = repo / "deployments" / "digits-edge.yaml"
    original = base.read_text()
    note = "n" * (512 * 7 + 100)  # with the JSON around it: 8 chunks, the limit
    _add_module(
        repo,
        f"      camera:\n        image: 127.0.0.1:5000/vision/camera:1\n        createOptions: {{Labels: {{note: '{note}'}}}}\n"
        "        desiredProperties: {fps: 5}\n",
    )
    assert _errors(repo, "edge-create-options") == []
    render_graph(compile_repo(repo).require(), tmp_path / "out", types=TARGET_TYPES)
    manifest = _manifest(tmp_path / "out", "digits-edge")
    jsonschema.validate(manifest, EDGE_SCHEMA)
    settings = manifest["content"]["modulesContent"]["$edgeAgent"]["properties.desired"]["modules"]["camera"][
        "settings"
    ]
    keys = sorted(k for k in settings if k.startswith("createOptions"))
    assert keys == ["createOptions"] + [f"createOptions{i:02d}" for i in range(1, 8)]
    assert all(len(settings[k]) == 512 for k in keys[:-1]) and 0 < len(settings[keys[-1]]) <= 512
    assert json.loads(reassemble(settings))["Labels"]["note"] == note
    assert manifest["content"]["modulesContent"]["camera"] == {"properties.desired": {"fps": 5}}  # its twin

    base.write_text(original)
    long = "n" * 4700
    _add_module(
        repo,
        f"      camera:\n        image: 127.0.0.1:5000/vision/camera:1\n        createOptions: {{Labels: {{note: '{long}'}}}}\n",
    )
    [diag] = _errors(repo, "edge-create-options")
    assert diag.path == "spec.edge.modules.camera.createOptions" and diag.location.line == 17
    text = json.dumps({"Labels": {"note": "n" * 4700}}, separators=(",", ":"))
    assert (
        f"module 'camera': createOptions is {len(text)} characters ({-(-len(text) // 512)} chunks of 512)"
        in diag.message
    )
    assert "at most 8 chunks (4096 characters)" in diag.message


def test_a_33_kb_module_twin_is_refused_naming_module_and_size(copy_example):
    repo = copy_example("edge-vision")
    props = ", ".join(f"p{i}: '{'v' * 1000}'" for i in range(33))  # 33 values of 1 KB: over 32 KB in all
    _add_module(
        repo, f"      camera:\n        image: 127.0.0.1:5000/vision/camera:1\n        desiredProperties: {{{props}}}\n"
    )
    [diag] = _errors(repo, "edge-twin-size")
    assert diag.path == "spec.edge.modules.camera.desiredProperties" and diag.location.line == 17
    size = len(json.dumps({f"p{i}": "v" * 1000 for i in range(33)}, separators=(",", ":")))
    assert diag.message == (
        f"module 'camera': its twin's desired properties are {size} bytes ({size / 1024:.1f} KB); "
        "IoT Hub allows 32768 bytes (32 KB)"
    )
    assert compile_repo(repo).ok is False


def test_one_property_value_over_4_kb_is_refused(copy_example):
    repo = copy_example("edge-vision")
    _add_module(
        repo,
        f"      camera:\n        image: 127.0.0.1:5000/vision/camera:1\n        desiredProperties: {{big: '{'v' * 4200}'}}\n",
    )
    [diag] = _errors(repo, "edge-property-size")
    assert "desired property 'big' is 4202 bytes" in diag.message and "4096 bytes (4 KB)" in diag.message
