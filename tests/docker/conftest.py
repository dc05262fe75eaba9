"""Fixtures of the docker suite (helpers live in docker_helpers.py)."""

from docker_helpers import workspace  # noqa: F401
