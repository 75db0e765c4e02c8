"""Sizes in bytes as people write them: `4GiB`, `512 MB`, `2.5G`, or a number of bytes."""

from __future__ import annotations

import re

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1 << 10,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1 << 20,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1 << 30,
    "t": 1000**4,
    "tb": 1000**4,
    "tib": 1 << 40,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(value: int | str) -> int:
    """Bytes from an int or a string such as `4GiB` (binary) or `4GB` (decimal).

    Raises ValueError naming what was expected.
    """
    if isinstance(value, bool):
        raise ValueError("expected a size such as 4GiB, 512MB or a number of bytes")
    if isinstance(value, int):
        if value <= 0:
            raise ValueError("expected a positive number of bytes")
        return value
    match = _SIZE.match(value)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS:
        raise ValueError(f"{value!r}: expected a size such as 4GiB, 512MB or a number of bytes")
    size = int(float(match.group(1)) * _UNITS[unit])
    if size <= 0:
        raise ValueError(f"{value!r}: expected a positive size")
    return size


def format_size(size: int) -> str:
    """Bytes as a short binary size: `3.2 GiB`."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"
