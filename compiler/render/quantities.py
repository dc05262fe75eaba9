"""Kubernetes-style quantities ("500m", "512Mi") as Docker wants them (nano-CPUs, bytes)."""

from __future__ import annotations

_BYTES = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def _split(quantity: str) -> tuple[float, str]:
    i = len(quantity)
    while i and not quantity[i - 1].isdigit():
        i -= 1
    return float(quantity[:i]), quantity[i:]


def nano_cpus(quantity: str) -> int:
    number, unit = _split(quantity)
    return int(round(number * (10**6 if unit == "m" else 10**9)))


def memory_bytes(quantity: str) -> int:
    number, unit = _split(quantity)
    if unit == "m":  # milli-bytes: legal in Kubernetes, odd for memory
        return int(number // 1000)
    return int(number * _BYTES[unit])
