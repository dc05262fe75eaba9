"""`modelctl devices simulate` on examples/edge-vision, on the real engine: the published bundle
(folder, then OCI) is verified, the target condition evaluated against the device's tags, the scorer
started from the bundle's createOptions answers a real scoring request, and everything it started is
removed; a bundle with one changed byte is refused, naming the file."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

from docker_helpers import MODELCTL, _env

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "edge-vision"
TAGS = ["--device-tags", "site=factory-1", "--device-tags", "camera=true"]


def _cli(root: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([*MODELCTL, *args], cwd=root, capture_output=True, text=True, timeout=timeout, env=_env())


def _leftovers(docker_client, run_label: str = "modelctl.io/simulation") -> list[str]:  # noqa: ANN001
    return [c.name for c in docker_client.containers.list(all=True, filters={"label": run_label})] + [
        n.name for n in docker_client.networks.list(filters={"label": run_label})
    ]


def test_simulate_answers_a_real_request_and_refuses_a_changed_byte(tmp_path, docker_client, oci_registry, base_image):
    name = "sim" + uuid.uuid4().hex[:6]
    root = tmp_path / "repo"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".modelctl", "out"))
    ws = (root / "modelctl.yaml").read_text()
    ws = ws.replace("name: vision-team", f"name: {name}").replace("modelctl/python-base:bookworm", base_image)
    (root / "modelctl.yaml").write_text(ws.replace("127.0.0.1:5000/vision", f"{oci_registry}/{name}"))
    secrets = root / ".modelctl/secrets"
    secrets.mkdir(parents=True)
    (secrets / "digits-keys").write_text("simulated-device-key\n")
    before = set(_leftovers(docker_client))
    try:
        applied = _cli(root, "apply", ".", "--targets", "factory", "--auto-approve")
        assert applied.returncode == 0, applied.stdout + applied.stderr

        run = _cli(root, "devices", "simulate", "digits-edge", ".", *TAGS, timeout=300)
        out = run.stdout
        assert run.returncode == 0, out + run.stderr
        assert "3 files and bundle.tar.gz verified" in out
        assert "digits-edge-debug (" in out and "does not target this device" in out  # needs tags.debug=true
        assert "winner by priority: digits-edge (digits-edge-" in out and "this device gets digits-edge" in out
        assert "user 10001:10001, read-only root, cap-drop ALL, memory 512Mi" in out
        assert "/score → HTTP 200" in out and '{"predictions":[' in out  # the ONNX model answered
        assert "collectedToUpstream: FROM /messages/modules/digits-edge/outputs/collected INTO $upstream" in out
        assert set(_leftovers(docker_client)) == before  # containers and network removed
        assert not any((root / ".modelctl/run").glob("modelctl-sim-*"))  # the secret copy too

        # The scorer refuses the request: exit 1, and still nothing is left behind.
        (root / "bad.json").write_text('{"data": "not rows"}')
        bad = _cli(root, "devices", "simulate", "digits-edge", ".", *TAGS, "--input", "bad.json", timeout=300)
        assert bad.returncode == 1 and "the scorer answered HTTP 4" in bad.stderr, bad.stdout + bad.stderr
        assert "stopped and removed everything" in bad.stdout
        assert set(_leftovers(docker_client)) == before

        # A device without the camera tag does not get it: nothing is started.
        other = _cli(root, "devices", "simulate", "digits-edge", ".", "--device-tags", "site=factory-2")
        assert other.returncode == 1 and "would not get digits-edge" in other.stderr

        # One changed byte in the published bundle: refused, naming the file.
        bundle = root / ".modelctl/published/edge/digits-edge/bundle.tar.gz"
        data = bytearray(bundle.read_bytes())
        data[len(data) // 2] ^= 0x01
        bundle.write_bytes(bytes(data))
        tampered = _cli(root, "devices", "simulate", "digits-edge", ".", *TAGS)
        assert tampered.returncode == 1
        assert (
            "refusing the bundle" in tampered.stderr and "digits-edge/bundle.tar.gz does not match" in tampered.stderr
        )
        assert set(_leftovers(docker_client)) == before

        # Published to an OCI registry instead: fetched from there, and run the same.
        (root / "modelctl.yaml").write_text(
            (root / "modelctl.yaml")
            .read_text()
            .replace("publish: file://.modelctl/published/edge", f"publish: oci://{oci_registry}/{name}-edge")
        )
        applied = _cli(root, "apply", ".", "--targets", "factory", "--auto-approve")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        run = _cli(root, "devices", "simulate", "digits-edge", ".", *TAGS, timeout=300)
        assert run.returncode == 0, run.stdout + run.stderr
        assert f"oci://{oci_registry}/{name}-edge:digits-edge" in run.stdout and "/score → HTTP 200" in run.stdout

        unknown = _cli(root, "devices", "simulate", "digits-edg", ".")
        assert unknown.returncode == 1 and "did you mean 'digits-edge'?" in unknown.stderr
    finally:
        for c in docker_client.containers.list(all=True, filters={"label": f"modelctl.io/workspace={name}"}):
            c.remove(force=True, v=True)
        for n in docker_client.networks.list(filters={"label": f"modelctl.io/workspace={name}"}):
            n.remove()
