"""Arrow rows of a view -> `RowWrite`s for the CAS script, column at a time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aligned_cli.online.cas import RowWrite
from aligned_cli.online.catalog import OnlineView
from aligned_cli.online.codec import encode_column, epoch_micros

if TYPE_CHECKING:
    import pyarrow as pa


def row_writes(view: OnlineView, table: pa.Table | pa.RecordBatch) -> list[RowWrite]:
    """One write per row with a complete entity key (rows with a NULL key are dropped)."""
    if table.num_rows == 0:
        return []
    keys = _keys(view, table)
    ts = _micros(table, view.event_timestamp)
    created = _micros(table, view.created_timestamp)
    ttl_us = None if view.ttl is None else view.ttl * 1_000_000
    names = view.features
    encoded = [encode_column(table.column(name)) for name in names]
    writes: list[RowWrite] = []
    for index, key in enumerate(keys):
        if key is None:
            continue
        row_ts = ts[index]
        expire = None
        if ttl_us is not None and row_ts is not None:
            # Redis keeps a key until now > expire-at, so the bound stays inclusive.
            expire = -((-(row_ts + ttl_us)) // 1000)
        fields: list[str] = []
        for name, column in zip(names, encoded, strict=True):
            fields.append(name)
            fields.append(column[index])
        writes.append(RowWrite(key, row_ts, created[index], expire, fields))
    return writes


def _keys(view: OnlineView, table: pa.Table | pa.RecordBatch) -> list[str | None]:
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
    joined = pc.binary_join_element_wise(*parts, ":") if len(parts) > 1 else parts[0]
    keys: list[str | None] = pc.binary_join_element_wise(view.key_prefix, joined, "").to_pylist()
    return keys


def _float_text(value: float | None) -> str | None:
    from aligned_cli.online.keys import entity_text

    return entity_text(value)


def _micros(table: pa.Table | pa.RecordBatch, column: str | None) -> list[Any]:
    if column is None:
        return [None] * table.num_rows
    values: list[Any] = epoch_micros(table.column(column)).to_pylist()
    return values
