"""Image build contexts: images/<image>/{Dockerfile, .dockerignore, requirements, runtime, config, models}.

Layout follows the image/runtime contract: /opt/modelctl/{modelctl_runtime/, config.json,
models/<name>/<version>/…, score/…}, a virtualenv at /opt/venv, user 10001.
"""

from __future__ import annotations

import shlex
from pathlib import Path, PurePosixPath
from typing import Mapping

from ..diagnostics import Diagnostic, DiagnosticError
from ..graph import EnvironmentNode, FileRef, Graph, ImageNode, ModelNode
from ..paths import RUNTIME_DIR
from ..spec import grammar
from .naming import MANAGED_BY, base_image, image_tag, model_digest, model_version, split_digest
from .serialize import compact_json, docker_quote, json_text
from .templating import Templates
from .tree import OutputTree

USER_ID = 10001
RUNTIME_PACKAGE = "modelctl_runtime"


def render_image(
    graph: Graph,
    image: ImageNode,
    tree: OutputTree,
    templates: Templates,
    model_versions: Mapping[str, str] | None,
    model_files: Mapping[str, tuple[Path, str]] | None = None,
) -> None:
    if image.spec.prebuilt:
        return  # nothing to build: deployments use the reference as written
    if image.environment_id is None:  # the spec requires an environment unless the image is prebuilt
        raise TypeError(f"{image.id} has neither an environment nor a prebuilt image")
    root = Path(graph.root)
    folder = f"images/{image.name}"
    env = graph.get_as(image.environment_id, EnvironmentNode)
    model_files = model_files or {}
    uses = [graph.get_as(u.model_id, ModelNode) for u in image.models]
    models = [_model_entry(model, model_versions, image, model_files.get(model.id)) for model in uses]

    for model, entry in zip(uses, models, strict=True):  # one entry per use
        override = model_files.get(model.id)
        source = override[0] if override is not None else root / _artifact(model).path
        _copy_tree(tree, source, f"{folder}/{entry['path']}", image.id)
    script = None
    if image.scoring_script is not None:
        script = f"score/{PurePosixPath(image.scoring_script.path).name}"
        _copy_tree(tree, root / image.scoring_script.path, f"{folder}/{script}", image.id)
        for entry in models:  # the script wins over every model's built-in loader: the user's explicit choice
            entry["script"] = script
    for path in sorted(p for p in RUNTIME_DIR.rglob("*.py") if "__pycache__" not in p.parts):
        tree.copy(f"{folder}/{RUNTIME_PACKAGE}/{path.relative_to(RUNTIME_DIR).as_posix()}", image.id, path)

    config = {
        "schemaVersion": 1,
        "image": image.name,
        "models": models,
        "scoring": {"script": script} if script else None,
    }
    tree.add(f"{folder}/config.json", image.id, json_text(config))
    tree.add(f"{folder}/requirements.txt", image.id, _requirements(env))
    tree.add(f"{folder}/runtime-requirements.txt", image.id, _runtime_requirements())
    tree.add(f"{folder}/.dockerignore", image.id, templates.render("docker/dockerignore.j2", {}, resource=image.id))
    context = {
        "resource": image.id,
        "port": int(image.spec.port),
        "uid": USER_ID,
        **dockerfile_words(graph, image, env, models),
        "has_score": script is not None,
        "has_models": bool(models),
    }
    tree.add(f"{folder}/Dockerfile", image.id, templates.render("docker/Dockerfile.j2", context, resource=image.id))


def dockerfile_words(graph: Graph, image: ImageNode, env: EnvironmentNode, models: list[dict]) -> dict:
    """Every user value the Dockerfile holds, each already in its Dockerfile form.

    The template only places these: an image reference in FROM (which has no quoting) and an
    environment name in ENV must match their grammar, or rendering stops; every apt package is a
    shell-quoted word; every ENV and LABEL value is a double-quoted Dockerfile string with `$`
    escaped. Validation refuses bad values first, with their position; this is the second line,
    so no value can add a line, an instruction or a shell command whatever reached the renderer.
    """

    def refuse(what: str, value: object, path: str, node=env) -> DiagnosticError:
        return DiagnosticError(
            [
                Diagnostic(
                    f"{image.id}: {what} {value!r} cannot be written into a Dockerfile",
                    node.source,
                    path=path,
                    expected=grammar.PATTERN_MEANING.get(_PATTERNS.get(what, ""), what),
                    code="render-unsafe",
                    suggestion="run 'modelctl validate' for the value's position",
                )
            ]
        )

    if env.spec.base is None:  # the resolver builds no environment without a base
        raise refuse("base image", None, "spec.base")
    base = base_image(graph, env.spec.base)
    if not grammar.matches(grammar.IMAGE_REFERENCE_PATTERN, base):
        raise refuse("base image", base, "spec.base")
    apt = []
    for package in sorted(env.spec.apt):
        if not grammar.matches(grammar.DEBIAN_PACKAGE_PATTERN, package):
            raise refuse("apt package", package, "spec.apt")
        apt.append(shlex.quote(package))
    variables = []
    for key, value in sorted(env.spec.env.items()):
        if not grammar.matches(grammar.ENV_NAME_PATTERN, key):
            raise refuse("environment variable", key, "spec.env")
        variables.append((key, docker_quote(value)))
    labels = []
    for key, value in sorted(image_labels(graph, image, env, models).items()):
        if not grammar.matches(_LABEL_KEY, key):  # modelctl's own keys, from resource names
            raise refuse("label key", key, "metadata.name", node=image)
        labels.append((key, docker_quote(value)))
    return {"base": base, "apt": apt, "env": variables, "labels": labels}


_LABEL_KEY = r"^[a-z0-9][a-z0-9._/-]*$"
_PATTERNS = {
    "base image": grammar.IMAGE_REFERENCE_PATTERN,
    "apt package": grammar.DEBIAN_PACKAGE_PATTERN,
    "environment variable": grammar.ENV_NAME_PATTERN,
}


def _model_entry(model: ModelNode, model_versions, image: ImageNode, override: tuple[Path, str] | None) -> dict:
    if model.artifact is not None:
        leaf = PurePosixPath(model.artifact.path).name
    elif override is not None:
        leaf = override[0].name
    else:
        raise DiagnosticError(
            [
                Diagnostic(
                    f"{image.id} uses {model.id}, whose artifact is remote ({model.spec.uri}); render copies model files "
                    "into the build context and works offline",
                    model.source,
                    path="spec.uri",
                    code="remote-artifact",
                    suggestion="register the model and pass its local copy as spec.path, or use a prebuilt image",
                )
            ]
        )
    version = model_version(model, model_versions)
    sig = model.spec.signature
    return {
        "name": model.name,
        "version": version,
        "framework": model.spec.framework,
        "path": f"models/{model.name}/{version}/{leaf}",
        "digest": override[1] if override else model_digest(model),
        "signature": sig.model_dump(mode="json", by_alias=True, exclude_none=True) if sig else None,
    }


def _artifact(model: ModelNode) -> FileRef:
    """The model's repo file (a remote one without a local copy was refused by _model_entry)."""
    if model.artifact is None:
        raise TypeError(f"{model.id} has no local artifact")
    return model.artifact


def _copy_tree(tree: OutputTree, source: Path, dest: str, node: str) -> None:
    if source.is_dir():
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            tree.copy(f"{dest}/{path.relative_to(source).as_posix()}", node, path)
    else:
        tree.copy(dest, node, source)


def _requirements(env: EnvironmentNode) -> str:
    """One PEP 508 requirement per line, nothing pip would read as an option (spec.grammar)."""
    for i, req in enumerate(env.spec.pip):
        try:
            grammar.check_requirement(req)
        except grammar.SpecError as err:
            raise DiagnosticError(
                [
                    Diagnostic(
                        f"{env.id}: {err}",
                        env.source,
                        path=f"spec.pip.{i}",
                        expected=err.expected,
                        suggestion=err.suggestion,
                        code="render-unsafe",
                    )
                ]
            ) from None
    lines = [f"# Pinned packages of {env.id}.", *env.spec.pip]
    return "\n".join(lines) + "\n"


def _runtime_requirements() -> str:
    path = RUNTIME_DIR / "requirements.txt"
    return path.read_text(encoding="utf-8") if path.is_file() else "# the scoring runtime pins nothing yet\n"


def image_labels(graph: Graph, image: ImageNode, env: EnvironmentNode, models: list[dict]) -> dict[str, str]:
    if env.spec.base is None:  # refused by dockerfile_words, which calls this
        raise TypeError(f"{env.id} has no base image")
    base = base_image(graph, env.spec.base)
    base_name, base_digest = split_digest(base)
    labels = {
        "org.opencontainers.image.title": image.name,
        "org.opencontainers.image.description": image.metadata.description or f"modelctl scoring image {image.name}",
        "org.opencontainers.image.version": image_tag(image),
        "org.opencontainers.image.vendor": graph.workspace.name,
        "org.opencontainers.image.base.name": base_name,
        "modelctl.io/managed-by": MANAGED_BY,
        "modelctl.io/image": image.name,
        "modelctl.io/resource": image.id,
        "modelctl.io/fingerprint": image.fingerprint,
        "modelctl.io/environment": env.name,
        "modelctl.io/models": compact_json([{k: m[k] for k in ("name", "version", "digest")} for m in models]),
    }
    if base_digest:
        labels["org.opencontainers.image.base.digest"] = base_digest
    for m in models:
        labels[f"modelctl.io/model.{m['name']}.version"] = m["version"]
        if m["digest"]:
            labels[f"modelctl.io/model.{m['name']}.digest"] = m["digest"]
    return labels
