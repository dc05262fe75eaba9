"""Which revision `modelctl rollback` goes back to: the previous one, or `--to` a unique prefix."""

from __future__ import annotations

import pytest

from compiler.errors import ApplyError
from compiler.plan.target import Revision
from compiler.workflow.rollback import choose

NEW, MID, OLD = (
    Revision(fp * 64, "scorer", "r/scorer:" + fp, {}, image_version=v) for fp, v in (("c", 3), ("b", 2), ("a", 1))
)


def listed(current: Revision) -> list[Revision]:
    return [Revision(**{**r.__dict__, "current": r is current}) for r in (NEW, MID, OLD)]


def test_without_to_the_previous_revision_of_the_current_one():
    assert [r.fingerprint[0] for r in choose(listed(NEW), "Deployment/cam", None)] == ["c", "b"]
    assert [r.fingerprint[0] for r in choose(listed(MID), "Deployment/cam", None)] == ["b", "a"]
    with pytest.raises(ApplyError, match="is the oldest revision kept"):
        choose(listed(OLD), "Deployment/cam", None)


def test_to_takes_a_unique_prefix_of_four_or_more():
    assert choose(listed(NEW), "Deployment/cam", "aaaa")[1].fingerprint == OLD.fingerprint
    with pytest.raises(ApplyError, match=r"unknown revision 'aa'.*needs 4 characters"):
        choose(listed(NEW), "Deployment/cam", "aa")
    with pytest.raises(ApplyError, match=r"unknown revision 'dddd'; revisions \(newest first\): cccccccccccc"):
        choose(listed(NEW), "Deployment/cam", "dddd")


def test_nothing_running_is_nothing_to_roll_back():
    with pytest.raises(ApplyError, match="nothing to roll back"):
        choose([NEW, MID], "Deployment/cam", None)
