"""The executor's ordering, failure handling and history, and the workspace lock — on a real SQLite
registry, with recording fakes standing in for the engine (the docker suite runs the real one)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from live_support import LiveFacts, make_plan

from compiler.plan import ApplyError
from compiler.plan.apply import execute
from compiler.plan.lock import workspace_lock
from compiler.plan.services import BuiltImage, Services
from compiler.plan.target import DeployResult
from compiler.registry import open_registry
from compiler.targets import TARGET_TYPES


class Builder:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[str] = []
        self.fail = fail
        self.lock = threading.Lock()

    def build(self, context: Path, ref: str, *, resource: str, progress) -> BuiltImage:  # noqa: ANN001
        assert (context / "Dockerfile").is_file() and (context / "config.json").is_file()
        with self.lock:
            self.calls.append(f"build {resource}")
        if self.fail and "iris" in resource:
            raise ApplyError(f"{resource}: docker build failed at Step 4/20 : RUN pip install")
        return BuiltImage(ref, ref)

    def push(self, built: BuiltImage, *, progress) -> BuiltImage:  # noqa: ANN001
        repo, _, tag = built.ref.rpartition(":")
        return BuiltImage(built.ref, f"{repo}@sha256:{'b' * 64}")


class Target:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def deploy(self, request, *, progress) -> DeployResult:  # noqa: ANN001
        self.calls.append(f"deploy {request.resource} {request.image_ref}")
        return DeployResult(f"http://127.0.0.1:1800{len(self.calls)}", f"c-{request.name}")

    def delete(self, target_name, target, name, *, progress) -> None:  # noqa: ANN001
        self.calls.append(f"delete {name}")


@pytest.fixture
def registry(repo):
    with open_registry("sqlite:///.modelctl/registry.db", "file://.modelctl/artifacts", repo.root) as reg:
        yield reg


def test_stages_run_in_order_and_everything_is_recorded(repo, registry):
    graph = repo.graph()
    plan = make_plan(graph, LiveFacts())
    builder, target = Builder(), Target()
    connections = {"docker": target, "kubernetes": target}
    outcome = execute(plan, graph, Services(registry, builder, connections), TARGET_TYPES, git_commit="abc", user="ci")
    assert outcome.ok
    assert sorted(builder.calls) == ["build Image/iris-scorer", "build Image/other-scorer"]
    assert sorted(c.split()[1] for c in target.calls) == [
        "Deployment/iris-local",
        "Deployment/iris-prod",
        "Deployment/other-local",
    ]
    assert registry.get_model("iris").version == 1
    assert registry.get_image("iris-scorer").image_ref.endswith("@sha256:" + "b" * 64)
    records = {d.name: d for d in registry.list_deployments()}
    assert set(records) == {"iris-local", "iris-prod", "other-local"} and records["iris-local"].image_version == 1
    history = registry.history(run_id=outcome.run_id)
    assert len(history) == 7 and {h.result for h in history} == {"ok"}
    assert {h.user for h in history} == {"ci"} and {h.git_commit for h in history} == {"abc"}
    order = [h.resource for h in reversed(history)]
    assert order.index("Model/iris") < order.index("Image/iris-scorer") < order.index("Deployment/iris-local")


def test_a_failure_skips_its_dependants_only(repo, registry):
    graph = repo.graph()
    plan = make_plan(graph, LiveFacts())
    target = Target()
    outcome = execute(plan, graph, Services(registry, Builder(fail=True), {"docker": target}), TARGET_TYPES)
    results = {r.resource: r.result for r in outcome.results}
    assert results["Image/iris-scorer"] == "failed" and results["Deployment/iris-local"] == "skipped"
    assert results["Image/other-scorer"] == "ok" and results["Deployment/other-local"] == "ok"
    assert target.calls == [target.calls[0]] and "other-local" in target.calls[0]
    failed = registry.history(resource="Image/iris-scorer")[0]
    assert failed.result == "failed" and "Step 4/20" in failed.detail["error"]


def test_second_apply_is_refused_with_the_owner(repo, registry):
    with workspace_lock(registry, "team"):
        with pytest.raises(ApplyError, match=r"held by .*@.* pid \d+ for 'apply'"):
            with workspace_lock(registry, "team"):
                pass
    with workspace_lock(registry, "team"):  # released after use
        pass


def test_a_lock_of_a_dead_process_on_this_host_is_taken_over(repo, registry):
    import socket

    registry.acquire_lock("workspace/team", f"ci@{socket.gethostname()} pid 999999999", "apply", 600)
    with workspace_lock(registry, "team") as lease:
        assert any("took over" in n for n in lease.notes)
    registry.acquire_lock("workspace/team", "ci@another-host pid 1", "apply", 600)
    with pytest.raises(ApplyError, match="another-host"):
        with workspace_lock(registry, "team"):
            pass


def test_apply_records_the_image_inputs_a_later_plan_names(repo, registry):
    """sklearn → custom on the same file: a new model version, and the rebuild says the framework changed."""
    from compiler.plan.state import RegistryReader, Wanted

    graph = repo.graph()
    assert execute(
        make_plan(graph, LiveFacts()),
        graph,
        Services(registry, Builder(), {"docker": Target(), "kubernetes": Target()}),
        TARGET_TYPES,
    ).ok
    inputs = registry.get_image("iris-scorer").properties["inputs"]
    assert inputs["model iris framework"] == "custom" and inputs["scoring script"].startswith("score/score.py ")
    repo.write("models/models.yaml", (repo.root / "models/models.yaml").read_text().replace("custom", "sklearn", 1))
    graph = repo.graph()
    wanted = Wanted("team", str(repo.root), models=("iris", "other"), images=("iris-scorer", "other-scorer"))
    facts = RegistryReader(registry).read(wanted)
    live = LiveFacts(models=facts["models"], images=facts["images"])
    plan = make_plan(graph, live)
    assert plan.action("Model/iris").reasons == ("register: model iris 1 → 2 (framework custom → sklearn)",)
    assert plan.action("Image/iris-scorer").reasons == (
        "rebuild: model iris 1 → 2",
        "rebuild: model iris framework custom → sklearn",
    )
    assert execute(
        plan, graph, Services(registry, Builder(), {"docker": Target(), "kubernetes": Target()}), TARGET_TYPES
    ).ok
    assert (registry.get_model("iris").version, registry.get_model("iris").framework) == (2, "sklearn")
