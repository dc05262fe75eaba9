"""Live states for planner tests, written flat (containers, routers, secrets, bundles side by side),
turned into the real `LiveState` (each target's own typed facts) when a plan is made."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from compiler.plan import diff
from compiler.plan.model import Plan
from compiler.plan.state import ImageFact, LiveState, ModelFact, RecordFact
from compiler.targets import TARGET_TYPES
from compiler.targets.docker.facts import ContainerFact, DockerFacts, RouterFact
from compiler.targets.kubernetes.facts import KubernetesFacts
from compiler.targets.publish.facts import PublishedFact, PublishedFacts


@dataclass(frozen=True)
class LiveFacts:
    models: Mapping[str, ModelFact] = field(default_factory=dict)
    images: Mapping[str, ImageFact] = field(default_factory=dict)
    manifests: Mapping[str, str | None] = field(default_factory=dict)
    records: tuple[RecordFact, ...] = ()
    containers: tuple[ContainerFact, ...] = ()
    routers: Mapping[str, RouterFact] = field(default_factory=dict)  # docker target → its router
    secrets: Mapping[str, str | None] = field(default_factory=dict)  # secret id → digest now (every docker target)
    published: tuple[PublishedFact, ...] = ()
    kubernetes: Mapping[str, KubernetesFacts] = field(default_factory=dict)  # kubernetes target → its facts

    def containers_of(self, target: str, deployment: str) -> list[ContainerFact]:
        return [c for c in self.containers if c.target == target and c.deployment == deployment]

    def to_live(self) -> LiveState:
        targets: dict[str, Any] = {}
        docker = sorted({c.target for c in self.containers} | set(self.routers))
        for name in docker:
            targets[name] = DockerFacts(
                tuple(c for c in self.containers if c.target == name), self.routers.get(name), dict(self.secrets)
            )
        for name in sorted({p.target for p in self.published}):
            targets[name] = PublishedFacts(tuple(p for p in self.published if p.target == name))
        targets.update(self.kubernetes)
        return LiveState(self.models, self.images, self.manifests, self.records, targets)

    def fingerprint(self) -> str:
        return self.to_live().fingerprint()

    def replace(self, **changes: Any) -> LiveFacts:
        return dataclasses.replace(self, **changes)


def make_plan(graph: Any, live: LiveFacts | LiveState, **kw: Any) -> Plan:
    """The planner with every registered target type, from flat or real facts."""
    state = live.to_live() if isinstance(live, LiveFacts) else live
    return diff.make_plan(graph, state, types=TARGET_TYPES, **kw)
