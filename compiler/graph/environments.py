"""Curated environments shipped in environments/, and environment inheritance."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ..load import LoadedDocument, load_repo
from ..paths import ENVIRONMENTS_DIR
from ..spec.environment import EnvironmentSpec

CURATED_PREFIX = "curated/"


@lru_cache(maxsize=4)
def curated_environments(folder: Path = ENVIRONMENTS_DIR) -> dict[str, LoadedDocument]:
    """{'curated/sklearn': doc, …}; the shipped files are tested to load without errors."""
    if not folder.is_dir():
        return {}
    result = load_repo(folder)
    return {f"{CURATED_PREFIX}{d.name}": d for d in result.documents if d.kind == "Environment"}


def merge_environments(parent: EnvironmentSpec, child: EnvironmentSpec) -> EnvironmentSpec:
    """Child fields win; pip/apt lists are combined with the child's pins replacing the parent's."""
    from packaging.requirements import InvalidRequirement, Requirement  # see spec.grammar.check_requirement
    from packaging.utils import canonicalize_name

    def package(req: str) -> str:  # PEP 503 names: 'Scikit_Learn' and 'scikit-learn' are one package
        try:
            return canonicalize_name(Requirement(req).name)
        except InvalidRequirement:  # not reachable for validated specs (spec.grammar.PipRequirement)
            return req

    child_pip = {package(r) for r in child.pip}
    pip = [r for r in parent.pip if package(r) not in child_pip] + list(child.pip)
    apt = list(dict.fromkeys(list(parent.apt) + list(child.apt)))
    return EnvironmentSpec(
        base=child.base or parent.base,
        inherit=None,
        python=child.python if "python" in child.model_fields_set else parent.python,
        pip=pip,
        apt=apt,
        env={**parent.env, **child.env},
    )
