"""Environment inheritance: a child's requirement replaces the parent's for the same (PEP 503) package."""

from compiler.graph.environments import merge_environments
from compiler.spec.environment import EnvironmentSpec


def test_child_pin_replaces_parent_pin_by_normalized_name():
    parent = EnvironmentSpec(base="python:3.11-slim", pip=["scikit-learn==1.9.1", "numpy==2.4.6", "zope.interface==6"])
    child = EnvironmentSpec(pip=["Scikit_Learn>=1.9", "zope-interface[test]==7; python_version >= '3.11'"])
    merged = merge_environments(parent, child)
    assert merged.pip == ["numpy==2.4.6", "Scikit_Learn>=1.9", "zope-interface[test]==7; python_version >= '3.11'"]
