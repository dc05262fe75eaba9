"""Read-only facts of edge / fpga targets: the bundles published for this workspace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ...plan.errors import PlanError
from ...plan.state import PublishedFact, Wanted
from ...registry.errors import RegistryError
from .bundles import open_bundles
from .location import parse_location


class PublishReader:
    def read(self, wanted: Wanted) -> dict[str, Any]:
        published: list[PublishedFact] = []
        for name, target in wanted.publish_targets:
            bundles = open_bundles(parse_location(target.publish, Path(wanted.root), name), wanted.workspace)
            try:
                try:
                    found = bundles.list()
                except RegistryError as exc:
                    raise PlanError(f"target {name}: cannot read what is published at {target.publish}: "
                                    f"{str(exc).split(': ', 1)[-1]}") from None
                for b in found:
                    m = b.marker
                    if m.get("target") != name or not str(m.get("resource", "")).startswith("Deployment/"):
                        continue
                    published.append(PublishedFact(
                        name, m["resource"].split("/", 1)[1], str(m.get("fingerprint", "")),
                        str(m.get("imageRef", "")), json.dumps(m.get("spec") or {}, sort_keys=True), b.where,
                        b.intact, bool(m.get("preventDestroy", False))))
            finally:
                bundles.close()
        return {"published": tuple(sorted(published, key=lambda p: (p.target, p.deployment)))}
