"""Train the small, real model files the example repos ship (run: python examples/make_models.py).

- examples/iris/artifacts/iris.joblib          scikit-learn pipeline (scaler + logistic regression)
- examples/iris/artifacts/iris-forest.joblib   scikit-learn random forest (the canary)
- examples/edge-vision/artifacts/digits.onnx   8x8 digit classifier (small MLP), converted with skl2onnx
- examples/edge-vision/artifacts/digits.int8.onnx  the same, dynamically quantised to int8
  (the "compiled" form the FPGA deployment declares)

Deterministic for fixed library versions (fixed seeds); the files are committed.
"""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
from sklearn.datasets import load_digits, load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HERE = Path(__file__).resolve().parent


def iris() -> None:
    x, y = load_iris(return_X_y=True)
    x = x.astype(np.float32)
    out = HERE / "iris" / "artifacts"
    out.mkdir(parents=True, exist_ok=True)
    linear = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, random_state=0)).fit(x, y)
    joblib.dump(linear, out / "iris.joblib")
    forest = RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0).fit(x, y)
    joblib.dump(forest, out / "iris-forest.joblib")
    print(f"iris: accuracy linear={linear.score(x, y):.3f} forest={forest.score(x, y):.3f}")


def digits() -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from skl2onnx import to_onnx

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    model = MLPClassifier(hidden_layer_sizes=(32,), max_iter=1000, random_state=0).fit(x, y)
    onx = to_onnx(model, x[:1], target_opset={"": 17, "ai.onnx.ml": 3},
                  options={id(model): {"zipmap": False}})
    out = HERE / "edge-vision" / "artifacts"
    out.mkdir(parents=True, exist_ok=True)
    path = out / "digits.onnx"
    path.write_bytes(onx.SerializeToString())
    quantize_dynamic(str(path), str(out / "digits.int8.onnx"), weight_type=QuantType.QInt8)
    print(f"digits: accuracy={model.score(x, y):.3f}")


if __name__ == "__main__":
    iris()
    digits()
