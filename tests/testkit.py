"""Helpers shared by every test folder: `from testkit import changes, wait_until`.

Importable from any tests/<area>/ module without a conftest import: pytest (import mode "prepend",
the default) puts tests/ on sys.path when it loads tests/conftest.py, the way it puts tests/docker/
there for docker_helpers.py. A uniquely named module, for the reason given in runtime/runtime_support.py.
Imports nothing from `compiler`, so the runtime tests can use it too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def changes(plan: Any) -> dict[str, str]:
    """{resource: action} of the plan's change actions, no-ops left out.

    `plan` is a compiler Plan, or a plan document as `modelctl plan --out` writes it (parsed JSON).
    """
    if isinstance(plan, Mapping):
        return {a["resource"]: a["action"] for a in plan["actions"] if a["action"] != "no-op"}
    return {a.resource: a.action for a in plan.actions if a.is_change}


def wait_until(
    predicate: Callable[[], T],
    timeout: float = 30.0,
    interval: float = 0.1,
    message: str | Callable[[Any], str] = "the condition held",
    ignore: tuple[type[BaseException], ...] = (),
) -> T:
    """Call `predicate` until it returns something truthy, and return that.

    It is called at least once, and once more at the deadline. When it is still falsy then, the test
    fails: "timed out after 5 s waiting until MESSAGE (last: VALUE)". `message` may be a function of
    the last value (or of the last exception) that describes what did not happen. An exception
    raised by `predicate` fails the test at once, unless its type is in `ignore` (then it counts as
    "not yet", e.g. connection refused while a server starts).
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            last: Any = predicate()
        except ignore as exc:  # an empty tuple catches nothing
            last = exc
        else:
            if last:
                return last
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            text = message(last) if callable(message) else f"{message} (last: {last!r})"
            raise AssertionError(f"timed out after {timeout:g} s waiting until {text}")
        time.sleep(min(interval, remaining))
