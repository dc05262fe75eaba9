"""`monitor --baseline` names features as the model does: collected records carry the names of their
columns (`featureNames`, from the signature's `features` or the model file), a baseline may use those
names or `data[i]`, and a baseline column that matches nothing is a warning with a did-you-mean."""

from __future__ import annotations

import csv
import json

import httpx
import pytest
from typer.testing import CliRunner

from compiler.cli.main import app
from compiler.monitor.collected import (
    Baseline,
    MonitorError,
    aliases,
    columns,
    feature_rows,
    load_baseline,
    match_baseline,
)
from compiler.monitor.drift import PSI_SIGNIFICANT, feature_stats

from runtime_support import KEY

NAMES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
H = {"Authorization": f"Bearer {KEY}"}


def _record(rows, names=True, input_name="data") -> dict:  # noqa: ANN001
    r = {"collection": "scoring", "model": "m", "version": "1", "inputs": {input_name: rows}}
    if names:
        r["featureNames"] = {input_name: NAMES, "data": NAMES}
    return r


# --- unit level: collected records and baselines ----------------------------------------------------


def test_named_records_give_feature_names_and_their_aliases():
    records = [_record([[1.0, 2.0, 3.0, 4.0]], input_name="features"), _record([[5.0, 6.0, 7.0, 8.0]])]
    cols = columns(feature_rows(records))
    assert cols == {
        "sepal_length": [1.0, 5.0],
        "sepal_width": [2.0, 6.0],
        "petal_length": [3.0, 7.0],
        "petal_width": [4.0, 8.0],
    }
    assert aliases(records)["data[2]"] == "petal_length" and aliases(records)["features[0]"] == "sepal_length"
    unnamed = columns(feature_rows([_record([[1.0, 2.0, 3.0, 4.0]], names=False)]))
    assert sorted(unnamed) == [f"data[{j}]" for j in range(4)]  # records without names: as before


def test_either_naming_matches_and_a_typo_warns():
    current = {n: [1.0, 2.0] for n in NAMES}
    named_as = {f"data[{j}]": n for j, n in enumerate(NAMES)}
    by_name, warnings = match_baseline(current, named_as, Baseline({"petal_length": [1.0], "sepal_width": [2.0]}))
    assert set(by_name) == {"petal_length", "sepal_width"} and warnings == []
    by_index, warnings = match_baseline(current, named_as, Baseline({"data[2]": [9.0]}))
    assert by_index == {"petal_length": [9.0]} and warnings == []
    _, warnings = match_baseline(current, named_as, Baseline({"sepal_lenght": [1.0], "petal_width": [1.0]}))
    assert warnings == ["baseline column 'sepal_lenght' matches no collected feature; did you mean 'sepal_length'?"]
    # records collected without names, a baseline of named records: matched through the baseline's aliases
    old = {f"data[{j}]": [1.0] for j in range(4)}
    matched, warnings = match_baseline(old, {}, Baseline({"petal_length": [3.0]}, {"data[2]": "petal_length"}))
    assert matched == {"data[2]": [3.0]} and warnings == []
    _, [warning] = match_baseline(old, {}, Baseline({"height": [3.0]}))
    assert "the collected features are data[0], data[1], data[2], data[3]" in warning
    assert "spec.signature.inputs[].features" in warning


def test_a_baseline_without_numbers_is_never_a_silent_empty_psi(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    header_only = tmp_path / "header.csv"
    header_only.write_text("petal_length,petal_width\n")
    for path in (empty, header_only):
        with pytest.raises(MonitorError, match="has no numeric values"):
            load_baseline(path)
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("petal_length,petal_width,sepal_width\nx,1,a\ntall,2,b\n3,n/a,c\n")
    matched, warnings = match_baseline({n: [1.0] for n in NAMES}, {}, load_baseline(mixed))
    assert matched == {"petal_length": [3.0], "petal_width": [1.0, 2.0]}
    assert warnings == [
        "baseline column 'petal_length': 2 value(s) are not numbers and are left out",
        "baseline column 'sepal_width' has no numeric values: it gives no PSI",
        "baseline column 'petal_width': 1 value(s) are not numbers and are left out",
    ]


def test_psi_per_named_feature_flags_the_shifted_one():
    import numpy as np

    rng = np.random.default_rng(1)
    rows = rng.normal(0, 1, (2000, 4)).tolist()
    current = columns(feature_rows([_record(rows)]))
    base = rng.normal(0, 1, (2000, 4))
    base[:, 2] += 2.0
    baseline = Baseline({n: base[:, j].tolist() for j, n in enumerate(NAMES)})
    matched, warnings = match_baseline(current, aliases([_record(rows)]), baseline)
    stats = {s.feature: s for s in feature_stats(current, matched)}
    assert warnings == [] and all(stats[n].psi is not None for n in NAMES)
    assert stats["petal_length"].psi >= PSI_SIGNIFICANT and stats["petal_length"].drift == "significant"
    assert all(stats[n].drift == "stable" for n in NAMES if n != "petal_length")


# --- through the real runtime -------------------------------------------------------------------


@pytest.fixture
def named_config(image_dir):  # noqa: ANN001, ANN201
    """An Azure ML–style scoring script whose signature names the columns (the case of issue 10), and an
    MLflow model whose MLmodel signature names them."""
    sig = {"inputs": [{"name": "data", "dtype": "float64", "shape": [-1, 4], "features": NAMES}]}
    doc = {
        "schemaVersion": 1,
        "image": "iris-named",
        "models": [
            {
                "name": "iris-custom",
                "version": "1",
                "framework": "custom",
                "path": "models/iris-sk/1",
                "signature": sig,
            },
            {"name": "iris-mlflow", "version": "2", "framework": "mlflow", "path": "models/iris-mlflow/2/model"},
        ],
        "scoring": {"script": "score/iris_score.py"},
    }
    (image_dir / "named.json").write_text(json.dumps(doc))
    return "named.json"


def _csv(path, header, rows) -> None:  # noqa: ANN001
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def test_collected_features_take_the_signatures_names(start_server, named_config, tmp_path, iris):
    X, _ = iris
    sink = tmp_path / "collected"
    server = start_server(
        named_config,
        MODELCTL_DATA_COLLECTION=json.dumps({"enabled": True, "sink": f"file://{sink}", "flushSeconds": 0.2}),
    )
    for i in range(0, 150, 5):
        rows = X[i : i + 5].tolist()
        r = httpx.post(server.url + "/score?model=iris-custom", json={"data": rows}, headers=H)
        assert r.status_code == 200, r.text
        body = {
            "inputs": [{"name": "input", "shape": [5, 4], "datatype": "FP64", "data": X[i : i + 5].ravel().tolist()}]
        }
        assert httpx.post(server.url + "/v2/models/iris-mlflow/infer", json=body, headers=H).status_code == 200
    assert server.stop() in (0, -15)

    runner = CliRunner()
    shifted = X.copy()
    shifted[:, 2] += 3.0
    named = tmp_path / "train.csv"
    _csv(named, NAMES, shifted.tolist())
    for model in ("iris-custom", "iris-mlflow"):  # one named by the signature, one by its MLmodel file
        result = runner.invoke(
            app, ["monitor", "--collected", str(sink), "--model", model, "--baseline", str(named), "--json"]
        )
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)["collected"]
        assert report["records"] == 30 and report["baselineWarnings"] == []
        feats = {f["feature"]: f for f in report["features"]}
        assert set(feats) == set(NAMES), feats.keys()
        assert all(feats[n]["psi"] is not None for n in NAMES)
        assert feats["petal_length"]["drift"] == "significant"
        assert [n for n in NAMES if feats[n]["drift"] == "significant"] == ["petal_length"]

    by_index = tmp_path / "by-index.csv"
    _csv(by_index, [f"data[{j}]" for j in range(4)], X.tolist())
    result = runner.invoke(
        app, ["monitor", "--collected", str(sink), "--model", "iris-custom", "--baseline", str(by_index), "--json"]
    )
    report = json.loads(result.stdout)["collected"]
    assert report["baselineWarnings"] == [] and all(f["drift"] == "stable" for f in report["features"])

    typo = tmp_path / "typo.csv"
    _csv(typo, ["sepal_lenght", *NAMES[1:]], X.tolist())
    result = runner.invoke(
        app, ["monitor", "--collected", str(sink), "--model", "iris-custom", "--baseline", str(typo)]
    )
    assert result.exit_code == 0, result.output
    said = " ".join(result.stderr.split())
    assert "warning: baseline column 'sepal_lenght' matches no collected feature; did you mean 'sepal_length'?" in said
