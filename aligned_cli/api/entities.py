"""Entity inputs (dict of lists, pandas, polars, Arrow) as one Arrow table.

Converted once, then handed to the adapter: DuckDB scans the buffers in place,
PostgreSQL receives them by COPY into a temp table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aligned_cli.core.ir import FeatureView
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
