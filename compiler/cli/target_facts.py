"""The live facts of a workspace's targets, read once per target type and shared by the listings
(`deployments list` shows each deployment's endpoints from the same read as its health)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TargetFactsCache:
    """{target type: {target name: facts}} or the exception reading them raised (a listing shows what
    it can, never a traceback)."""

    ws: Any  # the Workspace document
    root: Path
    _read: dict[str, dict[str, Any] | Exception] = field(default_factory=dict)

    def of_type(self, type_name: str) -> dict[str, Any] | Exception:
        if type_name not in self._read:
            self._read[type_name] = self._read_type(type_name)
        return self._read[type_name]

    def _read_type(self, type_name: str) -> dict[str, Any] | Exception:
        from ..plan.target import ConnectOptions, FactsRequest
        from ..targets import TARGET_TYPES

        ws = self.ws
        targets = tuple((n, t) for n, t in sorted(ws.spec.targets.items()) if t.type == type_name)
        try:
            connection = TARGET_TYPES[type_name].connect(
                ConnectOptions(ws.metadata.name, self.root, dict(ws.spec.base_images))
            )
            try:
                return dict(connection.read_facts(FactsRequest(ws.metadata.name, self.root, targets)))
            finally:
                connection.close()
        except Exception as exc:  # noqa: BLE001 - reported per row by the caller
            return exc
