"""The models of one image, by name: load state (loading / ready / failed), errors and load times."""

from __future__ import annotations

import sys
import time
import traceback
from dataclasses import dataclass

import orjson

from .collector import ScoringContext, current
from .errors import HTTPError
from .loaders import Model, load_model
from .settings import ModelConfig

PLATFORMS = {"sklearn": "sklearn", "onnx": "onnxruntime_onnx", "mlflow": "mlflow_sklearn", "custom": "custom"}


@dataclass
class ModelSlot:
    cfg: ModelConfig
    state: str = "loading"  # loading | ready | failed
    error: str | None = None
    model: Model | None = None
    load_seconds: float | None = None


class ModelSet:
    def __init__(self, configs: tuple[ModelConfig, ...], metrics, queue=None):
        self.slots = {c.name: ModelSlot(c) for c in configs}
        self.default = configs[0].name
        self.metrics = metrics
        self.queue = queue

    def load_all(self) -> None:
        """Runs in a thread during lifespan startup, before the worker accepts connections."""
        for slot in self.slots.values():
            cfg = slot.cfg
            self.metrics.model_ready.labels(cfg.name, cfg.version).set(0)
            token = current.set(ScoringContext(self.queue, cfg.name, cfg.version, None))
            start = time.perf_counter()
            try:
                slot.model = load_model(cfg)
                slot.state = "ready"
                if self.queue is not None:
                    self.queue.name_columns(cfg.name, slot.model.column_names())
            except Exception as exc:  # a failing init() must report, not crash-loop
                slot.state = "failed"
                slot.error = f"{type(exc).__name__}: {exc}"[:1000]
                sys.stderr.write(
                    orjson.dumps(
                        {
                            "level": "error",
                            "msg": "model failed to load",
                            "model": cfg.name,
                            "error": slot.error,
                            "traceback": traceback.format_exc(limit=5),
                        }
                    ).decode()
                    + "\n"
                )
            finally:
                current.reset(token)
            slot.load_seconds = time.perf_counter() - start
            self.metrics.load_seconds.labels(cfg.name, cfg.version).set(slot.load_seconds)
            self.metrics.model_ready.labels(cfg.name, cfg.version).set(1 if slot.state == "ready" else 0)

    def get(self, name: str, version: str | None = None) -> ModelSlot:
        slot = self.slots.get(name)
        if slot is None or (version is not None and version != slot.cfg.version):
            what = f"model '{name}'" + (f" version '{version}'" if version is not None else "")
            raise HTTPError(404, f"unknown {what}")
        return slot

    def ready_model(self, name: str, version: str | None = None) -> Model:
        slot = self.get(name, version)
        if slot.state != "ready" or slot.model is None:
            raise HTTPError(
                503, f"model '{name}' is not ready ({slot.state})" + (f": {slot.error}" if slot.error else "")
            )
        return slot.model

    def all_ready(self) -> bool:
        return all(s.state == "ready" for s in self.slots.values())

    def status(self) -> dict:
        return {
            name: {"version": s.cfg.version, "state": s.state, **({"error": s.error} if s.error else {})}
            for name, s in self.slots.items()
        }

    def metadata(self, name: str, version: str | None = None) -> dict:
        from .tensors import spec_metadata

        slot = self.get(name, version)
        model = slot.model
        inputs = (model.inputs if model else slot.cfg.inputs) or ()
        outputs = (model.outputs if model else slot.cfg.outputs) or ()
        return {
            "name": name,
            "versions": [slot.cfg.version],
            "platform": PLATFORMS[slot.cfg.framework],
            "inputs": [spec_metadata(s) for s in inputs],
            "outputs": [spec_metadata(s) for s in outputs],
        }
