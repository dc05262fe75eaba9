"""Images, deployment records, apply locks and history — on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from compiler.registry import InUse, InvalidArgument, LockHeld, LockLost, NotFound


@pytest.fixture
def two_models(registry, make_file):
    registry.register_model("iris", make_file("m.joblib", b"a"), framework="sklearn")
    registry.register_model("wine", make_file("w.joblib", b"b"), framework="sklearn")
    return registry


def test_images_version_by_fingerprint(two_models):
    reg = two_models
    img, created = reg.register_image(
        "scorer",
        fingerprint="fp1",
        models=[("iris", 1), ("wine", "latest")],
        environment="curated/sklearn",
        tags={"team": "fraud"},
    )
    assert created and img.version == 1 and img.models == [("iris", 1), ("wine", 1)]
    same, created_again = reg.register_image(
        "scorer",
        fingerprint="fp1",
        models=[("iris", 1)],
        environment="curated/sklearn",
        image_ref="127.0.0.1:5000/s@sha256:ab",
    )
    assert not created_again and same.version == 1 and same.image_ref == "127.0.0.1:5000/s@sha256:ab"
    v2, _ = reg.register_image("scorer", fingerprint="fp2", models=[("iris", 1)], environment="curated/sklearn")
    assert v2.version == 2 and reg.get_image("scorer").version == 2
    assert [i.ref for i in reg.list_images(tags={"team": "fraud"})] == ["scorer:1"]
    assert [i.ref for i in reg.list_images(model="wine")] == ["scorer:1"]
    assert [i.ref for i in reg.list_images(prefix="sc", limit=1, offset=1)] == ["scorer:1"]
    assert reg.tag_image("scorer", 2, {"stage": "prod"}).tags == {"stage": "prod"}
    assert reg.untag_image("scorer", 2, ["stage"]).tags == {}
    assert reg.set_image_ref("scorer", 2, "reg/s@sha256:cd").image_ref == "reg/s@sha256:cd"
    with pytest.raises(NotFound, match="did you mean 'iris'"):
        reg.register_image("x", fingerprint="f", models=[("irsi", 1)], environment="e")
    with pytest.raises(NotFound, match="scorer:9"):
        reg.get_image("scorer", 9)
    reg.register_image("scorer", fingerprint="fp1", models=[], environment="e")  # back to fp1: version 3
    assert reg.find_image("scorer", "fp1").version == 3 and reg.find_image("scorer", "fp2").version == 2
    assert reg.find_image("scorer", "fp9") is None and reg.find_image("scorer-x", "fp1") is None


def test_image_delete_refused_while_a_deployment_uses_it(two_models):
    reg = two_models
    reg.register_image("scorer", fingerprint="fp1", models=[("iris", 1)], environment="e")
    blue = reg.record_deployment("iris-blue", "prod", "scorer", 1, "http://127.0.0.1:8080", "d1")
    reg.record_deployment("iris-blue", "local", "scorer", 1, None, "d2")
    assert (blue.image, blue.image_version, blue.url) == ("scorer", 1, "http://127.0.0.1:8080")
    with pytest.raises(InUse) as err:
        reg.delete_image("scorer", 1)
    assert err.value.users == ["deployment iris-blue on target local", "deployment iris-blue on target prod"]
    assert [(d.name, d.target) for d in reg.list_deployments()] == [("iris-blue", "local"), ("iris-blue", "prod")]
    assert [d.target for d in reg.list_deployments(target="prod")] == ["prod"]

    updated = reg.record_deployment("iris-blue", "prod", "scorer", 1, "http://127.0.0.1:9090", "d3")
    assert updated.fingerprint == "d3" and len(reg.list_deployments(target="prod")) == 1
    reg.remove_deployment("iris-blue", "prod")
    reg.remove_deployment("iris-blue", "local")
    with pytest.raises(NotFound):
        reg.remove_deployment("iris-blue", "prod")
    assert reg.delete_image("scorer", 1) == 1
    assert reg.delete_model("iris", 1) == [1]  # no image uses it any more


def test_locks_are_leases(registry, clock):
    lock = registry.acquire_lock("workspace", "alice@host1", "apply plan.json", ttl_seconds=60)
    with pytest.raises(LockHeld) as held:
        registry.acquire_lock("workspace", "bob@host2", "apply", ttl_seconds=60)
    assert (held.value.owner, held.value.operation) == ("alice@host1", "apply plan.json")
    assert held.value.expires_at == lock.expires_at and "alice@host1" in str(held.value)
    other = registry.acquire_lock("target:prod", "bob@host2", "apply", ttl_seconds=60)  # other scope: fine
    assert [lk.scope for lk in registry.list_locks()] == ["target:prod", "workspace"]

    clock.advance(seconds=30)
    renewed = registry.renew_lock(lock, 60)
    assert renewed.expires_at > lock.expires_at
    clock.advance(seconds=61)  # expired: someone else may take it over
    assert [lk.scope for lk in registry.list_locks()] == []
    bobs = registry.acquire_lock("workspace", "bob@host2", "apply", ttl_seconds=60)
    with pytest.raises(LockLost):
        registry.renew_lock(lock, 60)
    with pytest.raises(LockLost):
        registry.release_lock(lock)
    registry.release_lock(bobs)
    registry.acquire_lock("workspace", "carol", "apply", ttl_seconds=60)
    assert registry.force_release_lock("workspace").owner == "carol"
    with pytest.raises(NotFound):
        registry.force_release_lock("workspace")
    registry.release_lock(other)  # expired but not taken over: still ours to release
    assert registry.list_locks(include_expired=True) == []
    with pytest.raises(InvalidArgument):
        registry.acquire_lock("x", "me", "op", ttl_seconds=0)


def test_action_history(registry, clock):
    start = clock()
    registry.record_action(
        "run-1",
        "Image/scorer",
        "create",
        "ok",
        git_commit="abc123",
        user="alice",
        detail={"version": 1},
        started_at=start,
    )
    registry.record_action("run-1", "Deployment/iris-blue", "update", "failed", detail={"error": "unhealthy"})
    registry.record_action("run-2", "Deployment/iris-blue", "update", "ok")
    assert [(a.run_id, a.result) for a in registry.history("Deployment/iris-blue")] == [
        ("run-2", "ok"),
        ("run-1", "failed"),
    ]
    first = registry.history(run_id="run-1")[-1]
    assert (first.resource, first.git_commit, first.user, first.detail) == (
        "Image/scorer",
        "abc123",
        "alice",
        {"version": 1},
    )
    assert first.started_at == start and first.finished_at > start
    assert len(registry.history(limit=2)) == 2
