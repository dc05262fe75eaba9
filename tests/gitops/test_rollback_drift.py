"""A rollback as expected drift, over hand-built plans and live states: held only while the target
serves the mark's `to` and git still wants its `from`; drift exits 3; self-heal leaves it out."""

from __future__ import annotations

import dataclasses

from compiler.gitops.drift import DriftItem, DriftReport, find_drift, render_text
from compiler.gitops.reconcile import Settings, run
from compiler.plan import rollback
from compiler.plan.model import Action, Plan, Scope, Stage
from compiler.plan.state import LiveState, RecordFact
from compiler.plan.target import RollbackMark
from compiler.targets import TARGET_TYPES
from compiler.targets.docker.facts import ContainerFact, DockerFacts, RouteFact, RouterFact
from compiler.targets.publish.facts import PublishedFact, PublishedFacts

FP_GIT, FP_BACK, FP_NEW = "a" * 64, "b" * 64, "c" * 64
TARGETS = {"local": "docker", "factory": "edge"}
MARK = RollbackMark(FP_GIT, FP_BACK, "2026-12-01T23:10:05+00:00", "alice", "run1")


def update(name: str, target: str, fingerprint: str = FP_GIT) -> Action:
    return Action(
        f"Deployment/{name}", "update", ("roll out: image scorer changed",), target=target, fingerprint=fingerprint
    )


def plan(*actions: Action) -> Plan:
    return Plan("team", "/repo", Scope(), actions, (Stage(tuple(a.resource for a in actions)),), "f" * 64)


def live(mark: RollbackMark | None = MARK, serving: str = FP_BACK) -> LiveState:
    container = ContainerFact(
        "id", "c1", "local", "blue", serving, "reg/scorer:1", "running", "healthy", "{}", 40000, rollback=mark
    )
    route = RouteFact("blue", "c1", 18000, 40000, serving)
    bundle = PublishedFact("factory", "cam", serving, "reg/scorer:1", "{}", "/repo/pub/cam", rollback=mark)
    return LiveState(
        records=(RecordFact("blue", "local", "scorer", 1, None, serving),),
        targets={
            "local": DockerFacts((container,), RouterFact("local", "router", True, "127.0.0.1", (route,))),
            "factory": PublishedFacts((bundle,)),
        },
    )


def test_a_rollback_holds_back_what_git_still_wants_on_docker_and_edge():
    report = find_drift(plan(update("blue", "local"), update("cam", "factory")), live(), specs={}, targets=TARGETS)
    assert {i.resource: i.kind for i in report.items} == {
        "Deployment/blue": "rolled-back",
        "Deployment/cam": "rolled-back",
    }
    assert report.real == [] and report.exit_code == 3
    text = render_text(report)
    assert "expected: rolled back" in text and "2 deployment(s) rolled back" in text


def test_real_drift_beside_a_rollback_exits_2():
    other = Action("Deployment/green", "update", ("restart: exited",), target="local", fingerprint=FP_GIT)
    report = find_drift(plan(update("blue", "local"), other), live(), specs={}, targets=TARGETS)
    assert report.exit_code == 2 and [i.resource for i in report.real] == ["Deployment/green"]


def test_a_new_change_in_git_is_not_held_by_an_old_rollback():
    report = find_drift(plan(update("blue", "local", FP_NEW)), live(), specs={}, targets=TARGETS)
    assert [i.kind for i in report.items] == ["pending"] and report.exit_code == 2


def test_without_a_mark_or_once_git_matches_nothing_is_held():
    assert rollback.held(plan(update("blue", "local")).actions, live(mark=None), TARGETS, TARGET_TYPES) == {}
    in_sync = plan(dataclasses.replace(update("blue", "local", FP_BACK), action="no-op"))
    assert rollback.held(in_sync.actions, live(), TARGETS, TARGET_TYPES) == {}
    assert find_drift(in_sync, live(), specs={}, targets=TARGETS).exit_code == 0


def test_the_plan_notes_the_rollback_and_self_heal_leaves_it_out():
    action = rollback.noted(update("blue", "local"), MARK)
    assert action.reasons[0] == (
        f"rolled back at 2026-12-01 23:10:05 UTC by alice: git wants {FP_GIT[:12]}, live runs {FP_BACK[:12]}; "
        "revert in git to keep it, or apply to roll forward"
    )
    assert rollback.noted(update("blue", "local", FP_NEW), MARK).reasons == update("blue", "local").reasons
    full = plan(action, update("green", "local"))
    kept = rollback.without(full, {"Deployment/blue"})
    assert [a.resource for a in kept.changes] == ["Deployment/green"]
    assert kept.stages == (Stage(("Deployment/green",)),) and kept.live_fingerprint == full.live_fingerprint


class Steps:
    def __init__(self, report: DriftReport) -> None:
        self.report, self.healed = report, False

    def pull(self) -> dict:
        return {}

    def detect(self) -> DriftReport:
        return self.report

    def heal(self) -> dict:
        self.healed = True
        return {"ok": True, "runId": "r", "results": []}


def test_reconcile_self_heal_logs_the_skip_and_heals_nothing():
    held = DriftItem("Deployment/blue", "update", "rolled-back", (rollback.reason(MARK),), (), "local")
    steps, log = Steps(DriftReport("team", (held,), ("local",))), []
    assert run(Settings(self_heal=True), steps, log=log.append) == 0
    [skip] = [e for e in log if e["event"] == "skip"]
    assert skip["resource"] == "Deployment/blue" and "rolled back at" in skip["reason"]
    assert not steps.healed
