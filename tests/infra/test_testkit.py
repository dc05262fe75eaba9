"""The shared test helpers in tests/testkit.py: importable from any test folder, and able to fail."""

from __future__ import annotations

import time

import pytest
from testkit import changes, wait_until

from compiler.plan import Action, Plan, Scope
from compiler.plan.document import to_document
from compiler.plan.model import Stage


def test_wait_until_returns_the_first_truthy_value_and_stops_asking():
    answers = iter([0, None, "", ["ready"], "never asked"])
    assert wait_until(lambda: next(answers), timeout=5, interval=0.001) == ["ready"]
    assert next(answers) == "never asked"


def test_wait_until_fails_at_the_deadline_saying_what_did_not_happen():
    calls: list[float] = []

    def red() -> int:
        calls.append(time.monotonic())
        return 0

    start = time.monotonic()
    with pytest.raises(AssertionError, match=r"^timed out after 0.2 s waiting until the light is green \(last: 0\)$"):
        wait_until(red, timeout=0.2, interval=0.05, message="the light is green")
    assert calls[-1] - start >= 0.2  # asked once more at the deadline
    assert 3 <= len(calls) <= 10  # polled at the interval, not in a busy loop


def test_wait_until_describes_the_last_value_with_a_function():
    with pytest.raises(AssertionError, match=r"waiting until 3 replicas run; 2 do$"):
        wait_until(list, timeout=0.01, interval=0.001, message=lambda _last: "3 replicas run; 2 do")


def test_wait_until_raises_a_predicate_error_at_once_unless_it_is_ignored():
    calls: list[int] = []

    def refused() -> bool:
        calls.append(1)
        raise ConnectionRefusedError("port 8080")

    with pytest.raises(ConnectionRefusedError):
        wait_until(refused, timeout=5, interval=0.001)
    assert len(calls) == 1
    with pytest.raises(AssertionError, match=r"the server answers \(last: ConnectionRefusedError\('port 8080'\)\)"):
        wait_until(refused, timeout=0.05, interval=0.01, message="the server answers", ignore=(OSError,))
    assert len(calls) > 2


def test_changes_of_a_plan_and_of_its_saved_document_agree():
    plan = Plan(
        workspace="w",
        root="/repo",
        scope=Scope(),
        live_fingerprint="0" * 64,
        stages=(Stage(("Model/a",)), Stage(("Deployment/c",), deletes=True)),
        actions=(Action("Model/a", "update"), Action("Image/b", "no-op"), Action("Deployment/c", "delete")),
    )
    assert changes(plan) == {"Model/a": "update", "Deployment/c": "delete"}
    assert changes(to_document(plan)) == changes(plan)
