"""The edge and fpga targets: publish a deployment's rendered bundle, or remove it."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from pathlib import Path

from ...errors import ApplyError
from ...plan.target import (
    DeployRequest,
    DeployResult,
    FactsRequest,
    Progress,
    Revision,
    RevisionsRequest,
    RollbackRequest,
    TargetFacts,
)
from ...spec.workspace import Target
from . import edge_publish
from .bundles import open_bundles
from .facts import read_published
from .location import parse_location, publish_setting


class PublishedDeployments:
    """The publishing target types' connection: each target's folder or OCI repository."""

    def __init__(self, root: Path, workspace: str) -> None:
        self.root, self.workspace = Path(root), workspace

    def read_facts(self, request: FactsRequest) -> dict[str, TargetFacts]:
        return dict(read_published(request))

    def route_endpoint(
        self,
        target_name: str,
        target: Target,
        name: str,
        traffic: dict[str, int],
        path: str,
        fingerprint: str,
        *,
        progress: Progress,
    ) -> str:
        raise ApplyError(f"Endpoint/{name}: publishing targets do not route endpoints")

    def delete_endpoint(self, target_name: str, target: Target, name: str, *, progress: Progress) -> None:
        raise ApplyError(f"Endpoint/{name}: publishing targets do not route endpoints")

    def teardown(self, target_name: str, target: Target, *, progress: Progress) -> None:
        pass  # a publishing target runs nothing of its own: its bundles are its deployments

    def close(self) -> None:
        pass

    def deploy(self, req: DeployRequest, *, progress: Progress) -> DeployResult:
        if req.rendered is None:
            raise ApplyError(f"{req.resource}: nothing was rendered to publish")
        location = parse_location(publish_setting(req.target), self.root, req.target_name)
        marker = {
            "managedBy": "modelctl",
            "workspace": self.workspace,
            "resource": req.resource,
            "target": req.target_name,
            "fingerprint": req.fingerprint,
            "imageRef": req.image_ref,
            "spec": req.spec_json,
            "preventDestroy": req.spec.lifecycle.prevent_destroy,
            "publishedAt": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "publishedBy": getpass.getuser(),
        }
        bundles = open_bundles(location, self.workspace)
        notes: list[str] = []
        try:
            if req.spec.edge is not None:  # IoT Hub semantics: which id, which priority
                decision = edge_publish.prepare(bundles, req.name, req.rendered, req.spec.edge.priority)
                marker.update(edge_publish.marker_fields(decision))
                notes.append(edge_publish.note(decision))
            progress(f"publishing to {location}")
            where = bundles.put(req.name, req.rendered, marker)
        finally:
            bundles.close()
        return DeployResult(url=str(where), container="", notes=(f"published to {where}", *notes))

    def delete(self, target_name: str, target: Target, name: str, *, progress: Progress) -> None:
        bundles = open_bundles(parse_location(publish_setting(target), self.root, target_name), self.workspace)
        try:
            progress("unpublishing")
            bundles.remove(name)
        finally:
            bundles.close()

    # --- revisions and rollback ------------------------------------------------------------------

    def revisions(self, req: RevisionsRequest, current: str | None) -> list[Revision]:
        """The revisions kept where the target publishes, newest first; the registry's history adds
        the image version and the commit each was applied from."""
        recorded = {r.fingerprint: r for r in reversed(req.recorded)}  # the first time each was applied
        bundles = open_bundles(parse_location(publish_setting(req.target), self.root, req.target_name), self.workspace)
        try:
            kept = bundles.revisions(req.deployment)
        finally:
            bundles.close()
        out = []
        for b in kept:
            m, fingerprint = b.marker, str(b.marker.get("fingerprint", ""))
            known = recorded.get(fingerprint)
            spec = m.get("spec") or {}
            out.append(
                Revision(
                    fingerprint,
                    str(spec.get("image", "")) or (known.image if known else ""),
                    str(m.get("imageRef", "")),
                    spec,
                    image_version=known.image_version if known else None,
                    at=m.get("publishedAt") or (known.at if known else None),
                    by=m.get("publishedBy") or (known.by if known else None),
                    commit=known.commit if known else None,
                    where=b.where,
                    current=fingerprint == current,
                )
            )
        return out

    def rollback(self, req: RollbackRequest, *, progress: Progress) -> DeployResult:
        deploy = req.deploy
        bundles = open_bundles(
            parse_location(publish_setting(deploy.target), self.root, deploy.target_name), self.workspace
        )
        try:
            progress(f"re-pointing {deploy.name} to revision {req.revision.id}")
            where = bundles.repoint(deploy.name, req.revision.fingerprint, req.mark.to_json())
        finally:
            bundles.close()
        return DeployResult(url=where, container="", notes=(f"{where} points at revision {req.revision.id} again",))
