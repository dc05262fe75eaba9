"""A secret value rotated outside git shows in the plan (by name, never the value) and is rolled out
blue/green: the new key works, the old one is refused, and a second plan is clean."""

from __future__ import annotations

import json

import httpx
from testkit import changes


def test_rotated_key_is_planned_and_rolled_out(workspace):
    ws = workspace
    plan, outcome = ws.apply()
    assert outcome.ok, [r.message for r in outcome.results]
    old_key = ws.key()
    [before] = ws.backends("blue")
    assert old_key not in json.dumps(before.attrs)
    assert set(json.loads(before.labels["modelctl.io/secrets"])) == {"test-keys"}
    assert not ws.plan().has_changes

    new_key = "rotated-" + old_key[::-1]
    ws.write(".modelctl/secrets/test-keys", new_key + "\n")
    cli = ws.cli("plan", ".", "--detailed-exitcode")
    assert cli.returncode == 2, cli.stdout + cli.stderr
    assert "secret value changed: test-keys" in cli.stdout
    assert new_key not in cli.stdout and old_key not in cli.stdout
    plan = ws.plan()
    assert set(changes(plan)) == {"Deployment/blue"}

    url = ws.url("blue")
    plan, outcome = ws.apply()
    assert outcome.ok, [r.message for r in outcome.results]
    [after] = ws.backends("blue")
    assert after.id != before.id and ws.url("blue") == url
    body = {"data": [[5.1, 3.5, 1.4, 0.2]]}
    assert httpx.post(url + "/score", json=body, headers={"Authorization": f"Bearer {new_key}"}).status_code == 200
    assert httpx.post(url + "/score", json=body, headers={"Authorization": f"Bearer {old_key}"}).status_code == 401
    assert not ws.plan().has_changes
