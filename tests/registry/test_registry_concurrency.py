"""Real processes registering under one name at once: no lost update, no duplicate, no gap."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from compiler.registry import open_registry

PROCESSES = 8
PER_PROCESS = 25


def _register_many(url: str, root: str, worker: int, count: int, same_content: bool) -> list[tuple[int, bool]]:
    root_path = Path(root)
    src = root_path / f"src-{worker}"
    src.mkdir(exist_ok=True)
    results = []
    with open_registry(url, "file://artifacts", root_path) as reg:
        for i in range(count):
            path = src / "model.joblib"
            path.write_bytes(b"shared content" if same_content else f"worker {worker} model {i}".encode())
            model, created = reg.register_model("shared", path, framework="sklearn")
            results.append((model.version, created))
    return results


def _run(url: str, root: Path, count: int, same_content: bool) -> list[tuple[int, bool]]:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(PROCESSES) as pool:
        batches = pool.starmap(_register_many, [(url, str(root), w, count, same_content) for w in range(PROCESSES)])
    return [r for batch in batches for r in batch]


def test_8_processes_x_25_registrations_get_versions_1_to_200(registry_url, tmp_path):
    with open_registry(registry_url, "file://artifacts", tmp_path):
        pass  # create the schema once, up front
    results = _run(registry_url, tmp_path, PER_PROCESS, same_content=False)
    versions = sorted(v for v, _ in results)
    assert versions == list(range(1, PROCESSES * PER_PROCESS + 1))
    assert all(created for _, created in results)
    with open_registry(registry_url, "file://artifacts", tmp_path) as reg:
        listed = reg.list_models(prefix="shared", limit=500)
        assert sorted(m.version for m in listed) == versions
        assert len({m.digest for m in listed}) == PROCESSES * PER_PROCESS
        for model in listed[:20]:  # every row points at a readable, verified blob
            assert reg.store.read_bytes(model.digest).startswith(b"worker ")


def test_same_content_registered_concurrently_makes_one_version(registry_url, tmp_path):
    results = _run(registry_url, tmp_path, 3, same_content=True)  # also races the schema creation
    assert {v for v, _ in results} == {1}
    assert sum(created for _, created in results) == 1


def test_one_registry_object_shared_by_threads(registry, tmp_path):
    """Apply runs independent actions in parallel threads on one Registry."""
    from concurrent.futures import ThreadPoolExecutor

    def work(i: int) -> int:
        src = tmp_path / f"t{i}.joblib"
        src.write_bytes(f"thread {i}".encode())
        model, _ = registry.register_model("threaded", src, framework="sklearn")
        registry.record_action("run", f"Model/threaded-{i}", "create", "ok")
        return model.version

    with ThreadPoolExecutor(4) as pool:
        versions = sorted(pool.map(work, range(16)))
    assert versions == list(range(1, 17))
    assert len(registry.history(run_id="run", limit=100)) == 16
