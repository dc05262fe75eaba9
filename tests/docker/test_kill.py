"""SIGKILL `modelctl apply` mid-build and mid-deploy: re-running converges. A concurrent apply is
refused with the lock owner in the message."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import tarfile
import time
import uuid

import docker
from testkit import wait_until

from docker_helpers import MODELCTL, _env

ENVIRONMENT = """\
apiVersion: modelctl.io/v1
kind: Environment
metadata: {{name: {name}}}
spec: {{base: python:3.11-slim, pip: [six==1.16.0]}}
"""
MODEL = "apiVersion: modelctl.io/v1\nkind: Model\nmetadata: {name: echo}\nspec: {framework: custom, path: artifacts/echo.txt}\n"
IMAGE = """\
apiVersion: modelctl.io/v1
kind: Image
metadata: {{name: scorer}}
spec: {{models: [echo], environment: {env}, scoring: {{script: score/echo.py}}}}
"""
SCRIPT = "import json\n\n\ndef init():\n    pass\n\n\ndef run(raw):\n    return {'echo': json.loads(raw)}\n"
DEPLOYMENT = """\
apiVersion: modelctl.io/v1
kind: Deployment
metadata: {{name: blue}}
spec:
  image: scorer
  target: local
  auth: {{mode: key, secretRef: test-keys}}
  probes: {{readiness: {{periodSeconds: 1, failureThreshold: 3}}}}
  env: {{GREETING: "{greeting}"}}
"""


def start_apply(root) -> subprocess.Popen:  # noqa: ANN001
    return subprocess.Popen(
        [*MODELCTL, "apply", ".", "--auto-approve"],
        cwd=root,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def wait_for_line(proc: subprocess.Popen, needle: str, timeout: float = 600) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return seen
    raise AssertionError(f"never saw {needle!r}; output:\n{''.join(seen)}")


def pip_step_running(client, env_name: str) -> str | None:  # noqa: ANN001
    """The id of a running build container installing the requirements of Environment/ENV_NAME, if any.

    The classic builder runs each RUN step in a container; ours has /build/requirements.txt, which
    render heads with the environment's id (the name is unique to this test run).
    """
    for row in client.api.containers(filters={"status": "running"}):
        if "pip install" not in row.get("Command", ""):
            continue
        try:
            stream, _ = client.api.get_archive(row["Id"], "/build/requirements.txt")
            with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
                text = tar.extractfile("requirements.txt").read().decode()
        except (docker.errors.APIError, tarfile.TarError, KeyError):  # finished meanwhile, or not ours
            continue
        if f"Environment/{env_name}." in text:
            return row["Id"]
    return None


def kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:  # it ended already (the test says so where it matters)
        pass
    proc.wait(timeout=30)


def test_kill_mid_build_and_mid_deploy_then_converge(workspace):
    ws = workspace
    env_name = "kill-" + uuid.uuid4().hex[:8]  # its own requirements file: the pip layer is built, not cached
    ws.remove("deployments/blue.yaml")
    ws.remove("models/iris.yaml")
    ws.write("environments/env.yaml", ENVIRONMENT.format(name=env_name))
    ws.write("models/iris.yaml", MODEL)
    ws.write("artifacts/echo.txt", "echo")
    ws.write("score/echo.py", SCRIPT)
    ws.write("images/scorer.yaml", IMAGE.format(env=env_name))
    ws.write("deployments/blue.yaml", DEPLOYMENT.format(greeting="hello"))

    # Mid-build: kill once the image build is running (its pip step takes many seconds).
    first = start_apply(ws.root)
    try:
        wait_for_line(first, "Image/scorer")
        wait_until(
            lambda: pip_step_running(ws.docker, env_name) or first.poll() is not None,
            timeout=300,
            interval=0.2,
            message=f"the engine runs the pip step of Environment/{env_name}",
        )
    except BaseException:
        kill(first)
        raise
    assert first.poll() is None, "the first apply finished before its build's pip step was seen running"
    # meanwhile a second apply is refused, naming the owner of the lock
    second = subprocess.run(
        [*MODELCTL, "apply", ".", "--auto-approve"],
        cwd=ws.root,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert second.returncode == 1
    assert f"pid {first.pid}" in second.stderr and "another apply is running" in second.stderr, second.stderr
    assert first.poll() is None, "the first apply finished before it could be killed mid-build"
    kill(first)
    assert ws.backends() == []

    # Re-running converges: it takes over the dead process's lock, builds and deploys.
    rerun = ws.cli("apply", ".", "--auto-approve")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "took over the lock" in rerun.stdout
    assert ws.score("blue", [[1, 2]]).json() == {"echo": {"data": [[1, 2]]}}
    assert ws.cli("plan", ".", "--detailed-exitcode").returncode == 0

    # Mid-deploy: kill while the new container waits for its health gate.
    ws.write("deployments/blue.yaml", DEPLOYMENT.format(greeting="bonjour"))
    old = {c.id for c in ws.backends("blue")}
    proc = start_apply(ws.root)
    wait_for_line(proc, "Deployment/blue")
    try:
        wait_until(
            lambda: len(ws.backends("blue")) >= 2,
            timeout=60,
            interval=0.05,
            message="the new container of Deployment/blue runs next to the old one",
        )
    finally:
        kill(proc)
    assert len(ws.backends("blue")) == 2, "the kill did not land mid-deploy"
    assert ws.score("blue", [[3]]).status_code == 200  # the old container still serves

    replan = ws.cli("plan", ".", "--detailed-exitcode")
    assert replan.returncode == 2, replan.stdout
    rerun = ws.cli("apply", ".", "--auto-approve")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    [blue] = ws.backends("blue")
    assert blue.id not in old and "GREETING=bonjour" in blue.attrs["Config"]["Env"]
    assert ws.score("blue", [[4]]).status_code == 200
    final = ws.cli("plan", ".", "--detailed-exitcode")
    assert final.returncode == 0 and "No changes." in final.stdout, final.stdout
