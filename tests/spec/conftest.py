"""Fixtures for the spec/validation tests."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from spec_repo import BASE_REPO, write_repo


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Path]:
    """make_repo(overrides) -> a repo: BASE_REPO with files replaced (None deletes)."""

    def make(overrides: dict[str, str | None] | None = None, base: dict[str, str] | None = None) -> Path:
        root = tmp_path / "repo"
        write_repo(root, dict(base if base is not None else BASE_REPO))
        write_repo(root, overrides or {})
        return root

    return make
