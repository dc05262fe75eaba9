"""Errors of plan/apply, shared by plan, targets and the commands above them. Every message is meant to be shown to a user as is (no traceback)."""

from __future__ import annotations


class PlanError(Exception):
    """The plan cannot be made: unknown --target, a protected resource to delete, a bad plan file…"""


class StalePlan(PlanError):
    """A saved plan whose live state (or repo) moved since it was made."""


class ApplyError(Exception):
    """An action failed; the message names the resource and what went wrong."""

    def __init__(self, message: str, *, resource: str | None = None) -> None:
        super().__init__(message)
        self.resource = resource
