"""Collector API for custom scoring scripts (like Azure ML's model data collector).

    from modelctl_runtime.collector import Collector
    extra = Collector("features_used")
    def run(data):
        ...
        extra.collect({"rows": len(rows), "flags": flags})

Records go through the same queue and sinks as the scored requests, tagged with the current model,
version and request id. collect() never blocks or raises; it returns False when collection is off,
the record was not sampled or the queue was full. Only a reference is queued (encoded later by the
writer thread), so do not mutate `data` after collecting it.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the collection module (orjson, sinks) stays out of scoring scripts' imports
    from .collection import CollectionQueue


@dataclass(frozen=True)
class ScoringContext:
    queue: CollectionQueue | None
    model: str
    version: str
    request_id: str | None


current: contextvars.ContextVar[ScoringContext | None] = contextvars.ContextVar("modelctl_scoring", default=None)


class Collector:
    def __init__(self, name: str):
        if not name or not isinstance(name, str):
            raise ValueError("a collection needs a name")
        self.name = name

    def collect(self, data) -> bool:
        ctx = current.get()
        if ctx is None or ctx.queue is None or not ctx.queue.sampled():
            return False
        return ctx.queue.offer(self.name, ctx.model, ctx.version, ctx.request_id, data)
