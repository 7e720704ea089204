"""Redis wire protocol (RESP) for whole Arrow columns, so bulk writes skip redis-py.

redis-py packs a command in Python, one argument at a time (a few microseconds each);
at ten arguments per row that, not Redis, bounded `materialize`. Here every argument
of every row becomes its `$<len>\\r\\n<bytes>\\r\\n` form in one Arrow kernel call per
column, rows are joined element-wise, and runs of rows are concatenated into one
blob per command, so Python touches a handful of objects per command, not per value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aligned_cli.online.arrow_constants import int64_array, text_scalar

if TYPE_CHECKING:
    import pyarrow as pa

CRLF = b"\r\n"


def bulk(value: str | bytes) -> bytes:
    """One argument as a RESP bulk string."""
    data = value.encode() if isinstance(value, str) else value
    return b"$%d\r\n%s\r\n" % (len(data), data)


def bulk_column(text: pa.Array | pa.ChunkedArray) -> Any:
    """Every value of a string column (no nulls) as a RESP bulk string.

    Large strings: a batch's joined rows may pass the 2 GiB of 32-bit offsets."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def literal(value: str) -> Any:
        return text_scalar(value, large=True)

    wide = pc.cast(text, pa.large_string())
    lengths = pc.cast(pc.binary_length(wide), pa.large_string())  # bytes, not characters
    crlf = literal("\r\n")
    return pc.binary_join_element_wise(literal("$"), lengths, crlf, wide, crlf, literal(""))


def join_rows(columns: Sequence[Any]) -> Any:
    """Row i of the result is the concatenation of row i of every column."""
    import pyarrow.compute as pc

    if len(columns) == 1:
        return columns[0]
    return pc.binary_join_element_wise(*columns, text_scalar("", large=True))


def join_runs(rows: Any, size: int) -> list[bytes]:
    """Consecutive runs of `size` rows (the last may be shorter), each as one blob."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(rows, pa.ChunkedArray):
        rows = rows.combine_chunks()
    count = len(rows)
    bounds = [*range(0, count, size), count]
    runs = pa.LargeListArray.from_arrays(int64_array(bounds), rows)
    # As binary, so each blob reaches Python as bytes without a decode/encode pair.
    joined = pc.binary_join(runs, text_scalar("", large=True))
    blobs: list[bytes] = pc.cast(joined, pa.large_binary()).to_pylist()
    return blobs
