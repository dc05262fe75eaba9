"""Secret resolution for the docker target: env first, then the file; one generated value even when
several deployments sharing the secret are applied at once."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor

import pytest

from compiler.plan import ApplyError
from compiler.targets.docker.secrets import env_name, resolve


def test_parallel_generation_agrees_on_one_value(tmp_path):
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda _: resolve(tmp_path, "shared-keys", generate=True), range(32)))
    assert len({g.value for g in got}) == 1
    assert sum(g.note is not None for g in got) == 1  # said once, by the one that created it
    path = tmp_path / ".modelctl/secrets/shared-keys"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    [creator] = [g for g in got if g.note is not None]
    assert creator.value.strip() not in creator.note  # the note says where, never the value


def test_env_wins_and_missing_secret_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv(env_name("iris-keys"), "from-env")
    assert env_name("iris-keys") == "MODELCTL_SECRET_IRIS_KEYS"
    assert resolve(tmp_path, "iris-keys").value == "from-env"
    with pytest.raises(ApplyError, match="MODELCTL_SECRET_OTHER"):
        resolve(tmp_path, "other")


@pytest.mark.parametrize(
    "name, key",
    [("..", None), ("a/b", None), ("keys", "../../../outside.txt"), ("keys", "/etc/passwd"), ("keys", "..")],
)
def test_a_secret_name_or_key_is_never_a_path(tmp_path, name, key):
    (tmp_path / "outside.txt").write_text("host file")
    with pytest.raises(ApplyError, match="never paths"):
        resolve(tmp_path, name, key=key)


def test_a_secret_symlinked_out_of_the_secret_store_is_not_read(tmp_path):
    (tmp_path / "outside.txt").write_text("host file")
    store = tmp_path / ".modelctl" / "secrets"
    store.mkdir(parents=True)
    (store / "keys").symlink_to(tmp_path / "outside.txt")
    with pytest.raises(ApplyError, match="resolves outside"):
        resolve(tmp_path, "keys")
