"""Errors raised by the registry. Every message is meant to be shown to a user as is."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from datetime import datetime


class RegistryError(Exception):
    """Base class: a user-facing registry error (the CLI prints it without a traceback)."""


class InvalidName(RegistryError):
    """A model, image, tag or alias name that is not allowed."""


class InvalidArgument(RegistryError):
    """A bad source path, framework, signature or option."""


class NotFound(RegistryError):
    """A model, image, version, alias or lock that does not exist."""

    def __init__(self, what: str, wanted: str, candidates: Iterable[str] = ()) -> None:
        self.what, self.wanted = what, wanted
        self.suggestions = difflib.get_close_matches(wanted, sorted(set(candidates)), n=3)
        message = f"{what} {wanted!r} not found"
        if self.suggestions:
            message += "; did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?"
        super().__init__(message)


class InUse(RegistryError):
    """Deleting something that another record still uses; `users` lists every one of them."""

    def __init__(self, what: str, users: list[str]) -> None:
        self.what, self.users = what, sorted(users)
        super().__init__(f"{what} is in use and cannot be deleted; used by: {', '.join(self.users)}")


class LockHeld(RegistryError):
    """The lock for a scope is held by someone else and has not expired."""

    def __init__(self, scope: str, owner: str, operation: str, acquired_at: datetime, expires_at: datetime) -> None:
        self.scope, self.owner, self.operation = scope, owner, operation
        self.acquired_at, self.expires_at = acquired_at, expires_at
        super().__init__(
            f"lock {scope!r} is held by {owner} for {operation!r} since {acquired_at.isoformat()} "
            f"(expires {expires_at.isoformat()})"
        )


class LockLost(RegistryError):
    """Renewing or releasing a lock that expired and was taken over (or force-released)."""


class DigestMismatch(RegistryError):
    """Stored content does not hash to the digest it is stored under (corruption or tampering)."""

    def __init__(self, expected: str, actual: str, where: str = "") -> None:
        self.expected, self.actual = expected, actual
        suffix = f" ({where})" if where else ""
        super().__init__(f"digest mismatch{suffix}: expected {expected}, got {actual}")
