"""Entity inputs (dict of lists, pandas, polars, Arrow) as one Arrow table.

Converted once, then handed to the adapter: DuckDB scans the buffers in place,
PostgreSQL receives them by COPY into a temp table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aligned_cli.core.ir import FeatureView
from aligned_cli.core.types import INTEGER_TYPES, NUMERIC_TYPES, DataType
from aligned_cli.errors import UsageError, did_you_mean

if TYPE_CHECKING:
    import pyarrow as pa

# The column that makes a load point-in-time (SPEC §8).
EVENT_TIMESTAMP = "event_timestamp"

Entities = Any  # dict[str, list] | pandas.DataFrame | polars.DataFrame | pyarrow.Table


def entities_table(entities: Entities) -> pa.Table:
    """`entities` as an Arrow table with engine-friendly column types."""
    import pyarrow as pa

    table = _to_arrow(entities)
    if table.num_columns == 0:
        raise UsageError("the entities have no columns", hint="pass e.g. {'passenger_id': [1, 2]}")
    duplicates = sorted({n for n in table.column_names if table.column_names.count(n) > 1})
    if duplicates:
        raise UsageError(f"the entities have duplicate columns: {', '.join(duplicates)}")
    return pa.Table.from_arrays(
        [_plain(column) for column in table.columns], names=table.column_names
    )


def check_entity_columns(columns: Sequence[str], views: Sequence[FeatureView]) -> None:
    """Every view's entity keys must be columns of the entity frame."""
    for view in views:
        for key in view.entities:
            if key not in columns:
                raise UsageError(
                    f"the entities have no column '{key}', which feature view "
                    f"'{view.name}' needs (its entities: {', '.join(view.entities)})",
                    hint=did_you_mean(key, columns),
                )


def key_types(views: Sequence[FeatureView]) -> dict[str, DataType]:
    """Each entity key's declared type (the first view declaring it), where declared."""
    found: dict[str, DataType] = {}
    for view in views:
        for key in view.entities:
            feature = view.feature(key)
            if key not in found and feature is not None and feature.dtype is not None:
                found[key] = feature.dtype
    return found


# Canonical integer text: what an integer key's value is written as ("1", not "01").
_INTEGER_TEXT = r"^-?(0|[1-9][0-9]*)$"


def typed_keys(table: pa.Table, types: Mapping[str, DataType]) -> pa.Table:
    """`table` with each entity key column in its declared type, so every engine joins
    it the same way: an empty or all-NULL column gets the type, an integer key takes
    integral floats and canonical integer text (as `aligned serve` does); a value no
    key of that type can have is a UsageError, not an engine's implicit cast ("01"
    matching 1 on one engine, a type error on another)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for name, dtype in types.items():
        index = table.column_names.index(name)
        column = table.column(index)
        kind = column.type
        if pa.types.is_null(kind):
            arrow_type = _arrow_type(dtype)
            if arrow_type is None:
                continue
            typed = column.cast(arrow_type)
        elif dtype in INTEGER_TYPES and pa.types.is_floating(kind):
            values = pc.if_else(pc.is_nan(column), None, column)  # NaN matches nothing
            if pc.all(pc.equal(values, pc.floor(values))).as_py() not in (True, None):
                _mistyped(name, dtype, "numbers with a fraction")
            typed = _to_int64(values, name, dtype)
        elif dtype in INTEGER_TYPES and pa.types.is_string(kind):
            canonical = pc.match_substring_regex(column, _INTEGER_TEXT)
            if pc.all(canonical).as_py() not in (True, None):
                _mistyped(name, dtype, "text that is not a whole number written plainly ('01')")
            typed = _to_int64(column, name, dtype)
        elif dtype in INTEGER_TYPES and pa.types.is_boolean(kind):
            _mistyped(name, dtype, "booleans")
        elif dtype is DataType.STRING and not pa.types.is_string(kind):
            _mistyped(name, dtype, f"{kind} values; pass them as text, e.g. '1'")
        elif dtype in NUMERIC_TYPES and pa.types.is_string(kind):
            _mistyped(name, dtype, "text")
        else:
            continue
        table = table.set_column(index, name, typed)
    return table


def _to_int64(column: pa.ChunkedArray, name: str, dtype: DataType) -> pa.ChunkedArray:
    import pyarrow as pa

    try:
        return column.cast(pa.int64())
    except (pa.ArrowInvalid, OverflowError):
        _mistyped(name, dtype, "numbers out of the 64-bit integer range")
        raise  # unreachable: _mistyped raises


def _mistyped(name: str, dtype: DataType, what: str) -> None:
    raise UsageError(
        f"entity key '{name}' is declared {dtype}, but the entities hold {what}",
        hint=f"pass '{name}' as {dtype} values",
    )


def _arrow_type(dtype: DataType) -> pa.DataType | None:
    """The Arrow type an entity key of `dtype` is sent to the engine in."""
    import pyarrow as pa

    if dtype in INTEGER_TYPES:
        return pa.int64()
    return {
        DataType.FLOAT: pa.float64(),
        DataType.FLOAT32: pa.float32(),
        DataType.STRING: pa.string(),
        DataType.BOOL: pa.bool_(),
        DataType.DATE: pa.date32(),
        DataType.TIMESTAMP: pa.timestamp("us", tz="UTC"),
    }.get(dtype)


def _to_arrow(entities: Entities) -> pa.Table:
    import pyarrow as pa

    if isinstance(entities, pa.Table):
        return entities
    if isinstance(entities, pa.RecordBatch):
        return pa.Table.from_batches([entities])
    if isinstance(entities, Mapping):
        try:
            return pa.table({str(k): v for k, v in entities.items()})
        except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
            raise UsageError(f"cannot read the entities: {error}") from None
    module = type(entities).__module__.split(".")[0]
    if module == "pandas":
        return pa.Table.from_pandas(entities, preserve_index=False)
    if module == "polars":
        import polars as pl

        frame = entities.collect() if isinstance(entities, pl.LazyFrame) else entities
        return frame.to_arrow()
    raise UsageError(
        f"entities must be a dict of lists, a pandas or polars DataFrame or a pyarrow "
        f"Table, not {type(entities).__name__}"
    )


def _plain(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """View and dictionary types (polars' strings, pandas categoricals) as plain ones,
    which every engine and the PostgreSQL COPY path understand."""
    import pyarrow as pa
    import pyarrow.types as pt

    kind = column.type
    if pt.is_dictionary(kind):
        return _plain(column.cast(kind.value_type))
    if pt.is_string_view(kind) or pt.is_large_string(kind):
        return column.cast(pa.string())
    if pt.is_binary_view(kind) or pt.is_large_binary(kind):
        return column.cast(pa.binary())
    return column
