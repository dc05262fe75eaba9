"""Open Inference Protocol (KServe V2) tensors: datatypes, validation, JSON and binary encoding.

numpy is imported lazily: it comes from the image's environment, not from the runtime's pins.
"""

from __future__ import annotations

import struct

from .errors import HTTPError
from .settings import TensorSpec

# V2 datatype <-> numpy dtype name
V2_TO_NUMPY = {
    "BOOL": "bool",
    "UINT8": "uint8",
    "UINT16": "uint16",
    "UINT32": "uint32",
    "UINT64": "uint64",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "INT64": "int64",
    "FP16": "float16",
    "FP32": "float32",
    "FP64": "float64",
    "BYTES": "object",
}
NUMPY_TO_V2 = {v: k for k, v in V2_TO_NUMPY.items()}
NUMPY_TO_V2.update({"str": "BYTES", "bytes": "BYTES", "string": "BYTES"})


def v2_datatype(numpy_name: str) -> str:
    if numpy_name.startswith(("<U", "|S", "<S", "U", "S")):
        return "BYTES"
    return NUMPY_TO_V2.get(numpy_name, "BYTES")


def spec_metadata(spec: TensorSpec) -> dict:
    return {"name": spec.name, "datatype": v2_datatype(spec.dtype), "shape": list(spec.shape)}


def _check_shape(name: str, shape, expected: tuple[int, ...] | None) -> tuple[int, ...]:
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise HTTPError(422, f"input '{name}': shape must be a list of non-negative integers", input=name)
    if expected is not None:
        if len(shape) != len(expected) or any(e != -1 and e != d for d, e in zip(shape, expected, strict=True)):
            raise HTTPError(
                422, f"input '{name}': shape {shape} does not match the model's {list(expected)}", input=name
            )
    return tuple(shape)


def _size(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _decode_bytes_blob(name: str, blob: bytes) -> list[bytes]:
    items, pos = [], 0
    while pos < len(blob):
        if pos + 4 > len(blob):
            raise HTTPError(422, f"input '{name}': truncated BYTES element", input=name)
        (n,) = struct.unpack_from("<I", blob, pos)
        pos += 4
        items.append(blob[pos : pos + n])
        pos += n
    if pos != len(blob):
        raise HTTPError(422, f"input '{name}': truncated BYTES element", input=name)
    return items


def decode_input(item, spec: TensorSpec | None, blob: bytes | None):
    """One V2 request input -> numpy array of the declared shape, validated against the model spec."""
    import numpy as np

    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise HTTPError(422, "each input needs a 'name'")
    name = item["name"]
    datatype = item.get("datatype")
    if not isinstance(datatype, str) or datatype not in V2_TO_NUMPY:
        raise HTTPError(422, f"input '{name}': unknown datatype {datatype!r}", input=name)
    if spec is not None and v2_datatype(spec.dtype) != datatype:
        raise HTTPError(422, f"input '{name}': expected datatype {v2_datatype(spec.dtype)}, got {datatype}", input=name)
    shape = _check_shape(name, item.get("shape"), spec.shape if spec is not None else None)
    size = _size(shape)
    np_dtype = V2_TO_NUMPY[datatype]
    try:
        if blob is not None:
            if datatype == "BYTES":
                arr = np.array(_decode_bytes_blob(name, blob), dtype=object)
            else:
                dtype = np.dtype(np_dtype).newbyteorder("<")
                if len(blob) != size * dtype.itemsize:
                    raise HTTPError(
                        422,
                        f"input '{name}': binary data has {len(blob)} bytes, "
                        f"shape {list(shape)} needs {size * dtype.itemsize}",
                        input=name,
                    )
                arr = np.frombuffer(blob, dtype=dtype)
        else:
            data = item.get("data")
            if not isinstance(data, list):
                raise HTTPError(422, f"input '{name}': 'data' must be a list", input=name)
            arr = np.asarray(data, dtype=np_dtype)
            if datatype == "BOOL" and not _all_bools(data):
                raise ValueError("BOOL data must be true/false")
            if datatype != "BYTES":
                check_numbers(data, np_dtype)
    except HTTPError:
        raise
    except (ValueError, TypeError, OverflowError) as exc:
        raise HTTPError(422, f"input '{name}': data does not fit datatype {datatype} ({exc})", input=name) from None
    if arr.size != size:
        raise HTTPError(422, f"input '{name}': {arr.size} values do not fill shape {list(shape)}", input=name)
    return name, arr.reshape(shape)


def check_numbers(values, dtype: str) -> None:
    """JSON values for a numeric dtype are numbers (integers for an integer dtype), never strings or
    booleans, which numpy would convert; nested lists are walked. Raises ValueError otherwise."""
    want_int = dtype.startswith(("int", "uint"))
    stack = [values]
    while stack:
        v = stack.pop()
        if isinstance(v, list):
            stack.extend(v)
        elif dtype == "bool":
            if not isinstance(v, bool):
                raise ValueError(f"{v!r} is not true/false")
        elif isinstance(v, bool) or not isinstance(v, int | float) or (want_int and not float(v).is_integer()):
            raise ValueError(f"{v!r} is not {'an integer' if want_int else 'a number'}")


def _all_bools(data) -> bool:
    for x in data:
        if isinstance(x, list):
            if not _all_bools(x):
                return False
        elif not isinstance(x, bool):
            return False
    return True


def encode_output(name: str, value, binary: bool) -> tuple[dict, bytes | None]:
    """numpy array (or list) -> V2 output JSON, plus raw bytes when the binary extension is asked for."""
    import numpy as np

    arr = np.asarray(value)
    datatype = v2_datatype(arr.dtype.str[1:] if arr.dtype.kind in "US" else arr.dtype.name)
    out: dict[str, object] = {"name": name, "datatype": datatype, "shape": list(arr.shape)}
    if binary:
        if datatype == "BYTES":
            parts = []
            for x in arr.reshape(-1):
                b = x if isinstance(x, bytes) else str(x).encode()
                parts.append(struct.pack("<I", len(b)) + b)
            raw = b"".join(parts)
        else:
            raw = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes()
        out["parameters"] = {"binary_data_size": len(raw)}
        return out, raw
    if datatype == "BYTES":
        out["data"] = [x.decode(errors="replace") if isinstance(x, bytes) else str(x) for x in arr.reshape(-1)]
    else:
        out["data"] = arr.reshape(-1).tolist()
    return out, None
