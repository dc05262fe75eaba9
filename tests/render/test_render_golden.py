"""The rendered trees of the examples match tests/golden/ file by file."""

from __future__ import annotations

import pytest

from render_cases import CASES, GOLDEN_DIR, REGEN_COMMAND, read_tree, render_case, tree_diff


@pytest.mark.parametrize("case", sorted(CASES))
def test_render_matches_golden_tree(case, tmp_path):
    expected = read_tree(GOLDEN_DIR / case)
    assert expected, f"no golden tree at tests/golden/{case}; create it with: {REGEN_COMMAND}"
    actual = render_case(case, tmp_path / "out")
    report = tree_diff(expected, actual, case)
    assert not report, (
        f"rendered {case} differs from tests/golden/{case}:\n{report}\n\n"
        f"If the change is intended, regenerate with: {REGEN_COMMAND}"
    )


def test_golden_diff_is_readable():
    report = tree_diff({"a.yaml": b"x: 1\ny: 2\n"}, {"a.yaml": b"x: 1\ny: 3\n", "b.yaml": b""}, "case")
    assert "-y: 2" in report and "+y: 3" in report and "not in golden tree:  case/b.yaml" in report
