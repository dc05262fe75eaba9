"""Jinja2 templates (layout only) in a sandbox; errors name the template, its line and the resource."""

from __future__ import annotations

import traceback
from pathlib import Path

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from ..diagnostics import Diagnostic, DiagnosticError, Location
from ..paths import PROJECT_ROOT, TEMPLATES_DIR
from .serialize import docker_quote


class Templates:
    def __init__(self, folder: Path = TEMPLATES_DIR) -> None:
        self.folder = folder
        self.env = SandboxedEnvironment(
            loader=jinja2.FileSystemLoader(str(folder)),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # Dockerfiles and text files, not HTML
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["dockerquote"] = docker_quote

    def render(self, name: str, context: dict, *, resource: str) -> str:
        try:
            return self.env.get_template(name).render(context)
        except jinja2.TemplateSyntaxError as err:
            raise self._error(name, err.lineno, f"template syntax error: {err.message}", resource) from None
        except jinja2.TemplateNotFound as err:
            raise self._error(name, 0, f"template not found: {err.name}", resource) from None
        except (jinja2.TemplateError, TypeError, ValueError, KeyError, AttributeError) as err:
            raise self._error(
                name, _template_line(err, self.folder), f"{type(err).__name__}: {err}", resource
            ) from None

    def _error(self, name: str, line: int, message: str, resource: str) -> DiagnosticError:
        path = self.folder / name
        shown = path.relative_to(PROJECT_ROOT).as_posix() if path.is_relative_to(PROJECT_ROOT) else str(path)
        return DiagnosticError(
            [
                Diagnostic(
                    f"rendering {resource} with template {name} failed: {message}",
                    Location(shown, line or 0),
                    code="render-template",
                    suggestion="fix the template, or the value it reads",
                )
            ]
        )


def _template_line(err: BaseException, folder: Path) -> int:
    """The deepest traceback frame that is a template file (Jinja maps frames to template lines)."""
    line = 0
    for frame in traceback.extract_tb(err.__traceback__):
        if frame.filename and Path(frame.filename).resolve().is_relative_to(folder.resolve()):
            line = frame.lineno or 0
    return line
