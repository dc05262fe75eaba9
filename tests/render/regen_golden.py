"""Regenerate tests/golden/<case>/ from the examples: `make golden` (review the diff, then commit)."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from render_cases import CASES, GOLDEN_DIR, render_case  # noqa: E402


def main() -> int:
    for case in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            files = render_case(case, Path(tmp) / "out")
        target = GOLDEN_DIR / case
        shutil.rmtree(target, ignore_errors=True)
        for rel, data in files.items():
            path = target / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        print(f"wrote {len(files)} files to {target.relative_to(GOLDEN_DIR.parents[1])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
