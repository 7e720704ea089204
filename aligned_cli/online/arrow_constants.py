"""Arrow constants built from their bytes, so pyarrow never imports pandas for them.

Passing a Python value to pyarrow (a `str` argument of a compute function,
`pa.scalar`, `pa.array`) makes pyarrow check whether it is a pandas object, which
imports pandas on first use: ~0.3 s of a first `materialize`, which otherwise never
touches pandas. Arrays made from buffers skip that check.
"""

from __future__ import annotations

import array
import struct
from collections.abc import Sequence
from typing import Any


def text_scalar(text: str, *, large: bool = False) -> Any:
    """`text` as an Arrow string (or large_string) scalar."""
    import pyarrow as pa

    data = text.encode("utf-8")
    offsets = struct.pack("<2q" if large else "<2i", 0, len(data))
    kind = pa.large_string() if large else pa.string()
    return pa.Array.from_buffers(kind, 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)])[0]


def int64_scalar(value: int) -> Any:
    """`value` as an Arrow int64 scalar."""
    return int64_array([value])[0]


def int64_array(values: Sequence[int]) -> Any:
    """`values` as an Arrow int64 array (no nulls)."""
    import pyarrow as pa

    data = array.array("q", values)
    return pa.Array.from_buffers(pa.int64(), len(data), [None, pa.py_buffer(data)])
