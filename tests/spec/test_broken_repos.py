"""One defect per repo: each must be reported at its exact file:line:col with a clear message."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from compiler.cli.main import app
from compiler.pipeline import compile_repo

from spec_repo import BASE_REPO


def edit(file: str, old: str, new: str) -> dict[str, str]:
    text = BASE_REPO[file]
    assert old in text, f"test setup: {old!r} not in {file}"
    return {file: text.replace(old, new, 1)}


def add(file: str, text: str) -> dict[str, str]:
    return {file: text}


ENV = "apiVersion: modelctl.io/v1\nkind: Environment\nmetadata:\n  name: {name}\nspec:\n  inherit: {parent}\n"
EDGE_WS = BASE_REPO["modelctl.yaml"] + "    factory:\n      type: edge\n      publish: file://out/edge\n"
LAYERED = """\
apiVersion: modelctl.io/v1
kind: Deployment
metadata:
  name: cam
spec:
  image: scorer
  target: factory
  edge:
    targetCondition: tags.site='a'
    priority: 5
    layered: true
"""
DOCKER_DEP = """\
apiVersion: modelctl.io/v1
kind: Deployment
metadata:
  name: dev
spec:
  image: scorer
  target: local
{extra}
"""

# (id, overrides, file, line, col, message, hint-or-None)
CASES = [
    (
        "bad-indentation",
        edit("models/m.yaml", "  path:", "   path:"),
        "models/m.yaml",
        7,
        8,
        "unexpected ':' — a value cannot start a new mapping on the same line",
        None,
    ),
    (
        "tab",
        edit("models/m.yaml", "  framework:", "\tframework:"),
        "models/m.yaml",
        6,
        1,
        "tab character: YAML indentation must use spaces",
        "replace the tab with spaces",
    ),
    (
        "duplicate-key",
        edit("models/m.yaml", "  path:", "  framework: onnx\n  path:"),
        "models/m.yaml",
        7,
        3,
        'duplicate key "framework" with value "onnx" (original value: "sklearn")',
        None,
    ),
    (
        "unknown-field",
        edit("models/m.yaml", "framework:", "framwork:"),
        "models/m.yaml",
        6,
        3,
        "unknown field 'framwork'",
        "did you mean 'framework'?",
    ),
    (
        "misspelt-kind",
        edit("models/m.yaml", "kind: Model", "kind: Modle"),
        "models/m.yaml",
        2,
        7,
        "unknown kind 'Modle'",
        "did you mean 'Model'?",
    ),
    (
        "wrong-type",
        edit("deployments/d.yaml", "replicas: 2", "replicas: two"),
        "deployments/d.yaml",
        8,
        13,
        "wrong type for 'replicas': expected an integer, got string 'two'",
        "remove the quotes around the value",
    ),
    (
        "quoted-number",
        edit("deployments/d.yaml", "replicas: 2", 'replicas: "2"'),
        "deployments/d.yaml",
        8,
        13,
        "wrong type for 'replicas': expected an integer, got string '2'",
        "remove the quotes around the value",
    ),
    (
        "missing-image",
        edit("deployments/d.yaml", "image: scorer", "image: scorr"),
        "deployments/d.yaml",
        6,
        10,
        "unknown image 'scorr'",
        "did you mean 'scorer'?",
    ),
    (
        "missing-model",
        edit("images/i.yaml", "[iris@latest]", "[iriss@latest]"),
        "images/i.yaml",
        6,
        12,
        "unknown model 'iriss'",
        "did you mean 'iris'?",
    ),
    (
        "unknown-environment",
        edit("images/i.yaml", "curated/sklearn", "curated/sklern"),
        "images/i.yaml",
        7,
        16,
        "unknown environment 'curated/sklern'",
        "did you mean 'curated/sklearn'?",
    ),
    (
        "cycle",
        {
            **add("envs/a.yaml", ENV.format(name="env-a", parent="env-b")),
            **add("envs/b.yaml", ENV.format(name="env-b", parent="env-a")),
        },
        "envs/a.yaml",
        6,
        12,
        "dependency cycle: Environment/env-a -> Environment/env-b -> Environment/env-a",
        None,
    ),
    (
        "traffic-total",
        edit("endpoints/e.yaml", "green: 10", "green: 20"),
        "endpoints/e.yaml",
        7,
        3,
        "traffic split totals 110 (90 + 20), not 100",
        None,
    ),
    (
        "path-escape",
        edit("models/m.yaml", "artifacts/iris.joblib", "../outside.joblib"),
        "models/m.yaml",
        7,
        9,
        "path '../outside.joblib' escapes the repo",
        None,
    ),
    (
        "absolute-path",
        edit("models/m.yaml", "artifacts/iris.joblib", "/etc/passwd"),
        "models/m.yaml",
        7,
        9,
        "absolute path '/etc/passwd' is not allowed: paths are relative to the repo root",
        None,
    ),
    (
        "missing-file",
        edit("models/m.yaml", "artifacts/iris.joblib", "artifacts/iris.jobib"),
        "models/m.yaml",
        7,
        9,
        "path 'artifacts/iris.jobib' does not exist",
        "did you mean 'artifacts/iris.joblib'?",
    ),
    (
        "unknown-target",
        edit("deployments/d.yaml", "target: prod\n  replicas", "target: prd\n  replicas"),
        "deployments/d.yaml",
        7,
        11,
        "unknown target 'prd': it is not in the Workspace's targets",
        "did you mean 'prod'?",
    ),
    (
        "duplicate-resource",
        add("models/again.yaml", BASE_REPO["models/m.yaml"]),
        "models/m.yaml",
        4,
        9,
        "duplicate Model 'iris' (first defined at models/again.yaml:1:1)",
        "rename one of them",
    ),
    (
        "missing-api-version",
        edit("images/i.yaml", "apiVersion: modelctl.io/v1\n", ""),
        "images/i.yaml",
        1,
        1,
        "missing required field 'apiVersion'",
        "write 'apiVersion: modelctl.io/v1'",
    ),
    (
        "wrong-api-version",
        edit("images/i.yaml", "modelctl.io/v1", "modelctl.io/v2"),
        "images/i.yaml",
        1,
        13,
        "unsupported apiVersion string 'modelctl.io/v2'",
        "write 'apiVersion: modelctl.io/v1'",
    ),
    (
        "invalid-name",
        edit("models/m.yaml", "name: iris", "name: Iris_Model"),
        "models/m.yaml",
        4,
        9,
        "invalid value string 'Iris_Model' for 'name'",
        "use 'iris-model'",
    ),
    (
        "bad-model-ref",
        edit("images/i.yaml", "[iris@latest]", "[iris@v3]"),
        "images/i.yaml",
        6,
        12,
        "invalid value string 'iris@v3' for 'models[0]'",
        None,
    ),
    (
        "bad-literal",
        edit("deployments/d.yaml", "  replicas: 2", "  replicas: 2\n  auth: {mode: kye}"),
        "deployments/d.yaml",
        9,
        16,
        "invalid value string 'kye' for 'mode'",
        "did you mean 'key'?",
    ),
    (
        "negative-replicas",
        edit("deployments/d.yaml", "replicas: 2", "replicas: -1"),
        "deployments/d.yaml",
        8,
        13,
        "invalid value integer -1 for 'replicas': input should be greater than or equal to 0",
        None,
    ),
    (
        "autoscale-range",
        edit("deployments/d.yaml", "  replicas: 2", "  replicas: 2\n  autoscale: {min: 5, max: 2}"),
        "deployments/d.yaml",
        9,
        3,
        "autoscale max (2) is below min (5)",
        None,
    ),
    (
        "target-type",
        edit("modelctl.yaml", "type: docker", "type: dockr"),
        "modelctl.yaml",
        8,
        13,
        "invalid type 'dockr'",
        "did you mean 'docker'?",
    ),
    (
        "no-workspace",
        {"modelctl.yaml": None},
        "modelctl.yaml",
        0,
        0,
        "no Workspace document in the repo, and no modelctl.yaml",
        "run 'modelctl init' to create one, or pass the repo's folder",
    ),
    (
        "not-a-mapping",
        add("models/list.yaml", "- just\n- a list\n"),
        "models/list.yaml",
        1,
        1,
        "a document must be a mapping, got a list",
        None,
    ),
    (
        "unclosed-bracket",
        edit("images/i.yaml", "[iris@latest]", "[iris@latest"),
        "images/i.yaml",
        7,
        14,
        "did not find expected ',' or ']' (while parsing a flow sequence)",
        None,
    ),
    (
        "edge-on-docker",
        edit("deployments/d.yaml", "  replicas: 2", "  replicas: 2\n  edge: {targetCondition: x}"),
        "deployments/d.yaml",
        9,
        3,
        "'edge' settings are only allowed on edge targets; target 'prod' is of type kubernetes",
        None,
    ),
    (
        "unknown-deployment",
        edit("endpoints/e.yaml", "green: 10", "gren: 10"),
        "endpoints/e.yaml",
        7,
        23,
        "unknown deployment 'gren'",
        "did you mean 'green'?",
    ),
    (
        "path-and-uri",
        edit("models/m.yaml", "  path:", "  uri: https://example.com/m.joblib\n  path:"),
        "models/m.yaml",
        5,
        1,
        "set exactly one of 'path' (a file in the repo) or 'uri' (a remote artifact)",
        None,
    ),
    (
        "python-tag",
        edit("models/m.yaml", "framework: sklearn", "framework: !!python/object:os.system ls"),
        "models/m.yaml",
        6,
        14,
        "unsupported YAML tag or value type tag:yaml.org,2002:python/object:os.system",
        "remove the '!tag'",
    ),
    (
        "sampling-range",
        edit("deployments/d.yaml", "  replicas: 2", "  replicas: 2\n  dataCollection: {enabled: true, sampling: 1.5}"),
        "deployments/d.yaml",
        9,
        45,
        "invalid value number 1.5 for 'sampling': input should be less than or equal to 1",
        None,
    ),
    (
        "relative-file-sink",
        edit(
            "deployments/d.yaml",
            "  replicas: 2",
            "  replicas: 2\n  dataCollection: {enabled: true, sink: file://collected/}",
        ),
        "deployments/d.yaml",
        9,
        41,
        "invalid value string 'file://collected/' for 'sink'",
        "a file sink is a folder inside the container: write its absolute path, "
        "e.g. file:///var/lib/modelctl/collected/",
    ),
    (
        "sink-on-tmp",
        edit(
            "deployments/d.yaml",
            "  replicas: 2",
            "  replicas: 2\n  dataCollection: {enabled: true, sink: file:///tmp/}",
        ),
        "deployments/d.yaml",
        9,
        41,
        "data-collection sink 'file:///tmp/' is /tmp, where the container already has other storage mounted",
        "use the default, file:///var/lib/modelctl/collected",
    ),
    (
        "sink-in-the-auth-folder",
        edit(
            "deployments/d.yaml",
            "  replicas: 2",
            "  replicas: 2\n  dataCollection: {enabled: true, sink: file:///var/run/secrets/modelctl/auth/c}",
        ),
        "deployments/d.yaml",
        9,
        41,
        "data-collection sink 'file:///var/run/secrets/modelctl/auth/c' is inside /var/run/secrets/modelctl/auth, "
        "where the container already has other storage mounted",
        None,
    ),
    (
        "layered-without-base",
        {"modelctl.yaml": EDGE_WS, **add("deployments/cam.yaml", LAYERED)},
        "deployments/cam.yaml",
        11,
        14,
        "layered deployment needs a base deployment (layered: false) on target 'factory' with a priority lower than 5",
        None,
    ),
    (
        "endpoint-other-target",
        edit("deployments/d.yaml", "target: prod\n  replicas", "target: local\n  replicas"),
        "endpoints/e.yaml",
        7,
        13,
        "deployment 'blue' runs on target 'local', not on the endpoint's target 'prod'",
        None,
    ),
    (
        "publish-escapes-the-repo",
        {"modelctl.yaml": EDGE_WS.replace("file://out/edge", "file://../out/edge")},
        "modelctl.yaml",
        13,
        16,
        "invalid value string 'file://../out/edge' for 'publish'",
        None,
    ),
    (
        "docker-scale-to-zero",
        add("deployments/dev.yaml", DOCKER_DEP.format(extra="  replicas: 0")),
        "deployments/dev.yaml",
        8,
        13,
        "docker target 'local' cannot scale a deployment to zero",
        "remove the deployment from git (apply deletes its containers), or set 'replicas: 1'",
    ),
    (
        "docker-mtls",
        add("deployments/dev.yaml", DOCKER_DEP.format(extra="  auth: {mode: mtls}")),
        "deployments/dev.yaml",
        8,
        16,
        "docker target 'local' cannot serve mtls: its router speaks plain HTTP to the backend",
        "use auth mode key or token, or a kubernetes target",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_each_defect_is_located_and_explained(case, make_repo):
    _id, overrides, file, line, col, message, hint = case
    root = make_repo(overrides)
    result = compile_repo(root)
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert errors, "the defect was not reported"
    shown = [(d.location.file, d.location.line, d.location.col, d.message) for d in errors]
    assert (file, line, col, message) in shown, shown
    if hint is not None:
        match = [d for d in errors if d.message == message]
        assert match[0].suggestion == hint


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_cli_reports_without_traceback(case, make_repo):
    _id, overrides, file, line, col, message, _hint = case
    root = make_repo(overrides)
    result = CliRunner().invoke(app, ["validate", str(root)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    location = f"{root}/{file}:{line}:{col}" if line else f"{root}/{file}"
    assert location in result.output
    assert message in result.output.replace("\n", " ") or message in result.output


def test_symlink_out_of_repo(make_repo, tmp_path):
    secret = tmp_path / "outside.joblib"
    secret.write_text("x")
    root = make_repo(edit("models/m.yaml", "artifacts/iris.joblib", "artifacts/link.joblib"))
    os.symlink(secret, root / "artifacts" / "link.joblib")
    diags = compile_repo(root).diagnostics
    assert [(d.location.file, d.location.line, d.location.col, d.message) for d in diags] == [
        ("models/m.yaml", 7, 9, "path 'artifacts/link.joblib' is a symlink pointing outside the repo")
    ]


def test_unknown_reference_hints_at_an_unparsable_file(make_repo):
    # a flow-style document whose name a line scan cannot see: the reference may be in that file
    broken = '{"apiVersion": "modelctl.io/v1", "kind": "Model", "metadata": {"name": "iris"}, "spec": {[}\n'
    diags = compile_repo(make_repo({"models/m.yaml": broken})).diagnostics
    [ref] = [d for d in diags if d.code == "unknown-reference"]
    assert ref.message == "unknown model 'iris'"
    assert ref.suggestion == "it may be defined in models/m.yaml, which could not be read (see its error)"


def test_a_did_you_mean_keeps_the_unparsable_file_in_view(make_repo):
    broken = '{"apiVersion": "modelctl.io/v1", "kind": "Model", "metadata": {"name": "iris"}, "spec": {[}\n'
    other = BASE_REPO["models/m.yaml"].replace("name: iris", "name: iris-2")
    diags = compile_repo(make_repo({"models/m.yaml": broken, "models/other.yaml": other})).diagnostics
    [ref] = [d for d in diags if d.code == "unknown-reference"]
    assert ref.suggestion == (
        "did you mean 'iris-2'? — or it may be defined in models/m.yaml, which could not be read (see its error)"
    )


BLUE_GREEN = BASE_REPO["deployments/d.yaml"]


@pytest.mark.parametrize(
    ("broken", "error_at", "lost"),
    [
        (BLUE_GREEN.replace("  replicas: 2", "\treplicas: 2"), "deployments/d.yaml:8:1", ["blue", "green"]),
        (BLUE_GREEN.replace("  replicas: 2", "  replicas: 2\n  replicas: 3"), "deployments/d.yaml:9:3", ["blue"]),
        (BLUE_GREEN.replace("  replicas: 2", "  replicas: [2"), "deployments/d.yaml:9:1", ["blue", "green"]),
        (
            BLUE_GREEN.replace("metadata:\n  name: blue", "metadata: {name: blue}\n\t"),
            "deployments/d.yaml:",
            ["blue", "green"],
        ),
    ],
    ids=["tab", "duplicate-key", "syntax", "flow-metadata"],
)
def test_a_reference_to_a_document_that_failed_to_parse_says_so(make_repo, broken, error_at, lost):
    # blue-2 exists elsewhere: before, the endpoint's 'blue' got "unknown deployment … did you mean 'blue-2'?"
    blue2 = BLUE_GREEN.split("---")[0].replace("name: blue", "name: blue-2")
    diags = compile_repo(make_repo({"deployments/d.yaml": broken, "deployments/b2.yaml": blue2})).diagnostics
    refs = [d for d in diags if d.location and d.location.file == "endpoints/e.yaml"]
    assert [d.code for d in refs] == ["unparsed-reference"] * len(lost), [d.headline() for d in diags]
    for d, name in zip(refs, lost, strict=True):
        assert d.message == f"deployment '{name}' is in deployments/d.yaml, which could not be parsed"
        assert d.suggestion.startswith(f"fix the error at {error_at}") and "did you mean" not in d.suggestion
    assert not any("unknown deployment" in d.message for d in diags)


def test_all_errors_of_a_repo_in_one_run(make_repo):
    overrides = {
        **edit("models/m.yaml", "framework:", "framwork:"),
        **edit("endpoints/e.yaml", "green: 10", "green: 20"),
        **edit("images/i.yaml", "curated/sklearn", "curated/nope"),
    }
    diags = compile_repo(make_repo(overrides)).diagnostics
    assert {d.location.file for d in diags} == {"models/m.yaml", "endpoints/e.yaml", "images/i.yaml"}


def test_base_repo_is_valid(make_repo):
    result = compile_repo(make_repo())
    assert result.diagnostics == []
    assert result.ok
    assert [n.id for n in result.graph if not n.id.startswith("Environment/")] == [
        "Model/iris",
        "Image/scorer",
        "Deployment/blue",
        "Deployment/green",
        "Endpoint/web",
    ]


def test_autoscale_on_docker_is_a_warning_that_names_the_replica_count(make_repo):
    root = make_repo(
        add("deployments/dev.yaml", DOCKER_DEP.format(extra="  replicas: 3\n  autoscale: {min: 1, max: 5}"))
    )
    result = compile_repo(root)
    assert result.ok
    assert [(d.severity, d.location.file, d.location.line, d.message) for d in result.diagnostics] == [
        (
            "warning",
            "deployments/dev.yaml",
            9,
            "docker target 'local' has no autoscaler: autoscale is ignored and 3 containers run (spec.replicas)",
        )
    ]
    cli = CliRunner().invoke(app, ["validate", str(root)])
    assert cli.exit_code == 0 and "warning" in cli.output and "has no autoscaler" in cli.output


def test_case_count_meets_the_bar():
    assert len(CASES) + 1 >= 30


DOCKER_PAIR = """\
apiVersion: modelctl.io/v1
kind: Deployment
metadata: {name: dev-a}
spec: {image: scorer, target: local}
---
apiVersion: modelctl.io/v1
kind: Deployment
metadata: {name: dev-b}
spec: {image: scorer, target: local}
"""
DOCKER_ENDPOINT = """\
apiVersion: modelctl.io/v1
kind: Endpoint
metadata: {name: dev}
spec:
  target: local
  traffic: {dev-a: 50, dev-b: 50}
  mirror: {deployment: dev-b, percent: 5}
  hostnames: [dev.example.com]
"""


def test_endpoints_on_docker_refuse_mirror_and_mixed_credentials_and_warn_on_hostnames(make_repo):
    root = make_repo({"deployments/dev.yaml": DOCKER_PAIR, "endpoints/dev.yaml": DOCKER_ENDPOINT})
    found = sorted(
        (d.severity, d.location.line, d.code)
        for d in compile_repo(root).diagnostics
        if d.location.file == "endpoints/dev.yaml"
    )
    assert found == [("error", 6, "endpoint-auth"), ("error", 7, "docker-mirror"), ("warning", 8, "docker-hostnames")]
    shared = DOCKER_PAIR.replace("target: local}", "target: local, auth: {secretRef: dev-keys}}")
    fixed = DOCKER_ENDPOINT.replace("  mirror: {deployment: dev-b, percent: 5}\n", "")
    result = compile_repo(make_repo({"deployments/dev.yaml": shared, "endpoints/dev.yaml": fixed}))
    assert result.ok and [d.code for d in result.diagnostics] == ["docker-hostnames"]


# --- hints that were wrong (issue 10) ---------------------------------------------------------


def _only(diags, code):  # noqa: ANN001, ANN202
    found = [d for d in diags if d.code == code]
    assert len(found) == 1, [d.headline() for d in diags]
    return found[0]


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("a" * 62 + "-b", "use '" + "a" * 62 + "'"),  # cut at 63 left a trailing '-': an invalid name
        ("Iris_Model", "use 'iris-model'"),
    ],
)
def test_an_invalid_name_is_never_suggested(make_repo, name, hint):
    diags = compile_repo(make_repo(edit("models/m.yaml", "name: iris", f"name: {name}"))).diagnostics
    [d] = [d for d in diags if d.path == "metadata.name"]
    assert d.suggestion == hint


def test_an_invalid_env_name_is_not_suggested_back(make_repo):
    root = make_repo(edit("deployments/d.yaml", "  replicas: 2", "  replicas: 2\n  env: {1ABC: x}"))
    [d] = [d for d in compile_repo(root).diagnostics if "1ABC" in d.message]
    assert d.suggestion == "use '_1ABC'"


@pytest.mark.parametrize(
    ("written", "hint"),
    [("score/scor.py", "did you mean 'score/score.py'?"), ("scroe/score.py", "did you mean 'score/score.py'?")],
)
def test_a_mistyped_script_path_is_suggested_whole(make_repo, written, hint):
    root = make_repo(
        {
            "images/i.yaml": BASE_REPO["images/i.yaml"] + f"  scoring: {{script: {written}}}\n",
            "score/score.py": "def run(raw):\n    return raw\n",
        }
    )
    assert _only(compile_repo(root).diagnostics, "bad-path").suggestion == hint


def test_a_symlink_escape_suggests_copying_not_a_file_name(make_repo, tmp_path):
    secret = tmp_path / "outside.joblib"
    secret.write_text("x")
    root = make_repo(edit("models/m.yaml", "artifacts/iris.joblib", "artifacts/link.joblib"))
    os.symlink(secret, root / "artifacts" / "link.joblib")
    d = _only(compile_repo(root).diagnostics, "bad-path")
    assert "did you mean" not in (d.suggestion or "") and "copy the file into the repo" in d.suggestion


AUTH_DEPLOYMENTS = """\
apiVersion: modelctl.io/v1
kind: Deployment
metadata: {name: blue}
spec: {image: scorer, target: local, auth: {mode: key}}
---
apiVersion: modelctl.io/v1
kind: Deployment
metadata: {name: green}
spec: {image: scorer, target: local, auth: {mode: %s}}
"""
LOCAL_ENDPOINT = BASE_REPO["endpoints/e.yaml"].replace("target: prod", "target: local")


def test_an_auth_mode_mismatch_behind_an_endpoint_talks_about_the_mode(make_repo):
    root = make_repo({"deployments/d.yaml": AUTH_DEPLOYMENTS % "token", "endpoints/e.yaml": LOCAL_ENDPOINT})
    d = _only(compile_repo(root).diagnostics, "endpoint-auth")
    assert "different auth modes (blue: key, green: token)" in d.message
    assert "auth.mode" in d.suggestion and "secretRef" not in d.suggestion + (d.expected or "")


def test_a_secret_mismatch_behind_an_endpoint_talks_about_the_secret(make_repo):
    root = make_repo({"deployments/d.yaml": AUTH_DEPLOYMENTS % "key", "endpoints/e.yaml": LOCAL_ENDPOINT})
    d = _only(compile_repo(root).diagnostics, "endpoint-auth")
    assert "different secrets (blue: blue-keys, green: green-keys)" in d.message
    assert d.suggestion == "give the deployments the same auth.secretRef"


def test_a_missing_workspace_is_one_error_without_follow_on_unknown_targets(make_repo):
    diags = compile_repo(make_repo({"modelctl.yaml": None})).diagnostics
    assert [d.code for d in diags] == ["no-workspace"], [d.headline() for d in diags]


def test_a_modelctl_yaml_without_a_workspace_is_pointed_at(make_repo):
    root = make_repo({"modelctl.yaml": BASE_REPO["models/m.yaml"].replace("name: iris", "name: other")})
    d = _only(compile_repo(root).diagnostics, "no-workspace")
    assert (d.location.file, d.location.line, d.location.col) == ("modelctl.yaml", 2, 7)
    assert "modelctl.yaml holds Model" in d.message


def test_a_non_utf8_file_has_the_position_of_its_first_bad_byte(make_repo):
    root = make_repo()
    text = BASE_REPO["models/m.yaml"].replace("spec:", "# café\nspec:")
    (root / "models" / "m.yaml").write_bytes(text.encode("latin-1"))
    diags = compile_repo(root).diagnostics
    d = _only(diags, "encoding")
    assert (d.location.file, d.location.line, d.location.col) == ("models/m.yaml", 5, 6)
    assert "0xe9" in d.message
    ref = _only(diags, "unparsed-reference")  # the image's reference to 'iris' says where it is
    assert ref.message == "model 'iris' is in models/m.yaml, which could not be parsed"


def test_a_nonexistent_directory_is_reported_once(tmp_path):
    missing = tmp_path / "nope"
    result = CliRunner().invoke(app, ["validate", str(missing)])
    assert result.exit_code == 1
    assert result.output.count("not a directory") == 1 and "no Workspace" not in result.output, result.output
    diags = compile_repo(missing).diagnostics
    assert [d.code for d in diags] == ["io"]
