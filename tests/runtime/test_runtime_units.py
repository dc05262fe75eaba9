"""Unit checks for the pieces that do not need a server: tokens, settings, tensors, sinks, redaction."""

import json
import time

import numpy as np
import pytest

from compiler.runtime.collection import redact
from compiler.runtime.errors import ConfigError, HTTPError
from compiler.runtime.settings import TensorSpec, collection_from_env, load_image_config
from compiler.runtime.sinks import FileSink, encode_record
from compiler.runtime.tensors import decode_input, encode_output
from compiler.runtime.tokens import TokenError, mint_token, verify_token


def test_token_roundtrip_and_failures():
    now = 1_800_000_000
    token = mint_token(b"k", "alice", 60, models=["m"], now=now)
    assert verify_token(token, b"k", now=now + 59)["sub"] == "alice"
    with pytest.raises(TokenError, match="expired"):
        verify_token(token, b"k", now=now + 60)
    with pytest.raises(TokenError, match="signature"):
        verify_token(token, b"other", now=now)
    with pytest.raises(TokenError, match="not valid yet"):
        verify_token(mint_token(b"k", "a", 60, now=now + 3600), b"k", now=now)
    header, payload, sig = token.split(".")
    with pytest.raises(TokenError):
        verify_token(f"{header}.{payload}x.{sig}", b"k", now=now)


def test_config_rejects_path_escapes_and_unknown_frameworks(tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text(
        json.dumps(
            {
                "schemaVersion": 1,
                "models": [{"name": "m", "version": "1", "framework": "sklearn", "path": "../../etc/passwd"}],
            }
        )
    )
    with pytest.raises(ConfigError, match="escapes"):
        load_image_config(cfg)
    cfg.write_text(
        json.dumps(
            {"schemaVersion": 1, "models": [{"name": "m", "version": "1", "framework": "tensorflow", "path": "m"}]}
        )
    )
    with pytest.raises(ConfigError, match="framework"):
        load_image_config(cfg)
    with pytest.raises(ConfigError, match="sampling"):
        collection_from_env('{"enabled": true, "sampling": 2}')


def test_decode_input_binary_and_json():
    spec = TensorSpec("x", "float32", (-1, 2))
    raw = np.array([[1, 2], [3, 4]], dtype="<f4").tobytes()
    name, arr = decode_input({"name": "x", "datatype": "FP32", "shape": [2, 2]}, spec, raw)
    assert arr.tolist() == [[1, 2], [3, 4]]
    with pytest.raises(HTTPError) as info:
        decode_input({"name": "x", "datatype": "FP32", "shape": [2, 2]}, spec, raw[:-1])
    assert info.value.status == 422
    with pytest.raises(HTTPError, match="true/false"):
        decode_input({"name": "b", "datatype": "BOOL", "shape": [1], "data": [3]}, None, None)
    out, blob = encode_output("y", np.array([1, 2], dtype=np.int64), binary=True)
    assert out["parameters"]["binary_data_size"] == 16 and np.frombuffer(blob, "<i8").tolist() == [1, 2]
    out, _ = encode_output("s", np.array(["a", "b"]), binary=False)
    assert out == {"name": "s", "datatype": "BYTES", "shape": [2], "data": ["a", "b"]}


def test_redaction_of_named_fields():
    inputs = {"data": [{"ssn": "1", "age": 3}, {"ssn": "2", "age": 4}], "ssn": [1]}
    assert redact(inputs, frozenset({"ssn"})) == {
        "data": [{"ssn": "[redacted]", "age": 3}, {"ssn": "[redacted]", "age": 4}],
        "ssn": "[redacted]",
    }


def test_file_sink_writes_whole_files_with_unique_names(tmp_path):
    sink = FileSink(tmp_path)
    hours = int(time.time()) // 3600
    for _ in range(2):
        sink.write({("../evil", "1", hours, "scoring"): [encode_record({"n": i}) for i in range(3)]})
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) == 2 and not any(p.name.startswith(".") for p in files)
    assert all(p.resolve().is_relative_to(tmp_path) and p.relative_to(tmp_path).parts[0] == "_evil" for p in files)
    assert sum(len(p.read_text().splitlines()) for p in files) == 6


def test_collection_queue_builds_records_in_the_writer(tmp_path):
    from compiler.runtime.collection import CollectionQueue
    from compiler.runtime.metrics import Metrics
    from compiler.runtime.settings import CollectionSettings

    settings = CollectionSettings(
        enabled=True, sink=f"file://{tmp_path}", redact=("ssn",), batch_size=2, queue_size=4, flush_seconds=30
    )
    queue = CollectionQueue(settings, Metrics())
    queue.start()
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    assert queue.offer("scoring", "m", "1", "r1", {"x": x[:, ::2]}, {"y": np.array([1, 0])})  # non-contiguous
    assert queue.offer("scoring", "m", "1", "r2", {"data": [{"ssn": "123", "age": 3}]}, {"predictions": [1]})
    assert queue.offer("extra", "m", "1", "r2", {"rows": 1})
    assert queue.offer("scoring", "m", "1", "r3", {"x": x}, {"y": np.int64(7)})
    assert not queue.offer("scoring", "m", "1", "r4", {}, {})  # a full queue drops, never blocks
    queue.close()
    records = [json.loads(line) for p in sorted(tmp_path.rglob("*.jsonl")) for line in p.read_text().splitlines()]
    by_id = {(r["collection"], r["requestId"]): r for r in records}
    assert len(records) == 4 and len(by_id) == 4
    assert by_id["scoring", "r1"]["inputs"] == {"x": [[0.0, 2.0], [4.0, 6.0]]}
    assert by_id["scoring", "r1"]["outputs"] == {"y": [1, 0]}
    assert by_id["scoring", "r2"]["inputs"] == {"data": [{"ssn": "[redacted]", "age": 3}]}
    assert by_id["extra", "r2"]["data"] == {"rows": 1} and "inputs" not in by_id["extra", "r2"]
    assert by_id["scoring", "r3"]["outputs"] == {"y": 7}
    assert all(r["model"] == "m" and r["version"] == "1" and r["timestamp"].endswith("Z") for r in records)
    assert {p.name.split("-")[0] for p in tmp_path.rglob("*.jsonl")} == {"scoring", "extra"}
