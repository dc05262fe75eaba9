"""Model loaders: sklearn (joblib/pickle), ONNX (onnxruntime), MLflow pyfunc folders, custom scripts.

Framework libraries come from the image's environment, so each loader imports them lazily.
Model files are trusted build artifacts (digest-checked); pickles are never loaded from requests.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import pickle
import warnings
from collections.abc import Callable
from pathlib import Path

from .errors import ConfigError, HTTPError
from .settings import ModelConfig, TensorSpec

PROBA_NAMES = ("probabilities", "probability", "predict_proba", "output_probability")
MLFLOW_TYPES = {
    "double": "float64",
    "float": "float32",
    "long": "int64",
    "integer": "int32",
    "boolean": "bool",
    "string": "object",
}
ONNX_TYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(bool)": "bool",
    "tensor(string)": "object",
    "tensor(float16)": "float16",
    "tensor(uint8)": "uint8",
    "tensor(int8)": "int8",
}


def verify_digest(path: Path, digest: str | None) -> None:
    if not digest or not path.is_file() or not digest.startswith("sha256:"):
        return  # folders carry a manifest digest checked at build time
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    if "sha256:" + h.hexdigest() != digest:
        raise ConfigError(f"{path.name}: content digest does not match {digest}")


class Model:
    """A loaded model. `inline` models are fast enough to predict on the event loop."""

    inline = True
    scripted = False  # a scoring script's run() (CustomModel)
    feature_names: tuple[str, ...] | None = None

    def __init__(self, cfg: ModelConfig, inputs, outputs):
        self.cfg = cfg
        self.inputs: tuple[TensorSpec, ...] | None = cfg.inputs or inputs
        self.outputs: tuple[TensorSpec, ...] | None = cfg.outputs or outputs

    def predict(self, inputs: dict) -> dict:  # name -> ndarray in, name -> ndarray out
        raise NotImplementedError

    def score(self, body: bytes, doc) -> object:
        """POST /score: {"data": rows} -> {"predictions": [...]} (first output)."""
        return self.score_result(self.predict(self.score_inputs(doc)))

    def score_inputs(self, doc) -> dict:
        """A /score body's rows as the model's input (validated: 422 when they do not fit)."""
        data = doc.get("data") if isinstance(doc, dict) else None
        if not isinstance(data, list):
            raise HTTPError(422, "body must be a JSON object with a 'data' list", input="data")
        if not self.inputs or len(self.inputs) != 1:
            raise HTTPError(422, "this model has several inputs; use the V2 infer endpoint")
        spec = self.inputs[0]
        return {spec.name: rows_to_array(data, spec, self.feature_names)}

    @staticmethod
    def score_result(outputs: dict) -> dict:
        return {"predictions": next(iter(outputs.values())).tolist()}

    def not_batchable(self) -> str | None:
        """Why requests to this model cannot be batched, or None when they can."""
        fixed = [s.name for s in self.inputs or () if s.shape and s.shape[0] != -1]
        if fixed:
            return f"input {fixed[0]!r} has a fixed first dimension (batching needs -1)"
        return None


def rows_to_array(rows: list, spec: TensorSpec, feature_names):
    import numpy as np

    if rows and isinstance(rows[0], dict):
        if not feature_names:
            raise HTTPError(422, "rows are objects but the model has no feature names; send lists", input="data")
        try:
            rows = [[r[f] for f in feature_names] for r in rows]
        except KeyError as exc:
            raise HTTPError(422, f"row is missing feature {exc.args[0]!r}", input="data") from None
        except TypeError:
            raise HTTPError(422, "all rows must be objects", input="data") from None
    try:
        arr = np.asarray(rows, dtype=spec.dtype)
    except (ValueError, TypeError, OverflowError) as exc:
        raise HTTPError(422, f"input 'data': rows do not fit {spec.dtype} ({exc})", input="data") from None
    shape = spec.shape
    if arr.ndim != len(shape) or any(e != -1 and e != d for d, e in zip(arr.shape, shape, strict=True)):
        raise HTTPError(
            422, f"input 'data': shape {list(arr.shape)} does not match the model's {list(shape)}", input="data"
        )
    return arr


class SklearnModel(Model):
    def __init__(self, cfg: ModelConfig, estimator):
        self.estimator = estimator
        n = getattr(estimator, "n_features_in_", None)
        inputs = (TensorSpec("input", "float64", (-1, int(n))),) if n else None
        classes = getattr(estimator, "classes_", None)
        out_dtype = classes.dtype.name if classes is not None else "float64"
        super().__init__(cfg, inputs, (TensorSpec("predict", out_dtype, (-1,)),))
        names = getattr(estimator, "feature_names_in_", None)
        self.feature_names = tuple(str(x) for x in names) if names is not None else None
        self._methods = [
            (o.name, estimator.predict_proba if o.name in PROBA_NAMES else estimator.predict)
            for o in self.outputs or ()
        ]

    def predict(self, inputs: dict) -> dict:
        if len(inputs) != 1:
            raise HTTPError(422, "this model takes exactly one input")
        (x,) = inputs.values()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "X does not have valid feature names"
            return {name: method(x) for name, method in self._methods}


def load_sklearn(cfg: ModelConfig, path: Path | None = None) -> SklearnModel:
    path = path or cfg.path
    if path.suffix in (".joblib", ".jbl"):
        import joblib

        obj = joblib.load(path)
    else:
        obj = _load_pickle(path)
    if not hasattr(obj, "predict"):
        raise ConfigError(f"{path.name}: the object has no predict() method")
    return SklearnModel(cfg, obj)


def _load_pickle(path: Path):
    with path.open("rb") as f:
        try:
            return pickle.load(f)
        except (AttributeError, ModuleNotFoundError, pickle.UnpicklingError):
            f.seek(0)
            import cloudpickle  # MLflow's default serialization_format

            return cloudpickle.load(f)


class OnnxModel(Model):
    def __init__(self, cfg: ModelConfig, session):
        self.session = session
        inputs = tuple(
            TensorSpec(i.name, ONNX_TYPES.get(i.type, "float32"), _onnx_shape(i.shape)) for i in session.get_inputs()
        )
        outputs = tuple(
            TensorSpec(o.name, ONNX_TYPES[o.type], _onnx_shape(o.shape))
            for o in session.get_outputs()
            if o.type in ONNX_TYPES
        )  # skip maps/sequences
        super().__init__(cfg, inputs, outputs)
        self._output_names = [o.name for o in self.outputs or ()]

    def predict(self, inputs: dict) -> dict:
        try:
            results = self.session.run(self._output_names, inputs)
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidArgument types
            raise HTTPError(422, f"the ONNX model rejected the input: {str(exc)[:300]}") from None
        return dict(zip(self._output_names, results, strict=True))  # one result per requested name


def _onnx_shape(shape) -> tuple[int, ...]:
    return tuple(d if isinstance(d, int) else -1 for d in (shape or []))


def load_onnx(cfg: ModelConfig) -> OnnxModel:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1  # one process per core: threads would only contend
    opts.inter_op_num_threads = 1
    return OnnxModel(cfg, ort.InferenceSession(str(cfg.path), opts, providers=["CPUExecutionProvider"]))


def load_mlflow(cfg: ModelConfig) -> Model:
    """An MLflow model folder (MLmodel + files), without importing mlflow."""
    import yaml

    folder = cfg.path if cfg.path.is_dir() else cfg.path.parent
    try:
        mlmodel = yaml.safe_load((folder / "MLmodel").read_text())
    except FileNotFoundError:
        raise ConfigError(f"{folder}: no MLmodel file") from None
    flavors = (mlmodel or {}).get("flavors") or {}
    if "sklearn" in flavors:
        rel = flavors["sklearn"].get("pickled_model", "model.pkl")
    elif flavors.get("python_function", {}).get("loader_module") == "mlflow.sklearn":
        rel = flavors["python_function"].get("model_path", "model.pkl")
    else:
        raise ConfigError(f"{folder}: unsupported MLflow flavors {sorted(flavors)} (supported: sklearn)")
    path = (folder / rel).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise ConfigError(f"{folder}: model path escapes the folder")
    model = load_sklearn(cfg, path)
    _apply_mlflow_signature(model, cfg, (mlmodel or {}).get("signature") or {})
    return model


def _apply_mlflow_signature(model: SklearnModel, cfg: ModelConfig, signature: dict) -> None:
    raw = signature.get("inputs")
    if cfg.inputs or not raw:
        return
    cols = json.loads(raw) if isinstance(raw, str) else raw
    if cols and cols[0].get("type") == "tensor":
        spec = cols[0]["tensor-spec"]
        model.inputs = (TensorSpec("input", spec["dtype"], tuple(spec["shape"])),)
    elif cols:
        types = {MLFLOW_TYPES.get(c.get("type"), "float64") for c in cols}
        model.inputs = (TensorSpec("input", types.pop() if len(types) == 1 else "float64", (-1, len(cols))),)
        if all("name" in c for c in cols):
            model.feature_names = tuple(c["name"] for c in cols)


class CustomModel(Model):
    """A scoring script following the Azure ML convention: init() once, run(raw_json) per request."""

    inline = False
    scripted = True

    def __init__(self, cfg: ModelConfig, module):
        self.module = module
        super().__init__(cfg, None, None)

    def predict(self, inputs: dict) -> dict:
        import numpy as np

        if len(inputs) == 1:
            payload = {"data": next(iter(inputs.values())).tolist()}
        else:
            payload = {"inputs": {k: v.tolist() for k, v in inputs.items()}}
        result = self._run(json.dumps(payload))
        if isinstance(result, dict):
            return {str(k): np.asarray(v) for k, v in result.items()}
        return {self.outputs[0].name if self.outputs else "output": np.asarray(result)}

    def score(self, body: bytes, doc) -> object:
        return self._run(body.decode("utf-8"))

    def not_batchable(self) -> str | None:
        if getattr(self.module, "BATCHABLE", False) is not True:
            script = self.cfg.script.name if self.cfg.script else "script"
            return f"its scoring script {script} does not declare BATCHABLE = True"
        return super().not_batchable()

    def run_rows(self, rows: list):
        """A batchable script's run() on the rows of several /score requests: {"data": rows}."""
        import orjson

        return self._run(orjson.dumps({"data": rows}, option=orjson.OPT_SERIALIZE_NUMPY).decode())

    def _run(self, raw: str):
        try:
            return self.module.run(raw)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise HTTPError(
                422, f"the scoring script rejected the input: {type(exc).__name__}: {str(exc)[:300]}"
            ) from None


def load_custom(cfg: ModelConfig) -> CustomModel:
    if cfg.script is None:
        raise ConfigError(f"model {cfg.name!r}: a custom model needs scoring.script")  # settings ensure it
    model_dir = str(cfg.path if cfg.path.is_dir() else cfg.path.parent)
    os.environ["AZUREML_MODEL_DIR"] = model_dir
    os.environ["MODELCTL_MODEL_DIR"] = model_dir
    os.environ["MODELCTL_MODEL_PATH"] = str(cfg.path)
    spec = importlib.util.spec_from_file_location(f"modelctl_score_{cfg.name.replace('-', '_')}", cfg.script)
    if spec is None or spec.loader is None:
        raise ConfigError(f"cannot load scoring script {cfg.script}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, "run", None)):
        raise ConfigError(f"{cfg.script.name}: defines no run(data) function")
    if callable(getattr(module, "init", None)):
        module.init()
    return CustomModel(cfg, module)


LOADERS: dict[str, Callable[[ModelConfig], Model]] = {
    "sklearn": load_sklearn,
    "onnx": load_onnx,
    "mlflow": load_mlflow,
    "custom": load_custom,
}


def load_model(cfg: ModelConfig) -> Model:
    if cfg.framework != "custom" and not cfg.path.exists():
        raise ConfigError(f"model file not found: {cfg.path}")
    verify_digest(cfg.path, cfg.digest)
    if cfg.script_wins:  # a model's own script (modelctl writes it for every model of an image with one)
        return load_custom(cfg)
    return LOADERS[cfg.framework](cfg)
