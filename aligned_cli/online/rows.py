"""Arrow rows of a view -> a columnar `WriteBatch` for the CAS script, column at a time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aligned_cli.online.arrow_constants import int64_scalar, text_scalar
from aligned_cli.online.catalog import OnlineView
from aligned_cli.online.codec import encode_column, epoch_micros

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class WriteBatch:
    """Rows of one view ready for the script, as Arrow columns of equal length.

    Columnar on purpose: `cas.py` turns them into wire bytes without a Python object
    per value. Rows whose entity key has a NULL are already dropped."""

    keys: Any  # string array: the entity hash of each row
    ts: Any  # int64 array, epoch microseconds; null for a static view
    created: Any  # int64 array, epoch microseconds; null when NULL
    expire_at_ms: Any  # int64 array, epoch milliseconds; null for no ttl
    names: tuple[str, ...]  # the feature fields, the same for every row
    values: tuple[Any, ...]  # one tagged-text string array per name (`codec.py`)

    def __len__(self) -> int:
        return len(self.keys)

    def newest_ts(self) -> int | None:
        """The greatest event timestamp of the batch (None for none / a static view)."""
        import pyarrow.compute as pc

        newest: int | None = pc.max(self.ts).as_py()
        return newest


def row_writes(view: OnlineView, table: pa.Table | pa.RecordBatch) -> WriteBatch:
    """The batch's rows with a complete entity key (rows with a NULL key are dropped)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    keys = _keys(view, table)
    ts = _micros(table, view.event_timestamp)
    created = _micros(table, view.created_timestamp)
    values = [_array(encode_column(table.column(name))) for name in view.features]
    expire = pa.nulls(table.num_rows, pa.int64())
    if view.ttl is not None and view.event_timestamp is not None:
        expire = _expire_at_ms(ts, view.ttl * 1_000_000)
    if keys.null_count:
        keep = pc.is_valid(keys)
        keys, ts, created, expire = (pc.filter(c, keep) for c in (keys, ts, created, expire))
        values = [pc.filter(column, keep) for column in values]
    return WriteBatch(keys, ts, created, expire, view.features, tuple(values))


def _expire_at_ms(ts: Any, ttl_us: int) -> Any:
    """ceil((ts + ttl) / 1000): Redis keeps a key until now > expire-at, so the bound
    stays inclusive. Written to be right whether integer division truncates or floors."""
    import pyarrow as pa
    import pyarrow.compute as pc

    thousand = int64_scalar(1000)
    end = pc.add(ts, int64_scalar(ttl_us))
    quotient = pc.divide(end, thousand)
    remainder = pc.subtract(end, pc.multiply(quotient, thousand))
    return pc.add(quotient, pc.cast(pc.greater(remainder, int64_scalar(0)), pa.int64()))


def _keys(view: OnlineView, table: pa.Table | pa.RecordBatch) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    parts = []
    for name in view.entities:
        values = table.column(name)
        if pa.types.is_floating(values.type):
            text = pa.array([_float_text(v) for v in values.to_pylist()], pa.string())
        elif pa.types.is_timestamp(values.type):
            text = pa.array([None if v is None else v.isoformat() for v in values.to_pylist()])
        else:
            text = pc.cast(values, pa.string())
        text = pc.replace_substring(text, "%", "%25")
        parts.append(pc.replace_substring(text, ":", "%3A"))
    joined = pc.binary_join_element_wise(*parts, text_scalar(":")) if len(parts) > 1 else parts[0]
    return _array(
        pc.binary_join_element_wise(text_scalar(view.key_prefix), joined, text_scalar(""))
    )


def _float_text(value: float | None) -> str | None:
    from aligned_cli.online.keys import entity_text

    return entity_text(value)


def _micros(table: pa.Table | pa.RecordBatch, column: str | None) -> Any:
    import pyarrow as pa

    if column is None:
        return pa.nulls(table.num_rows, pa.int64())
    return _array(epoch_micros(table.column(column)))


def _array(values: Any) -> Any:
    """One contiguous array (a Table's columns are chunked)."""
    import pyarrow as pa

    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
