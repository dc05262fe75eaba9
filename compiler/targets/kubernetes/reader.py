"""Reading kubernetes targets' facts: one LIST per kind per namespace, by modelctl's labels.

Targets that share a kubeconfig, context and namespace share the listings. No per-object GET.
"""

from __future__ import annotations

from collections.abc import Callable

from ...errors import PlanError
from ...plan.target import FactsRequest
from .connection import DEPLOYMENT_KINDS, ENDPOINT_KINDS, HTTP_ROUTE, Cluster, KubeError
from .facts import KubernetesFacts, ObjectFact, selector
from .planning import secret_names


def read_kubernetes_facts(cluster_of: Callable[[str], Cluster], request: FactsRequest) -> dict[str, KubernetesFacts]:
    listed: dict[tuple[str, str, str], tuple[list[ObjectFact], list[str]]] = {}
    out: dict[str, KubernetesFacts] = {}
    # Gateways are an endpoint's only with tls: listed only when one in scope has it
    kinds = (*DEPLOYMENT_KINDS, *(ENDPOINT_KINDS if any(e.spec.tls for e in request.endpoints) else (HTTP_ROUTE,)))
    for name, _ in request.targets:
        cluster = cluster_of(name)
        if cluster.key not in listed:
            objects: list[ObjectFact] = []
            unserved: list[str] = []
            try:
                for kind in kinds:
                    items = cluster.list(kind, selector(request.workspace))
                    if items is None:
                        unserved.append(kind.kind)
                        continue
                    objects += [ObjectFact.of(item) for item in items]
            except KubeError as exc:
                raise PlanError(str(exc)) from None
            listed[cluster.key] = (objects, unserved)
        objects, unserved = listed[cluster.key]
        mine = sorted((o for o in objects if o.target == name), key=lambda o: (o.resource, o.kind, o.name))
        names = sorted({s for d in request.deployments if d.target_name == name for s in secret_names(d)})
        try:
            secrets = tuple((s, cluster.secret_exists(s)) for s in names)
        except KubeError as exc:
            raise PlanError(str(exc)) from None
        out[name] = KubernetesFacts(cluster.namespace, tuple(mine), tuple(unserved), secrets)
    return out
