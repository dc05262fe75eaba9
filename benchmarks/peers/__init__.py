"""Peers the benchmarks compare against: each lives in its own venv (see venvs.py), never in the project's."""
