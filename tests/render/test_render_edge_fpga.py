"""Edge bundles (IoT Edge manifest, schema, createOptions chunks, tar.gz + SHA256SUMS) and FPGA configs."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import jsonschema
import pytest

from compiler.paths import SCHEMAS_DIR
from compiler.pipeline import compile_repo
from compiler.render import render_graph
from compiler.targets import TARGET_TYPES

EDGE_SCHEMA = json.loads((SCHEMAS_DIR / "edge-deployment.json").read_text())


def _manifest(out: Path, name: str) -> dict:
    return json.loads((out / "edge" / name / "deployment.json").read_text())


def test_edge_manifests_validate(rendered):
    validator = jsonschema.Draft202012Validator(EDGE_SCHEMA)
    for name in ("digits-edge", "digits-edge-debug"):
        errors = list(validator.iter_errors(_manifest(rendered["edge-vision"], name)))
        assert not errors, [e.message for e in errors]


def test_edge_schema_rejects_a_broken_manifest(rendered):
    manifest = _manifest(rendered["edge-vision"], "digits-edge")
    desired = manifest["content"]["modulesContent"]["$edgeAgent"]["properties.desired"]
    desired["modules"]["digits-edge"]["settings"]["createOptions"] = "x" * 513
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(manifest, EDGE_SCHEMA)
    del desired["systemModules"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(manifest, EDGE_SCHEMA)


def test_base_and_layered_deployment(rendered):
    base = _manifest(rendered["edge-vision"], "digits-edge")
    layered = _manifest(rendered["edge-vision"], "digits-edge-debug")
    assert base["priority"] < layered["priority"]
    assert base["targetCondition"] == "tags.site='factory-1' AND tags.camera=true"
    agent = base["content"]["modulesContent"]["$edgeAgent"]["properties.desired"]
    assert set(agent["systemModules"]) == {"edgeAgent", "edgeHub"}
    module = agent["modules"]["digits-edge"]
    assert module["status"] == "running" and module["restartPolicy"] == "always" and module["type"] == "docker"
    assert module["settings"]["image"].startswith("127.0.0.1:5000/vision/digits-scorer:")
    routes = base["content"]["modulesContent"]["$edgeHub"]["properties.desired"]["routes"]
    assert "INTO $upstream" in routes["collectedToUpstream"]
    assert list(layered["content"]["modulesContent"]["$edgeAgent"]) == ["properties.desired.modules.digits-edge-debug"]


def test_create_options_are_a_string_split_in_512_chunks(rendered):
    manifest = _manifest(rendered["edge-vision"], "digits-edge")
    settings = manifest["content"]["modulesContent"]["$edgeAgent"]["properties.desired"]["modules"]["digits-edge"][
        "settings"
    ]
    keys = ["createOptions"] + sorted(k for k in settings if k.startswith("createOptions0"))
    assert len(keys) >= 2, "the scorer's createOptions are long enough to need a second chunk"
    assert all(len(settings[k]) == 512 for k in keys[:-1]) and 0 < len(settings[keys[-1]]) <= 512
    options = json.loads("".join(settings[k] for k in keys))
    assert options["User"] == "10001:10001" and options["HostConfig"]["ReadonlyRootfs"] is True
    assert options["HostConfig"]["Binds"][0] == "/etc/modelctl/secrets/digits-keys:/var/run/secrets/modelctl/auth:ro"


def test_bundle_and_checksums(rendered):
    folder = rendered["edge-vision"] / "edge" / "digits-edge"
    sums = dict(reversed(line.split("  ")) for line in (folder / "SHA256SUMS").read_text().splitlines())
    for name, digest in sums.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    with tarfile.open(fileobj=io.BytesIO((folder / "bundle.tar.gz").read_bytes())) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == ["SHA256SUMS", "deployment.json"]
        assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 and m.mode == 0o644 for m in members)
        inner = tar.extractfile("deployment.json").read()
        inner_sums = tar.extractfile("SHA256SUMS").read().decode()
    assert inner == (folder / "deployment.json").read_bytes()
    assert inner_sums == f"{hashlib.sha256(inner).hexdigest()}  deployment.json\n"
    assert (folder / "bundle.tar.gz").read_bytes()[4:8] == b"\0\0\0\0", "gzip mtime must be 0"


def test_layered_deployment_without_base_is_refused(copy_example):
    repo = copy_example("edge-vision")
    path = repo / "deployments" / "digits-edge.yaml"
    path.write_text(path.read_text().replace("priority: 10", "priority: 30"))
    compiled = compile_repo(repo)
    assert not compiled.ok
    assert any(d.code == "edge-layering" for d in compiled.diagnostics)


def test_long_create_options_of_extra_modules_are_chunked(copy_example, tmp_path):
    repo = copy_example("edge-vision")
    path = repo / "deployments" / "digits-edge.yaml"
    extra = (
        "    modules:\n      camera:\n        image: 127.0.0.1:5000/vision/camera:1\n"
        "        createOptions: {Labels: {note: '" + "n" * 1300 + "'}}\n"
    )
    path.write_text(path.read_text().replace("    routes:\n", extra + "    routes:\n", 1))
    render_graph(compile_repo(repo).require(), tmp_path / "out", types=TARGET_TYPES)
    manifest = _manifest(tmp_path / "out", "digits-edge")
    jsonschema.validate(manifest, EDGE_SCHEMA)
    settings = manifest["content"]["modulesContent"]["$edgeAgent"]["properties.desired"]["modules"]["camera"][
        "settings"
    ]
    assert sorted(k for k in settings if k.startswith("createOptions")) == [
        "createOptions",
        "createOptions01",
        "createOptions02",
    ]
    text = settings["createOptions"] + settings["createOptions01"] + settings["createOptions02"]
    assert json.loads(text)["Labels"]["note"] == "n" * 1300


def test_fpga_config(rendered):
    folder = rendered["edge-vision"] / "fpga" / "digits-fpga"
    config = json.loads((folder / "accelerator.json").read_text())
    assert config["schemaVersion"] == 1 and config["device"] == {"family": "alveo", "part": "u250"}
    assert config["bitstream"]["architecture"] == "int8-dpu" and len(config["bitstream"]["sha256"]) == 64
    (model,) = config["models"]
    artifact = model["artifact"]
    assert artifact["architecture"] == config["bitstream"]["architecture"]
    assert hashlib.sha256((folder / artifact["path"]).read_bytes()).hexdigest() == artifact["sha256"]
    assert config["serving"]["image"].startswith("127.0.0.1:5000/vision/digits-scorer:")
    assert config["batchSize"] == 8 and config["precision"] == "int8"


@pytest.mark.parametrize("mode", ["mtls", "token", "key"])
def test_fpga_names_the_default_auth_secret(copy_example, tmp_path, mode):
    """Without auth.secretRef the host must provision `<deployment>-keys`, the secret every other
    target reads by default: the config names it instead of leaving `secretRef: null`."""
    repo = copy_example("edge-vision")
    path = repo / "deployments" / "digits-fpga.yaml"
    path.write_text(path.read_text().replace("auth: {mode: mtls, secretRef: rack-7-certs}", f"auth: {{mode: {mode}}}"))
    out = tmp_path / "out"
    render_graph(compile_repo(repo).require(), out, types=TARGET_TYPES)
    config = json.loads((out / "fpga" / "digits-fpga" / "accelerator.json").read_text())
    assert config["serving"]["auth"] == {"mode": mode, "secretRef": "digits-fpga-keys"}


def test_fpga_without_auth_names_no_secret(copy_example, tmp_path):
    repo = copy_example("edge-vision")
    path = repo / "deployments" / "digits-fpga.yaml"
    path.write_text(path.read_text().replace("auth: {mode: mtls, secretRef: rack-7-certs}", "auth: {mode: none}"))
    out = tmp_path / "out"
    render_graph(compile_repo(repo).require(), out, types=TARGET_TYPES)
    config = json.loads((out / "fpga" / "digits-fpga" / "accelerator.json").read_text())
    assert config["serving"]["auth"] == {"mode": "none", "secretRef": None}


def test_fpga_architecture_mismatch_is_refused(copy_example):
    repo = copy_example("edge-vision")
    path = repo / "deployments" / "digits-fpga.yaml"
    path.write_text(path.read_text().replace("architecture: int8-dpu", "architecture: fp16-dpu"))
    compiled = compile_repo(repo)
    assert any(d.code == "fpga-architecture" for d in compiled.diagnostics)


def test_registry_credentials_only_by_reference(copy_example, tmp_path):
    repo = copy_example("edge-vision")
    ws = repo / "modelctl.yaml"
    ws.write_text(
        ws.read_text().replace(
            "      hub: factory-hub\n", "      hub: factory-hub\n      registryCredentials: vision-pull\n"
        )
    )
    render_graph(compile_repo(repo).require(), tmp_path / "out", types=TARGET_TYPES)
    manifest = _manifest(tmp_path / "out", "digits-edge")
    jsonschema.validate(manifest, EDGE_SCHEMA)
    creds = manifest["content"]["modulesContent"]["$edgeAgent"]["properties.desired"]["runtime"]["settings"][
        "registryCredentials"
    ]
    assert creds == {
        "visionpull": {
            "address": "127.0.0.1:5000",
            "username": "$secret:vision-pull/username",
            "password": "$secret:vision-pull/password",
        }
    }
    creds["visionpull"]["password"] = "hunter2"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(manifest, EDGE_SCHEMA)
