"""The ASGI application: routing, auth, body limits, V2 inference, /score, metrics, logs, collection.

Raw ASGI on purpose: the request path is short and allocation-light. Fast built-in models predict
directly on the event loop (measured far better p99 than hopping to a thread pool); custom scripts
and large batches run in a thread with a timeout (504). A request body is read only once its
estimated memory fits in the worker's budget (memory.py), else 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from time import perf_counter
from urllib.parse import parse_qs

import orjson

from . import __version__, openapi
from .accesslog import JsonLog
from .auth import Authenticator
from .batching import ARRAYS, ROWS, Batcher, arrays_key
from .collection import CollectionQueue
from .collector import ScoringContext, current
from .errors import HTTPError
from .errors import guard as _guard
from .memory import RETRY_AFTER_SECONDS, Admission, MiB, Ticket, budget_for
from .metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from .metrics import Metrics
from .models import ModelSet
from .settings import Settings, load_settings
from .tensors import decode_input, encode_output

JSON = b"application/json"
DUMP = orjson.OPT_SERIALIZE_NUMPY
MAX_REQUEST_ID = 128
NOT_BATCHED = object()  # _score_batched: this request goes the unbatched way
MIN_BUDGET = 16 * 1024 * 1024  # a worker's budget never goes below this (small requests still fit)


def _dump(obj) -> bytes:
    return orjson.dumps(obj, option=DUMP, default=str)


def _request_id(raw: bytes | None) -> str:
    if raw and len(raw) <= MAX_REQUEST_ID and raw.isascii() and raw.decode().isprintable():
        return raw.decode()
    return os.urandom(12).hex()


class Route:
    __slots__ = ("kind", "model", "version", "auth", "label", "ticket")

    def __init__(self, kind, model=None, version=None, auth=True):
        self.kind, self.model, self.version, self.auth = kind, model, version, auth
        self.ticket: Ticket | None = None


_STATIC = {
    "/v2/health/live": ("GET", "live", False),
    "/v2/health/ready": ("GET", "ready", False),
    "/v2": ("GET", "server_metadata", True),
    "/score": ("POST", "score", True),
    "/metrics": ("GET", "metrics", True),
    "/openapi.json": ("GET", "openapi", True),
}
_MODEL_KINDS = {"": ("GET", "model_metadata"), "ready": ("GET", "model_ready"), "infer": ("POST", "infer")}


def route(method: str, path: str) -> Route:
    static = _STATIC.get(path.rstrip("/") or path)
    if static is not None:
        allowed, kind, auth = static
        if method not in (allowed, "HEAD" if allowed == "GET" else allowed):
            raise HTTPError(405, f"method {method} not allowed", headers=[(b"allow", allowed.encode())])
        return Route(kind, auth=auth)
    parts = path.strip("/").split("/")
    # v2/models/{name}[/versions/{v}][/ready|/infer]
    if len(parts) >= 3 and parts[0] == "v2" and parts[1] == "models":
        name, rest, version = parts[2], parts[3:], None
        if len(rest) >= 2 and rest[0] == "versions":
            version, rest = rest[1], rest[2:]
        if len(rest) <= 1:
            entry = _MODEL_KINDS.get(rest[0] if rest else "")
            if entry is not None:
                allowed, kind = entry
                if method != allowed and not (method == "HEAD" and allowed == "GET"):
                    raise HTTPError(405, f"method {method} not allowed", headers=[(b"allow", allowed.encode())])
                return Route(kind, name, version)
    raise HTTPError(404, f"no such endpoint: {path[:200]}")


class App:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.metrics = Metrics()
        self.log = JsonLog(settings.access_log)
        self.auth = Authenticator(settings)
        coll = settings.collection
        self.queue = CollectionQueue(coll, self.metrics) if coll.enabled else None
        self.models = ModelSet(settings.models, self.metrics, self.queue)
        self.executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="modelctl-score")
        # Provisional until the models are loaded (lifespan startup measures this worker then).
        self.admission = Admission(budget_for(settings)[0], self.queue)
        self._custom = {name: slot.cfg.framework == "custom" for name, slot in self.models.slots.items()}
        self.max_body = settings.max_body_bytes
        self.timeout = settings.timeout_seconds
        self.inline_rows = settings.inline_max_rows
        self.batchers: dict[str, Batcher] = {}  # model name → its batcher (batching on, model batchable)
        self._openapi = _dump(
            openapi.build(settings.image, list(self.models.slots), settings.auth_mode in ("key", "token"))
        )
        self._handlers = {
            "live": self.live,
            "ready": self.ready,
            "server_metadata": self.server_metadata,
            "model_metadata": self.model_metadata,
            "model_ready": self.model_ready,
            "infer": self.infer,
            "score": self.score,
            "metrics": self.metrics_text,
            "openapi": self.openapi_doc,
        }

    # ---- ASGI entry points -------------------------------------------------------------------
    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            await self.http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self.lifespan(receive, send)

    async def lifespan(self, receive, send):
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                loop = asyncio.get_running_loop()
                self.log.bind(loop)
                if self.queue is not None:
                    self.queue.start(_process_start())
                # Load before this worker accepts connections: workers share one socket, so a worker
                # that is still loading must not take requests another worker could serve. A failing
                # load (e.g. init() raising) is recorded and reported, never a crash loop.
                await loop.run_in_executor(None, self.models.load_all)
                self._set_budget()
                self._start_batching(loop)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.queue is not None:  # graceful shutdown: everything queued reaches the sink
                    await asyncio.get_running_loop().run_in_executor(None, self.queue.close)
                self.executor.shutdown(wait=False, cancel_futures=True)
                self.log.flush()
                self.metrics.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _set_budget(self) -> None:
        """This worker's memory budget, now that its models are loaded (their memory is measured)."""
        budget, facts = budget_for(self.settings)
        entry = {"msg": "memory budget", "pid": os.getpid(), **facts, "derivedBytes": budget}
        if budget < MIN_BUDGET and self.settings.memory_budget_bytes is None:
            budget = MIN_BUDGET
            sys.stderr.write(
                orjson.dumps(
                    {
                        "level": "warning",
                        "msg": "the workers leave almost no memory for "
                        "requests: lower MODELCTL_WORKERS or raise the memory limit",
                        **entry,
                    }
                ).decode()
                + "\n"
            )
        self.admission.set_budget(budget)
        self.metrics.memory_budget.set(budget)
        self.log.write(
            {**entry, "budgetBytes": budget, "maxJsonBodyBytes": min(self.max_body, self.admission.max_json_body())}
        )

    def _start_batching(self, loop) -> None:
        """A batcher for every loaded model that can take batches (MODELCTL_BATCH_MAX_SIZE > 0)."""
        s = self.settings
        if s.batch_max_size <= 0:
            return
        for name, slot in self.models.slots.items():
            if slot.model is None:
                continue
            reason = slot.model.not_batchable()
            if reason is not None:
                self.log.write({"msg": "batching off for model", "model": name, "reason": reason})
                continue
            self.batchers[name] = Batcher(
                slot.model,
                self.executor,
                max_rows=s.batch_max_size,
                max_latency=s.batch_max_latency_ms / 1000,
                timeout=self.timeout,
                metrics=self.metrics,
                queue=self.queue,
                on_timeout=self._release_late,
                loop=loop,
            )
        self.log.write(
            {
                "msg": "batching",
                "maxBatchSize": s.batch_max_size,
                "maxLatencyMs": s.batch_max_latency_ms,
                "models": sorted(self.batchers),
            }
        )

    async def http(self, scope, receive, send):
        start = perf_counter()
        rid_raw = auth = clen = bin_hdr = None
        for k, v in scope["headers"]:
            if k == b"x-request-id":
                rid_raw = v
            elif k == b"authorization":
                auth = v
            elif k == b"content-length":
                clen = v
            elif k == b"inference-header-content-length":
                bin_hdr = v
        rid = _request_id(rid_raw)
        method, path = scope["method"], scope["path"]
        model_label, endpoint = "", "unknown"
        extra_headers = ()
        ticket = None
        self.metrics.in_flight.inc()
        try:
            r = route(method, path)
            endpoint = r.kind
            if r.model is not None:
                model_label = r.model if r.model in self.models.slots else "_unknown"
            if r.auth:
                self.auth.check(auth, r.model)
            if method == "POST":
                r.ticket = ticket = Ticket(custom=self._custom_target(r, scope))
                body = await self._read_body(receive, clen, bin_hdr, ticket)
            else:
                body = b""
            status, payload, ctype, extra_headers = await self._handlers[r.kind](r, body, bin_hdr, rid, scope)
            if endpoint == "score":
                model_label = r.model
        except HTTPError as exc:
            status, ctype = exc.status, JSON
            payload = _dump({"error": exc.message, **{k: v for k, v in exc.extra.items() if k != "headers"}})
            extra_headers = exc.extra.get("headers", ())
        except Exception as exc:  # a bug, not a client error: log it, answer 500, keep serving
            status, ctype = 500, JSON
            payload = _dump({"error": "internal server error", "requestId": rid})
            sys.stderr.write(
                orjson.dumps(
                    {
                        "level": "error",
                        "msg": "unhandled error",
                        "requestId": rid,
                        "error": repr(exc)[:500],
                        "traceback": traceback.format_exc(limit=8),
                    }
                ).decode()
                + "\n"
            )
        headers = [
            (b"content-type", ctype),
            (b"content-length", str(len(payload)).encode()),
            (b"x-request-id", rid.encode()),
        ]
        headers.extend(extra_headers)
        try:
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": payload if method != "HEAD" else b""})
        finally:
            self.metrics.in_flight.dec()
            if ticket is not None and ticket.cost:
                self.admission.release(ticket)
        elapsed = perf_counter() - start
        self.metrics.observe(model_label, endpoint, status, elapsed)
        self.log.request(
            {
                "msg": "request",
                "requestId": rid,
                "method": method,
                "path": path[:300],
                "status": status,
                "durationMs": round(elapsed * 1000, 3),
                "model": model_label,
                "bytesOut": len(payload),
            }
        )

    def _custom_target(self, r: Route, scope) -> bool:
        """Is the model this POST goes to a custom script (which parses the body once more)?"""
        return self._custom.get(r.model if r.kind == "infer" else self._score_model(scope), False)

    def _score_model(self, scope) -> str:
        name = self.models.default
        if scope["query_string"]:
            name = parse_qs(scope["query_string"].decode("latin-1")).get("model", [name])[0]
        return name

    async def _read_body(self, receive, clen: bytes | None, bin_hdr: bytes | None, ticket: Ticket) -> bytes:
        """The body, read only once its estimated memory is reserved in this worker's budget."""
        limit = self.max_body
        if clen is not None:
            try:
                declared = int(clen)
            except ValueError:
                raise HTTPError(400, "invalid Content-Length") from None
            if declared > limit:
                raise HTTPError(413, f"body of {declared} bytes exceeds the limit of {limit} bytes")
            binary = 0
            if bin_hdr is not None:  # binary tensor data costs less than JSON (validated later)
                try:
                    header = int(bin_hdr)
                    binary = declared - header if 0 <= header <= declared else 0
                except ValueError:
                    pass
            cost = ticket.estimate(declared - binary, binary)
            if not self.admission.try_reserve(ticket, cost):
                await self._refuse(receive, ticket, cost, True)
        message = await receive()
        body = message.get("body", b"")
        if clen is None and body:
            cost = ticket.estimate(len(body))
            if not self.admission.try_reserve(ticket, cost):
                await self._refuse(receive, ticket, cost, message.get("more_body", False))
        if not message.get("more_body"):
            if len(body) > limit:
                raise HTTPError(413, f"body exceeds the limit of {limit} bytes")
            return body
        chunks, size = [body], len(body)
        while message.get("more_body"):
            message = await receive()
            if message["type"] == "http.disconnect":
                raise HTTPError(400, "client disconnected")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise HTTPError(413, f"body exceeds the limit of {limit} bytes")
            if clen is None and chunk:  # no Content-Length: reserve as the body streams in
                cost = ticket.estimate(len(chunk))
                if not self.admission.try_reserve(ticket, cost):
                    await self._refuse(receive, ticket, cost, message.get("more_body", False))
            chunks.append(chunk)
        return b"".join(chunks)

    async def _refuse(self, receive, ticket: Ticket, cost: int, more_body: bool) -> None:
        """The request's estimated memory does not fit: 413 when it could never fit this worker's
        budget, else 503 + Retry-After after reading (and dropping) the rest of the body, so that the
        client, still sending, gets the answer rather than a reset connection."""
        admission = self.admission
        if ticket.cost + cost > admission.budget:
            raise HTTPError(
                413,
                f"this request needs an estimated {(ticket.cost + cost) / MiB:.0f} MiB of memory, "
                f"more than this worker's budget of {admission.budget / MiB:.0f} MiB; the largest "
                f"JSON body it accepts is {admission.budget // ticket.json_factor} bytes",
            )
        self.metrics.rejected_memory.inc()
        free = admission.free()
        while more_body:
            message = await receive()
            more_body = message["type"] != "http.disconnect" and message.get("more_body", False)
        raise HTTPError(
            503,
            f"the server is busy: this request needs an estimated {cost / MiB:.0f} MiB of memory "
            f"and {free / MiB:.0f} MiB of this worker's budget is free; retry after "
            f"{RETRY_AFTER_SECONDS} s",
            headers=[(b"retry-after", str(RETRY_AFTER_SECONDS).encode())],
        )

    # ---- scoring --------------------------------------------------------------------------------
    async def _call(self, model, fn, rows: int, rid: str, ticket: Ticket | None, *args):
        """Inline for fast built-in models and small batches; otherwise a thread with a timeout."""
        if model.inline and rows <= self.inline_rows:
            return _guard(fn, *args)
        ctx = contextvars.copy_context()
        if self.queue is not None:
            ctx.run(current.set, ScoringContext(self.queue, model.cfg.name, model.cfg.version, rid))
        loop = asyncio.get_running_loop()
        job = self.executor.submit(ctx.run, _guard, fn, *args)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(job, loop=loop), self.timeout)
        except asyncio.TimeoutError:
            if ticket is not None:
                self._release_late(ticket, job)
            raise HTTPError(504, f"scoring took longer than {self.timeout:g} s") from None

    def _release_late(self, ticket: Ticket, job) -> None:
        """A request answered 504 while its scoring thread runs on: the thread still holds the request's
        memory, so its reservation moves to a ticket released when the thread ends."""
        if ticket.cost:
            loop = asyncio.get_running_loop()
            late = Ticket()
            late.cost, ticket.cost = ticket.cost, 0
            job.add_done_callback(lambda _job: _call_soon(loop, self.admission.release, late))

    async def _score_batched(self, batcher: Batcher, model, doc: dict, rid: str, ticket):
        """/score through the model's batcher: the rows are validated here, for this request alone.
        NOT_BATCHED when the request is not one a batch can take (a script's body with more than 'data')."""
        if not model.scripted:
            inputs = model.score_inputs(doc)
            key, rows = arrays_key(inputs) or (None, 0)
            if key is None:
                return NOT_BATCHED
            return model.score_result(await batcher.submit(ARRAYS, key, inputs, rows, rid, ticket))
        if len(doc) != 1:
            return NOT_BATCHED
        return await batcher.submit(ROWS, None, doc["data"], len(doc["data"]), rid, ticket)

    def _collect(self, model, rid: str, inputs, outputs, ticket: Ticket | None) -> None:
        """Queue references only (no copy, no encoding): the collector's writer thread builds the record.
        The record holds the request's parsed inputs: its memory estimate goes with it."""
        q = self.queue
        if q is not None and (q.sample_all or q.sampled()):
            q.offer("scoring", model.cfg.name, model.cfg.version, rid, inputs, outputs, ticket.cost if ticket else 0)

    async def infer(self, r: Route, body: bytes, bin_hdr, rid, scope):
        model = self.models.ready_model(r.model, r.version)
        doc, blobs = _parse_infer_body(body, bin_hdr)
        inputs = doc.get("inputs")
        if not isinstance(inputs, list) or not inputs:
            raise HTTPError(422, "'inputs' must be a non-empty list")
        specs = {s.name: s for s in model.inputs} if model.inputs else None
        arrays, offset = {}, 0
        for item in inputs:
            blob = None
            if isinstance(item, dict):
                params = item.get("parameters")
                size = params.get("binary_data_size") if isinstance(params, dict) else None
                if size is not None:
                    if not isinstance(size, int) or size < 0 or offset + size > len(blobs):
                        raise HTTPError(400, f"input '{item.get('name')}': binary_data_size is out of range")
                    blob, offset = blobs[offset : offset + size], offset + size
                name = item.get("name")
                if specs is not None and isinstance(name, str) and name not in specs:
                    raise HTTPError(422, f"unknown input '{name}'; the model takes {sorted(specs)}", input=name)
            name = item.get("name") if isinstance(item, dict) else None
            spec = specs.get(name) if specs and isinstance(name, str) else None
            name, arr = decode_input(item, spec, blob)
            if name in arrays:
                raise HTTPError(422, f"input '{name}' given twice", input=name)
            arrays[name] = arr
        if specs is not None:
            for name in specs:
                if name not in arrays:
                    raise HTTPError(422, f"missing input '{name}'", input=name)
        batcher = self.batchers.get(model.cfg.name) if self.batchers else None
        keyed = arrays_key(arrays) if batcher is not None else None
        if batcher is not None and keyed is not None and 0 < keyed[1] <= batcher.max_rows:
            results = await batcher.submit(ARRAYS, keyed[0], arrays, keyed[1], rid, r.ticket)
        else:
            rows = next(iter(arrays.values())).shape[0] if next(iter(arrays.values())).ndim else 1
            results = await self._call(model, model.predict, rows, rid, r.ticket, arrays)
        requested, binary_default = _requested_outputs(doc)
        names = list(results) if requested is None else list(requested)
        outputs, blobs_out = [], []
        for name in names:
            if name not in results:
                raise HTTPError(422, f"unknown output '{name}'; the model gives {sorted(results)}", output=name)
            binary = requested.get(name, binary_default) if requested else binary_default
            out, raw = encode_output(name, results[name], binary)
            outputs.append(out)
            if raw is not None:
                blobs_out.append(raw)
        response = {"model_name": model.cfg.name, "model_version": model.cfg.version, "outputs": outputs}
        if isinstance(doc.get("id"), str):
            response["id"] = doc["id"]
        self._collect(model, rid, arrays, results, r.ticket)
        payload = _dump(response)
        if blobs_out:
            header = [(b"inference-header-content-length", str(len(payload)).encode())]
            return 200, payload + b"".join(blobs_out), b"application/octet-stream", header
        return 200, payload, JSON, ()

    async def score(self, r: Route, body: bytes, bin_hdr, rid, scope):
        name = self._score_model(scope)
        r.model = name if name in self.models.slots else "_unknown"
        model = self.models.ready_model(name)
        doc = _loads(body)
        if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
            raise HTTPError(422, "body must be a JSON object with a 'data' list", input="data")
        result = NOT_BATCHED
        batcher = self.batchers.get(name) if self.batchers else None
        if batcher is not None and 0 < len(doc["data"]) <= batcher.max_rows:
            result = await self._score_batched(batcher, model, doc, rid, r.ticket)
        if result is NOT_BATCHED:
            result = await self._call(model, model.score, len(doc["data"]), rid, r.ticket, body, doc)
        self._collect(model, rid, {"data": doc["data"]}, result, r.ticket)
        return 200, _dump(result), JSON, ()

    # ---- metadata, health, metrics -------------------------------------------------------------
    async def live(self, r, body, bin_hdr, rid, scope):
        return 200, b'{"live":true}', JSON, ()

    async def ready(self, r, body, bin_hdr, rid, scope):
        ok = self.models.all_ready()
        return (200 if ok else 503), _dump({"ready": ok, "models": self.models.status()}), JSON, ()

    async def server_metadata(self, r, body, bin_hdr, rid, scope):
        return (
            200,
            _dump({"name": "modelctl-runtime", "version": __version__, "extensions": ["binary_tensor_data"]}),
            JSON,
            (),
        )

    async def model_metadata(self, r, body, bin_hdr, rid, scope):
        return 200, _dump(self.models.metadata(r.model, r.version)), JSON, ()

    async def model_ready(self, r, body, bin_hdr, rid, scope):
        slot = self.models.get(r.model, r.version)
        doc = {"name": r.model, "version": slot.cfg.version, "ready": slot.state == "ready", "state": slot.state}
        if slot.error:
            doc["error"] = slot.error
        return (200 if slot.state == "ready" else 503), _dump(doc), JSON, ()

    async def metrics_text(self, r, body, bin_hdr, rid, scope):
        return 200, self.metrics.render(), METRICS_CONTENT_TYPE.encode(), ()

    async def openapi_doc(self, r, body, bin_hdr, rid, scope):
        return 200, self._openapi, JSON, ()


def _call_soon(loop, fn, *args) -> None:
    """From another thread: run fn on the event loop (unless the loop has closed: shutting down)."""
    try:
        loop.call_soon_threadsafe(fn, *args)
    except RuntimeError:
        pass


def _process_start() -> float:
    """When this process started (epoch seconds), from /proc; now when unknown."""
    try:
        with open("/proc/self/stat") as f:
            ticks = int(f.read().rpartition(")")[2].split()[19])  # field 22, starttime
        with open("/proc/stat") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith("btime "))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return time.time()


def _loads(body: bytes):
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise HTTPError(400, f"malformed JSON: {exc}") from None


def _parse_infer_body(body: bytes, bin_hdr: bytes | None):
    """JSON body, or JSON header + binary tensors (Triton binary data extension)."""
    if bin_hdr is None:
        doc, blobs = _loads(body), b""
    else:
        try:
            n = int(bin_hdr)
        except ValueError:
            raise HTTPError(400, "invalid Inference-Header-Content-Length") from None
        if not 0 <= n <= len(body):
            raise HTTPError(400, "Inference-Header-Content-Length is out of range")
        doc, blobs = _loads(body[:n]), body[n:]
    if not isinstance(doc, dict):
        raise HTTPError(422, "the request body must be a JSON object")
    return doc, blobs


def _requested_outputs(doc: dict):
    params = doc.get("parameters")
    binary_default = bool(params.get("binary_data_output")) if isinstance(params, dict) else False
    outputs = doc.get("outputs")
    if outputs is None or outputs == []:
        return None, binary_default
    if not isinstance(outputs, list):
        raise HTTPError(422, "'outputs' must be a list")
    requested = {}
    for o in outputs:
        if not isinstance(o, dict) or not isinstance(o.get("name"), str):
            raise HTTPError(422, "each requested output needs a 'name'")
        p = o.get("parameters")
        requested[o["name"]] = bool(p.get("binary_data", binary_default)) if isinstance(p, dict) else binary_default
    return requested, binary_default


def create_app() -> App:
    """uvicorn factory (each worker calls it): settings come from the environment."""
    return App(load_settings())
