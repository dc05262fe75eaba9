"""The versioned schema: an older database is upgraded when opened, data intact."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from compiler.registry import open_registry, schema
from compiler.registry.database import create_registry_engine, normalize_url
from compiler.registry.migrations import LATEST, current_version, upgrade


def test_opening_a_version_1_database_upgrades_it(registry_url, tmp_path: Path, make_file):
    engine = create_registry_engine(normalize_url(registry_url, tmp_path))
    assert upgrade(engine, target=1) == 1
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
    assert "model_versions" in tables and "locks" not in tables
    engine.dispose()

    # A version-1 registry is usable by the catalog part of the API ...
    with open_registry(registry_url, "file://artifacts", tmp_path) as reg:
        engine2 = reg.db.engine
        with engine2.connect() as conn:
            assert current_version(conn) == LATEST
            assert {"locks", "actions", "deployments"} <= set(inspect(conn).get_table_names())
        reg.register_model("iris", make_file("m.joblib", b"x"), framework="sklearn")
        assert reg.acquire_lock("ws", "me", "apply", 30).owner == "me"
    # ... and reopening an up-to-date database changes nothing.
    with open_registry(registry_url, "file://artifacts", tmp_path) as reg:
        assert reg.get_model("iris").version == 1


def test_migrated_schema_matches_the_table_definitions(registry):
    with registry.db.engine.connect() as conn:
        insp = inspect(conn)
        for name, table in schema.metadata.tables.items():
            assert {c["name"] for c in insp.get_columns(name)} == {c.name for c in table.columns}, name
            wanted = {ix.name for ix in table.indexes}
            assert wanted <= {ix["name"] for ix in insp.get_indexes(name)}, name
