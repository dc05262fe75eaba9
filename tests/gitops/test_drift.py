"""Drift classification over hand-built plans and live states (pure data, no services)."""

from __future__ import annotations

import json

import pytest

from compiler.gitops.drift import OWNED_FIELDS, RENDERERS, OwnedField, find_drift, owner_of, to_json
from compiler.plan.model import Action, FieldDiff, NotApplied, Plan, Removal, Scope
from compiler.plan.state import ImageFact, LiveState, RecordFact
from compiler.targets.docker.facts import ContainerFact, DockerFacts, RouteFact, RouterFact

FP_GIT, FP_OLD, FP_HAND = "a" * 64, "b" * 64, "c" * 64
TARGETS = {"local": "docker", "prod": "kubernetes"}


def plan(*actions: Action, not_applied=()) -> Plan:
    return Plan(
        "team",
        "/repo",
        Scope(),
        tuple(actions),
        (),
        "f" * 64,
        tuple(not_applied),
        git_commit="1" * 40,
        git_branch="main",
        git_dirty=False,
    )


def deployment(action="update", reasons=("restart: container team-blue-x is exited",), diffs=(), name="blue"):
    return Action(
        f"Deployment/{name}",
        action,
        tuple(reasons),
        tuple(diffs),
        target="local",
        fingerprint=None if action == "delete" else FP_GIT,
        change=Removal(name) if action == "delete" else None,
    )


def live(record_fp: str | None = FP_GIT, container: bool = True) -> LiveState:
    records = (RecordFact("blue", "local", "scorer", 1, "http://127.0.0.1:18000", record_fp),) if record_fp else ()
    containers = (
        (ContainerFact("id", "team-blue-x", "local", "blue", FP_GIT, "reg/scorer:1", "exited", None, "{}", 40000),)
        if container
        else ()
    )
    routes = (RouteFact("blue", "team-blue-x", 18000, 40000, FP_GIT),) if container else ()
    return LiveState(
        records=records,
        targets={"local": DockerFacts(containers, RouterFact("local", "router", True, "127.0.0.1", routes))},
    )


def kinds(report) -> dict[str, str]:
    return {i.resource: i.kind for i in report.items}


# --- fields owned by someone else than git -----------------------------------------------------


@pytest.mark.parametrize(
    "path, spec, target, owner",
    [
        ("spec.replicas", {"autoscale": {"min": 1, "max": 4}}, "kubernetes", "the autoscaler (spec.autoscale)"),
        ("spec.replicas", {}, "kubernetes", None),
        ("spec.replicas", {}, "docker", None),
        (
            "spec.replicas",
            {"autoscale": {"min": 1, "max": 4}},
            "docker",
            None,
        ),  # docker runs spec.replicas containers: a change is real drift
        ("spec.replicas.count", {"autoscale": {"min": 1}}, "kubernetes", "the autoscaler (spec.autoscale)"),
        ("spec.replicasExtra", {"autoscale": {"min": 1}}, "kubernetes", None),
        ("spec.resources.memory", {"autoscale": {"min": 1}}, "docker", None),
    ],
)
def test_owner_of(path, spec, target, owner):
    assert owner_of(path, spec, target) == owner


def test_owner_rules_are_data():
    rules = OWNED_FIELDS + (OwnedField("spec.env.INJECTED", "a mutating webhook", lambda s, t: t == "kubernetes"),)
    assert owner_of("spec.env.INJECTED", {}, "kubernetes", rules) == "a mutating webhook"
    assert owner_of("spec.env.INJECTED", {}, "docker", rules) is None


# --- by hand, pending, expected --------------------------------------------------------------


def test_live_changed_while_the_last_apply_matches_git_is_by_hand():
    report = find_drift(plan(deployment()), live(FP_GIT), specs={}, targets=TARGETS)
    assert kinds(report) == {"Deployment/blue": "by-hand"} and report.exit_code == 2


def test_git_changed_since_the_last_apply_is_pending():
    report = find_drift(
        plan(deployment(reasons=("roll out: image scorer changed",))), live(FP_OLD), specs={}, targets=TARGETS
    )
    assert kinds(report) == {"Deployment/blue": "pending"} and report.exit_code == 2


def test_never_applied_is_pending_but_unrecorded_containers_are_by_hand():
    assert kinds(find_drift(plan(deployment("create")), live(None, container=False), specs={}, targets=TARGETS)) == {
        "Deployment/blue": "pending"
    }
    assert kinds(find_drift(plan(deployment()), live(None, container=True), specs={}, targets=TARGETS)) == {
        "Deployment/blue": "by-hand"
    }


def test_deletes_removed_from_git_are_pending_live_leftovers_by_hand():
    gone = deployment("delete", reasons=("prune: removed from git",))
    assert kinds(find_drift(plan(gone), live(FP_OLD), specs={}, targets=TARGETS)) == {"Deployment/blue": "pending"}
    assert kinds(find_drift(plan(gone), live(None), specs={}, targets=TARGETS)) == {"Deployment/blue": "by-hand"}


def test_models_and_images():
    model = Action("Model/iris", "update", ("register: model iris 1 → 2",), fingerprint=FP_GIT)
    rebuilt = Action("Image/scorer", "update", ("rebuild: model iris 1 → 2",), fingerprint=FP_GIT)
    deleted_tag = Action("Image/other", "update", ("push: reg/other:1 is missing",), fingerprint=FP_GIT)
    state = LiveState(
        images={
            "scorer": ImageFact("scorer", 1, FP_OLD, "reg/scorer@sha256:1", ()),
            "other": ImageFact("other", 1, FP_GIT, "reg/other@sha256:1", ()),
        }
    )
    report = find_drift(plan(model, rebuilt, deleted_tag), state, specs={}, targets=TARGETS)
    assert kinds(report) == {"Model/iris": "pending", "Image/scorer": "pending", "Image/other": "by-hand"}


def test_only_owned_fields_is_expected_not_drift():
    replicas = deployment(reasons=("roll out: spec.replicas changed",), diffs=(FieldDiff("spec.replicas", 3, 1),))
    specs = {"Deployment/blue": {"autoscale": {"min": 1, "max": 5}}}
    report = find_drift(plan(replicas), live(FP_GIT), specs=specs, targets={"local": "kubernetes"})
    assert kinds(report) == {"Deployment/blue": "expected"} and report.exit_code == 0
    assert report.items[0].fields[0].owner == "the autoscaler (spec.autoscale)"
    assert "No drift" in RENDERERS["text"](report) and "owned by the autoscaler" in RENDERERS["text"](report)


def test_on_docker_a_replica_count_changed_by_hand_is_drift_even_with_autoscale():
    replicas = deployment(reasons=("roll out: spec.replicas changed",), diffs=(FieldDiff("spec.replicas", 3, 1),))
    specs = {"Deployment/blue": {"autoscale": {"min": 1, "max": 5}}}
    report = find_drift(plan(replicas), live(FP_GIT), specs=specs, targets=TARGETS)
    assert kinds(report) == {"Deployment/blue": "by-hand"} and report.exit_code == 2
    assert report.items[0].fields[0].owner is None


def test_an_owned_field_beside_a_real_change_is_still_drift():
    mixed = deployment(
        reasons=("roll out: spec.replicas, spec.resources.memory changed",),
        diffs=(FieldDiff("spec.replicas", 3, 1), FieldDiff("spec.resources.memory", "1Gi", "512Mi")),
    )
    specs = {"Deployment/blue": {"autoscale": {"min": 1, "max": 5}}}
    report = find_drift(plan(mixed), live(FP_GIT), specs=specs, targets={"local": "kubernetes"})
    assert kinds(report) == {"Deployment/blue": "by-hand"} and report.exit_code == 2
    assert [f.owner is not None for f in report.items[0].fields] == [True, False]


def test_in_sync_and_render_only_targets():
    from compiler.plan.target import TargetType
    from compiler.targets import TARGET_TYPES

    class RenderOnly(TargetType):  # every built-in type applies now; a type that only renders is not checked
        name = "kubernetes"

    noop = Action("Deployment/blue", "no-op", target="local", fingerprint=FP_GIT)
    report = find_drift(
        plan(noop, not_applied=[NotApplied("Deployment/blue-prod", "prod", "render only")]),
        live(FP_GIT),
        specs={},
        targets=TARGETS,
        types={**TARGET_TYPES, "kubernetes": RenderOnly()},
    )
    assert report.items == () and report.exit_code == 0 and report.checked == ("local",)
    [nc] = report.not_checked
    assert (nc.target, nc.type, nc.resources) == ("prod", "kubernetes", ("Deployment/blue-prod",))
    text = RENDERERS["text"](report)
    assert "No drift" in text and "not checked: target prod (kubernetes): render only" in text


def test_outputs_name_each_resource_and_field():
    changed = deployment(
        reasons=("roll out: spec.resources.memory changed",),
        diffs=(FieldDiff("spec.resources.memory", "1Gi", "512Mi"),),
    )
    report = find_drift(plan(changed), live(FP_GIT), specs={}, targets=TARGETS)
    doc = json.loads(RENDERERS["json"](report))
    assert doc == to_json(report) and doc["drift"] is True
    assert doc["summary"] == {"by-hand": 1, "pending": 0, "expected": 0, "rolled-back": 0}
    assert doc["items"][0]["fields"] == [{"path": "spec.resources.memory", "live": "1Gi", "git": "512Mi"}]
    assert doc["git"] == {"commit": "1" * 40, "branch": "main", "dirty": False}
    text = RENDERERS["text"](report)
    assert "changed by hand since the last apply:" in text
    assert "spec.resources.memory: live 1Gi → git 512Mi" in text and "Drift: 1 changed by hand" in text
    md = RENDERERS["markdown"](report)
    assert "| `Deployment/blue` | local | by-hand | update |" in md and "`spec.resources.memory`" in md


def test_differences_a_target_type_owns_on_purpose_are_expected_not_drift():
    from compiler.plan.model import FieldDiff
    from compiler.plan.target import TargetType
    from compiler.targets import TARGET_TYPES

    class Autoscaled(TargetType):  # as kubernetes reports an HPA's replica count
        name = "kubernetes"
        applies = True

        def expected_differences(self, facts, deployment, spec):  # noqa: ANN001, ANN201
            return [(FieldDiff("spec.replicas", 5, "2..6 (autoscale)"), "the autoscaler (spec.autoscale)")]

    noop = Action("Deployment/blue-prod", "no-op", target="prod", fingerprint=FP_GIT)
    report = find_drift(
        plan(noop), live(FP_GIT), specs={}, targets=TARGETS, types={**TARGET_TYPES, "kubernetes": Autoscaled()}
    )
    assert report.exit_code == 0 and report.count("expected") == 1
    [item] = report.items
    assert (item.resource, item.kind, item.action) == ("Deployment/blue-prod", "expected", "keep")
    text = RENDERERS["text"](report)
    assert "spec.replicas: live 5 → git 2..6 (autoscale)  [owned by the autoscaler (spec.autoscale)]" in text
    assert "No drift" in text
