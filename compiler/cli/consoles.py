"""The CLI's two consoles.

On a terminal, rich sizes the page: `COLUMNS` when it is set, else the terminal's width. Piped
output (CI logs, files, `| less`) is never cut: the page is as wide as the widest line, so table
cells keep their full text whatever `COLUMNS` says. `is_piped(console)` tells commands that would
shorten a cell for a terminal (e.g. `history`'s WHY column) to keep it whole.

No `file=` is bound: rich looks up sys.stdout/sys.stderr when printing, so test runners capture it.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console

# Wide enough for any row modelctl prints; rich pads nothing to the page width (no `expand`), so a
# wide page costs nothing but keeps every cell whole.
PIPE_WIDTH = 100_000


def _size(stream) -> tuple[int | None, int | None]:  # noqa: ANN001
    """Console width/height: unbounded on a pipe; on a terminal `COLUMNS` (even with TERM=dumb,
    where rich alone would fall back to 80), else rich measures the terminal."""
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):
        terminal = False
    if not terminal:
        return PIPE_WIDTH, None
    columns, lines = os.environ.get("COLUMNS", ""), os.environ.get("LINES", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns), int(lines) if lines.isdigit() else 25
    return None, None


def is_piped(target: Console) -> bool:
    """True when `target` writes to a pipe or a file (its page is unbounded)."""
    return target.width >= PIPE_WIDTH


_out, _err = _size(sys.stdout), _size(sys.stderr)
console = Console(highlight=False, width=_out[0], height=_out[1])
err_console = Console(stderr=True, highlight=False, width=_err[0], height=_err[1])
