"""Diagnostics: every user-facing problem, with where it is, what was expected and a hint.

The whole pipeline collects `Diagnostic`s instead of raising on the first problem, so one run
reports every error in a repo. Code that must stop raises `DiagnosticError` carrying them.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Iterable


@dataclass(frozen=True, order=True)
class Location:
    """A position in a source file; line and col are 1-based."""

    file: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if not self.line:
            return self.file
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Diagnostic:
    message: str
    location: Location | None = None
    path: str = ""  # field path inside the document, e.g. "spec.traffic.iris-blue"
    expected: str | None = None
    suggestion: str | None = None
    code: str = "invalid"
    severity: str = "error"  # error | warning

    def sort_key(self) -> tuple:
        loc = self.location or Location("")
        return (loc.file, loc.line, loc.col, self.message)

    def headline(self) -> str:
        where = f"{self.location}: " if self.location else ""
        field_path = f" (at {self.path})" if self.path else ""
        return f"{where}{self.severity}: {self.message}{field_path}"

    def to_json(self) -> dict:
        loc = self.location
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "file": loc.file if loc else None,
            "line": loc.line if loc else None,
            "col": loc.col if loc else None,
            "path": self.path or None,
            "expected": self.expected,
            "suggestion": self.suggestion,
        }


@dataclass
class DiagnosticError(Exception):
    """Raised when a stage cannot go on; carries every diagnostic found so far."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(d.headline() for d in self.diagnostics)


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A 'did you mean …?' hint for a misspelt key, kind or reference, or None."""
    pool = sorted({c for c in candidates if c})
    matches = difflib.get_close_matches(word, pool, n=1, cutoff=0.6)
    if not matches:
        lowered = {c.lower(): c for c in pool}
        if word.lower() in lowered:
            matches = [lowered[word.lower()]]
    return f"did you mean '{matches[0]}'?" if matches else None


def errors_only(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.severity == "error"]
