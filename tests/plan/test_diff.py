"""make_plan on a small repo against fake live states: expected actions, reasons and order."""

from __future__ import annotations

import dataclasses
import json

import pytest
from live_support import LiveFacts, make_plan
from testkit import changes

from compiler.plan import PlanError, Scope
from compiler.plan.document import to_document as plan_document
from compiler.plan.scope import facts_requests, select
from compiler.targets import TARGET_TYPES
from compiler.targets.docker.facts import ContainerFact
from compiler.targets.docker.secret_refs import secret_refs


def test_empty_live_state_creates_everything_in_dependency_order(repo, converge):
    plan = make_plan(repo.graph(), LiveFacts())
    assert changes(plan) == {
        "Model/iris": "create",
        "Model/other": "create",
        "Image/iris-scorer": "create",
        "Image/other-scorer": "create",
        "Deployment/iris-local": "create",
        "Deployment/other-local": "create",
        "Deployment/iris-prod": "create",
    }
    assert tuple(s.resources for s in plan.stages) == (
        ("Model/iris", "Model/other"),
        ("Image/iris-scorer", "Image/other-scorer"),
        ("Deployment/iris-local", "Deployment/iris-prod", "Deployment/other-local"),
    )
    assert plan.action("Deployment/iris-local").depends_on == ("Image/iris-scorer", "Model/iris")
    assert plan.action("Model/iris").reasons == ("register: model iris version 1",)
    assert plan.counts() == {"add": 7, "change": 0, "destroy": 0}


def test_kubernetes_deployments_are_planned_not_render_only(repo, converge):
    plan = make_plan(repo.graph(), LiveFacts())
    assert plan.not_applied == ()
    prod = plan.action("Deployment/iris-prod")
    assert prod.action == "create" and prod.target == "prod"
    assert prod.reasons[0].startswith("deploy: iris-prod on target prod")


def test_converged_state_plans_no_changes(repo, converge):
    graph = repo.graph()
    plan = make_plan(graph, converge(graph))
    assert not plan.has_changes, changes(plan)
    assert {a.action for a in plan.actions} == {"no-op"}


CASES = {
    # name: (edit the repo, expected changes, expected reason fragments per resource)
    "model file changed": (
        lambda r: r.write("artifacts/iris.bin", "iris v2"),
        {
            "Model/iris": "update",
            "Image/iris-scorer": "update",
            "Deployment/iris-local": "update",
            "Deployment/iris-prod": "update",
        },
        {
            "Model/iris": "register: model iris 1 → 2",
            "Deployment/iris-prod": "roll out: image iris-scorer changed (model iris 1 → 2)",
            "Image/iris-scorer": "rebuild: model iris 1 → 2",
            "Deployment/iris-local": "roll out: image iris-scorer changed (model iris 1 → 2)",
        },
    ),
    "deployment memory changed": (
        lambda r: r.write(
            "deployments/deployments.yaml",
            r.root.joinpath("deployments/deployments.yaml")
            .read_text()
            .replace("target: local, auth", "target: local, resources: {memory: 1Gi}, auth"),
        ),
        {"Deployment/iris-local": "update"},
        {"Deployment/iris-local": "spec.resources.memory"},
    ),
    "scoring script changed": (
        lambda r: r.write("score/score.py", "def init():\n    pass\n\ndef run(data):\n    return [data]\n"),
        {
            "Image/iris-scorer": "update",
            "Image/other-scorer": "update",
            "Deployment/iris-local": "update",
            "Deployment/other-local": "update",
            "Deployment/iris-prod": "update",
        },
        {"Image/iris-scorer": "rebuild: scoring script score/score.py "},
    ),
    "model framework changed, same file": (
        lambda r: r.write(
            "models/models.yaml",
            r.root.joinpath("models/models.yaml")
            .read_text()
            .replace("{framework: custom, path: artifacts/iris.bin}", "{framework: sklearn, path: artifacts/iris.bin}"),
        ),
        {
            "Model/iris": "update",
            "Image/iris-scorer": "update",
            "Deployment/iris-local": "update",
            "Deployment/iris-prod": "update",
        },
        {
            "Model/iris": "register: model iris 1 → 2 (framework custom → sklearn)",
            "Image/iris-scorer": "rebuild: model iris framework custom → sklearn",
        },
    ),
    "image port changed": (
        lambda r: r.write(
            "images/images.yaml",
            r.root.joinpath("images/images.yaml")
            .read_text()
            .replace("scoring: {script: score/score.py}}", "scoring: {script: score/score.py}, port: 9090}", 1),
        ),
        {"Image/iris-scorer": "update", "Deployment/iris-local": "update", "Deployment/iris-prod": "update"},
        {"Image/iris-scorer": "rebuild: port 8080 → 9090"},
    ),
    "deployment removed from git": (
        lambda r: r.write(
            "deployments/deployments.yaml",
            r.root.joinpath("deployments/deployments.yaml").read_text().split("---\n")[0]
            + "---\n"
            + r.root.joinpath("deployments/deployments.yaml").read_text().split("---\n")[2],
        ),
        {"Deployment/other-local": "delete"},
        {"Deployment/other-local": "prune: removed from git"},
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_change_plans_exactly_what_it_needs(repo, case, converge):
    edit, expected, reasons = CASES[case]
    live = converge(repo.graph())
    edit(repo)
    plan = make_plan(repo.graph(), live)
    assert changes(plan) == expected
    for resource, fragment in reasons.items():
        text = " | ".join(plan.action(resource).reasons) + " | " + " ".join(d.path for d in plan.action(resource).diffs)
        assert fragment in text, text


def test_field_level_diff_of_a_deployment(repo, converge):
    live = converge(repo.graph())
    repo.write(
        "deployments/deployments.yaml",
        repo.root.joinpath("deployments/deployments.yaml")
        .read_text()
        .replace("target: local, auth", "target: local, resources: {memory: 1Gi}, auth"),
    )
    action = make_plan(repo.graph(), live).action("Deployment/iris-local")
    assert [(d.path, d.before, d.after) for d in action.diffs] == [("spec.resources.memory", "512Mi", "1Gi")]


def test_model_change_stages_follow_dependencies(repo, converge):
    live = converge(repo.graph())
    repo.write("artifacts/iris.bin", "iris v2")
    plan = make_plan(repo.graph(), live)
    assert tuple(s.resources for s in plan.stages) == (
        ("Model/iris",),
        ("Image/iris-scorer",),
        ("Deployment/iris-local", "Deployment/iris-prod"),
    )


def test_spec_label_order_and_engine_defaults_are_not_drift(repo, converge):
    graph = repo.graph()
    live = converge(graph)
    import json

    reordered = []
    for c in live.containers:
        spec = json.loads(c.spec)
        reordered.append(dataclasses.replace(c, spec=json.dumps(dict(reversed(list(spec.items()))))))
    plan = make_plan(graph, dataclasses.replace(live, containers=tuple(reordered)))
    assert not plan.has_changes


def test_no_prune_keeps_resources_gone_from_git(repo, converge):
    live = converge(repo.graph())
    text = repo.root.joinpath("deployments/deployments.yaml").read_text().split("---\n")
    repo.write("deployments/deployments.yaml", text[0] + "---\n" + text[2])
    assert changes(make_plan(repo.graph(), live, scope=Scope(prune=False))) == {}


def test_prevent_destroy_blocks_deletion(repo, converge):
    graph = repo.graph()
    live = converge(graph)
    protected = tuple(
        dataclasses.replace(c, prevent_destroy=True) if c.deployment == "other-local" else c for c in live.containers
    )
    text = repo.root.joinpath("deployments/deployments.yaml").read_text().split("---\n")
    repo.write("deployments/deployments.yaml", text[0] + "---\n" + text[2])
    with pytest.raises(PlanError, match="preventDestroy"):
        make_plan(repo.graph(), dataclasses.replace(live, containers=protected))


def test_prune_never_touches_what_is_not_labelled_as_ours(repo, converge):
    """Only facts read by label are candidates: an empty live state never plans a delete."""
    text = repo.root.joinpath("deployments/deployments.yaml").read_text().split("---\n")
    repo.write("deployments/deployments.yaml", text[2])
    assert not any(a.action == "delete" for a in make_plan(repo.graph(), LiveFacts()).actions)


@pytest.mark.parametrize(
    "mutate, reason",
    [
        (
            lambda live: dataclasses.replace(
                live, routers={k: dataclasses.replace(r, running=False) for k, r in live.routers.items()}
            ),
            "router",
        ),
        (
            lambda live: dataclasses.replace(
                live, containers=tuple(dataclasses.replace(c, state="exited") for c in live.containers)
            ),
            "restart: container",
        ),
        (lambda live: dataclasses.replace(live, records=()), "record: the registry's deployment record"),
        (lambda live: dataclasses.replace(live, routers={}), "route: no healthy container"),
        (
            lambda live: dataclasses.replace(
                live,
                containers=live.containers
                + (
                    ContainerFact(
                        "old",
                        "team-iris-local-000000000000",
                        "local",
                        "iris-local",
                        "0" * 64,
                        "x",
                        "running",
                        None,
                        "{}",
                        1,
                    ),
                ),
            ),
            "clean up: 1 old container",
        ),
    ],
)
def test_repairs_after_a_crash_or_manual_change(repo, mutate, reason, converge):
    graph = repo.graph()
    plan = make_plan(graph, mutate(converge(graph)))
    action = plan.action("Deployment/iris-local")
    assert action.action == "update"
    assert any(reason in r for r in action.reasons), action.reasons


def _with_replicas(repo, n: int) -> None:
    repo.write(
        "deployments/deployments.yaml",
        repo.root.joinpath("deployments/deployments.yaml")
        .read_text()
        .replace(
            "spec: {image: iris-scorer, target: local,", f"spec: {{image: iris-scorer, target: local, replicas: {n},"
        ),
    )


def test_replicas_converged_is_a_no_op_and_a_count_change_rolls_out(repo, converge):
    _with_replicas(repo, 3)
    live = converge(repo.graph())
    assert len(live.containers_of("local", "iris-local")) == 3
    assert changes(make_plan(repo.graph(), live)) == {}
    repo.write(
        "deployments/deployments.yaml",
        repo.root.joinpath("deployments/deployments.yaml").read_text().replace("replicas: 3,", "replicas: 2,"),
    )
    action = make_plan(repo.graph(), live).action("Deployment/iris-local")
    assert action.action == "update"
    assert [(d.path, d.before, d.after) for d in action.diffs] == [("spec.replicas", 3, 2)]


@pytest.mark.parametrize(
    "replica, mutate, reason",
    [
        (2, lambda c: None, "restart: container team-iris-local-{fp}-2 is gone"),
        (3, lambda c: dataclasses.replace(c, state="exited"), "restart: container team-iris-local-{fp}-3 is exited"),
        (1, lambda c: None, "restart: container team-iris-local-{fp} is gone"),
    ],
)
def test_a_lost_replica_is_restarted_and_nothing_else(repo, replica, mutate, reason, converge):
    _with_replicas(repo, 3)
    graph = repo.graph()
    live = converge(graph)
    fp = graph.get("Deployment/iris-local").fingerprint[:12]
    lost = f"team-iris-local-{fp}" + (f"-{replica}" if replica > 1 else "")
    kept = tuple(x for c in live.containers for x in ([mutate(c)] if c.name == lost else [c]) if x is not None)
    plan = make_plan(graph, dataclasses.replace(live, containers=kept))
    assert changes(plan) == {"Deployment/iris-local": "update"}
    assert plan.action("Deployment/iris-local").reasons == (reason.format(fp=fp),)


def _with_secrets(live, started: dict, now: dict):  # noqa: ANN001, ANN202
    """iris-local's containers started with `started` digests; the secrets read now are `now`."""
    containers = tuple(
        dataclasses.replace(c, secrets=tuple(sorted(started.items())) if started is not None else None)
        if c.deployment == "iris-local"
        else c
        for c in live.containers
    )
    return dataclasses.replace(live, containers=containers, secrets=now)


@pytest.mark.parametrize(
    "started, now, reasons",
    [
        ({"iris-keys": "sha256:1"}, {"iris-keys": "sha256:1"}, None),
        ({"iris-keys": "sha256:1"}, {"iris-keys": "sha256:2"}, ("roll out: secret value changed: iris-keys",)),
        (
            {"iris-keys": "sha256:1"},
            {"iris-keys": None},
            ("roll out: secret value changed: iris-keys (not found; apply generates a new key)",),
        ),
        ({"iris-keys": "sha256:1"}, {}, None),  # secrets not read (no reader): nothing compared
        (None, {"iris-keys": "sha256:2"}, None),  # a container that recorded nothing: nothing compared
    ],
)
def test_a_rotated_secret_value_plans_a_roll_out_without_showing_it(repo, started, now, reasons, converge):
    graph = repo.graph()
    plan = make_plan(graph, _with_secrets(converge(graph), started, now))
    if reasons is None:
        assert changes(plan) == {}
        return
    assert changes(plan) == {"Deployment/iris-local": "update"}
    action = plan.action("Deployment/iris-local")
    assert action.reasons == reasons and action.diffs == ()
    assert "sha256:2" not in json.dumps(plan_document(plan))


def test_the_secrets_a_deployment_reads_are_wanted_and_move_the_live_fingerprint(repo, converge):
    graph = repo.graph()
    requests = facts_requests(graph, select(graph, Scope(), TARGET_TYPES), TARGET_TYPES)
    read = sorted({ref for d in requests["docker"].deployments for ref in secret_refs(d.name, d.spec)})
    assert read == ["iris-keys", "other-local-keys"]  # named ref, and the default <name>-keys
    live = converge(graph)
    assert (
        dataclasses.replace(live, secrets={"iris-keys": "sha256:1"}).fingerprint()
        != dataclasses.replace(live, secrets={"iris-keys": "sha256:2"}).fingerprint()
    )


def test_missing_push_is_planned(repo, converge):
    graph = repo.graph()
    live = converge(graph)
    plan = make_plan(graph, dataclasses.replace(live, manifests={k: None for k in live.manifests}))
    assert changes(plan) == {"Image/iris-scorer": "update", "Image/other-scorer": "update"}
    assert "push:" in plan.action("Image/iris-scorer").reasons[0]


def test_targets_filter_and_resource_targeting(repo, converge):
    graph = repo.graph()
    only_local = make_plan(graph, LiveFacts(), scope=Scope(targets=("local",)))
    assert not only_local.not_applied
    assert "Deployment/iris-prod" not in {a.resource for a in only_local.actions}
    model_only = make_plan(graph, LiveFacts(), scope=Scope(resources=("Model/iris",)))
    assert changes(model_only) == {"Model/iris": "create"}
    image = make_plan(graph, LiveFacts(), scope=Scope(resources=("Image/iris-scorer",)))
    assert changes(image) == {"Model/iris": "create", "Image/iris-scorer": "create"}
    deployment = make_plan(graph, LiveFacts(), scope=Scope(resources=("Deployment/iris-local",)))
    assert changes(deployment) == {
        "Model/iris": "create",
        "Image/iris-scorer": "create",
        "Deployment/iris-local": "create",
    }


@pytest.mark.parametrize(
    "scope, message",
    [
        (Scope(targets=("locl",)), "did you mean 'local'"),
        (Scope(resources=("Image/iris-scorr",)), "Image/iris-scorer"),
        (Scope(resources=("iris",)), "KIND/NAME"),
    ],
)
def test_bad_scope_is_a_clear_error(repo, scope, message, converge):
    with pytest.raises(PlanError, match=message):
        make_plan(repo.graph(), LiveFacts(), scope=scope)


def test_live_state_fingerprint_moves_with_what_the_plan_depends_on(repo, converge):
    graph = repo.graph()
    live = converge(graph)
    same = converge(graph)
    assert live.fingerprint() == same.fingerprint()
    healthier = dataclasses.replace(
        live, containers=tuple(dataclasses.replace(c, health="starting") for c in live.containers)
    )
    assert healthier.fingerprint() == live.fingerprint()  # health is not state
    moved = dataclasses.replace(live, containers=live.containers[1:])
    assert moved.fingerprint() != live.fingerprint()


def test_an_image_recorded_without_inputs_keeps_the_fingerprint_reason(repo, converge):
    live = converge(repo.graph())
    old = {
        name: dataclasses.replace(fact, inputs=None) for name, fact in live.images.items()
    }  # recorded before apply kept inputs
    repo.write("score/score.py", "def run(data):\n    return 1\n")
    action = make_plan(repo.graph(), live.replace(images=old)).action("Image/iris-scorer")
    assert action.reasons[0].startswith("rebuild: image definition changed (environment, scoring code or spec;")
