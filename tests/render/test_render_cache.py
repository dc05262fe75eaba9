"""Warm renders: only nodes whose inputs changed are rendered again, and the output is byte for byte a cold render's."""

from __future__ import annotations

import shutil
from pathlib import Path

from compiler.pipeline import compile_repo
from compiler.render import render_graph
from compiler.render.cache import CACHE_DIR
from compiler.targets import TARGET_TYPES

MODELS = 3
DEPLOYMENTS = 9


def make_repo(root: Path) -> Path:
    (root / "artifacts").mkdir(parents=True)
    docs = [
        """apiVersion: modelctl.io/v1
kind: Workspace
metadata: {name: cache}
spec:
  imageRegistry: 127.0.0.1:5000/cache
  baseImages: {python:3.11-slim: modelctl/python-base:bookworm}
  targets:
    prod: {type: kubernetes, namespace: models}
"""
    ]
    for m in range(MODELS):
        (root / "artifacts" / f"model-{m}.bin").write_bytes(f"weights {m}".encode())
        docs.append(f"""apiVersion: modelctl.io/v1
kind: Model
metadata: {{name: model-{m}}}
spec: {{framework: sklearn, path: artifacts/model-{m}.bin}}
---
apiVersion: modelctl.io/v1
kind: Image
metadata: {{name: image-{m}}}
spec: {{models: [model-{m}@latest], environment: curated/sklearn}}
""")
    for d in range(DEPLOYMENTS):
        docs.append(f"""apiVersion: modelctl.io/v1
kind: Deployment
metadata: {{name: dep-{d}}}
spec: {{image: image-{d % MODELS}, target: prod, replicas: 1}}
""")
    docs.append("""apiVersion: modelctl.io/v1
kind: Endpoint
metadata: {name: front}
spec: {target: prod, path: /front, traffic: {dep-0: 50, dep-1: 50}}
""")
    (root / "modelctl.yaml").write_text("---\n".join(docs))
    return root


def render(repo: Path, out: Path, **kw):
    return render_graph(compile_repo(repo).require(), out, types=TARGET_TYPES, **kw)


def tree_bytes(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_unchanged_repo_renders_nothing_again_and_leaves_out_as_it_was(tmp_path):
    repo, out = make_repo(tmp_path / "repo"), tmp_path / "out"
    cold = render(repo, out)
    assert cold.rendered == set(cold.nodes)
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    warm = render(repo, out)
    assert warm.rendered == set()
    assert warm.files == cold.files and warm.kubernetes_objects == cold.kubernetes_objects
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()} == before


def test_one_model_change_renders_only_what_depends_on_it_and_matches_a_cold_render(tmp_path):
    repo, out = make_repo(tmp_path / "repo"), tmp_path / "out"
    render(repo, out)
    (repo / "artifacts" / "model-1.bin").write_bytes(b"new weights")
    graph = compile_repo(repo).require()
    warm = render_graph(graph, out, types=TARGET_TYPES)
    expected = {"Model/model-1", "Image/image-1", "Deployment/dep-1", "Deployment/dep-4", "Deployment/dep-7"}
    assert expected == {"Model/model-1"} | {n.id for n in graph.downstream("Model/model-1")} - {"Endpoint/front"}
    assert warm.rendered == expected  # the endpoint names dep-1 but its route does not depend on the model

    cold = render_graph(graph, tmp_path / "cold", types=TARGET_TYPES, cache=False)
    assert cold.rendered == set(graph.nodes)
    assert tree_bytes(out) == tree_bytes(tmp_path / "cold")
    assert warm.files == cold.files and warm.kubernetes_objects == cold.kubernetes_objects


def test_an_edited_output_file_is_rendered_again_and_stray_files_go(tmp_path):
    repo, out = make_repo(tmp_path / "repo"), tmp_path / "out"
    render(repo, out)
    reference = tree_bytes(out)
    (out / "kubernetes/prod/deployments/dep-2.yaml").write_text("edited by hand\n")
    again = render(repo, out)
    assert again.rendered == {"Deployment/dep-2"}
    assert tree_bytes(out) == reference
    (out / "stray.txt").write_text("not rendered")
    render(repo, out)
    assert tree_bytes(out) == reference


def test_the_cache_is_safe_to_delete(tmp_path):
    repo, out = make_repo(tmp_path / "repo"), tmp_path / "out"
    first = render(repo, out)
    reference = tree_bytes(out)
    assert any((repo / CACHE_DIR).iterdir())
    shutil.rmtree(repo / CACHE_DIR)
    again = render(repo, out)
    assert again.rendered == set(first.nodes)
    assert tree_bytes(out) == reference


def test_a_new_out_folder_renders_everything(tmp_path):
    repo = make_repo(tmp_path / "repo")
    render(repo, tmp_path / "a")
    assert render(repo, tmp_path / "b").rendered == set(compile_repo(repo).require().nodes)
    assert tree_bytes(tmp_path / "a") == tree_bytes(tmp_path / "b")


def test_a_tampered_record_cannot_reach_outside_out(tmp_path):
    import json

    repo, out = make_repo(tmp_path / "repo"), tmp_path / "out"
    render(repo, out)
    reference = tree_bytes(out)
    (record,) = (repo / CACHE_DIR).glob("*.json")
    data = json.loads(record.read_text())
    outside = tmp_path / "secret.txt"
    outside.write_text("not yours")
    st = outside.stat()
    entry = data["nodes"]["Deployment/dep-3"]
    entry["files"] = [["../secret.txt", "0" * 64, [st.st_size, st.st_mtime_ns, st.st_ino]]]
    record.write_text(json.dumps(data))
    again = render(repo, out)
    assert "Deployment/dep-3" in again.rendered
    assert tree_bytes(out) == reference


def test_records_are_kept_for_a_bounded_number_of_output_folders(tmp_path, monkeypatch):
    from compiler.render import cache

    monkeypatch.setattr(cache, "KEEP_RECORDS", 2)
    repo = make_repo(tmp_path / "repo")
    for name in ("a", "b", "c"):
        render(repo, tmp_path / name)
    assert len(list((repo / CACHE_DIR).glob("*.json"))) == 2
    assert render(repo, tmp_path / "c").rendered == set()  # the newest is still remembered
