"""Where the project's own data folders live (templates, curated environments, schemas)."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PROJECT_ROOT / "templates"
ENVIRONMENTS_DIR = PROJECT_ROOT / "environments"
SCHEMAS_DIR = PROJECT_ROOT / "schemas"
RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
