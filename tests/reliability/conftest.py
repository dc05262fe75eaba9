"""Fixtures of the reliability suite: the docker suite's throw-away workspaces (tests/docker/docker_helpers.py)."""

import sys
from pathlib import Path

# docker_helpers is on sys.path when pytest loads tests/docker; running this folder alone, put it there.
DOCKER_TESTS = str(Path(__file__).resolve().parents[1] / "docker")
if DOCKER_TESTS not in sys.path:
    sys.path.insert(0, DOCKER_TESTS)
