"""Fixtures of the ui suite (helpers live in ui_support.py)."""

from ui_support import iris_copy  # noqa: F401
