"""RegistryReader on a real SQLite registry: the image fact is the version git wants when one exists."""

from __future__ import annotations

from compiler.plan.state import RegistryReader, Wanted
from compiler.registry import open_registry


def test_a_reverted_image_reuses_the_version_built_from_its_fingerprint(tmp_path):
    with open_registry("sqlite:///registry.db", "file://artifacts", tmp_path) as reg:
        reg.register_image("scorer", fingerprint="a" * 64, models=[], environment="e", image_ref="r/scorer@sha256:1")
        reg.register_image("scorer", fingerprint="b" * 64, models=[], environment="e", image_ref="r/scorer@sha256:2")
        reg.register_image("scorer-2", fingerprint="c" * 64, models=[], environment="e", image_ref="r/x@sha256:3")
        reader = RegistryReader(reg)

        def fact(fp: str):  # noqa: ANN202
            wanted = Wanted("ws", str(tmp_path), images=("scorer",), image_fingerprints=(("scorer", fp),))
            return reader.read(wanted)["images"]["scorer"]

        assert (fact("a" * 64).version, fact("a" * 64).image_ref) == (1, "r/scorer@sha256:1")  # git reverted
        assert fact("b" * 64).version == 2  # the latest
        assert fact("c" * 64).version == 2  # another image's fingerprint is not ours: latest, so a rebuild
        assert fact("d" * 64).version == 2  # never built: latest, so the plan rebuilds
