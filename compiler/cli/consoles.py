"""The CLI's two consoles. Piped output (CI logs, files) gets a wide page so tables are not cut.

No `file=` is bound: rich looks up sys.stdout/sys.stderr when printing, so test runners capture it.
"""

from __future__ import annotations

import sys

from rich.console import Console

PIPE_WIDTH = 200


def _width(stream) -> int | None:  # noqa: ANN001
    try:
        return None if stream.isatty() else PIPE_WIDTH
    except (AttributeError, ValueError):
        return PIPE_WIDTH


console = Console(highlight=False, width=_width(sys.stdout))
err_console = Console(stderr=True, highlight=False, width=_width(sys.stderr))
