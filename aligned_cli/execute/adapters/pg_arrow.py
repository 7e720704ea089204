"""Moving Arrow data in and out of PostgreSQL: COPY in, server-side cursor out."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from aligned_cli.execute.adapters.pg_types import (
    ColumnReader,
    column_reader,
    is_csv_safe,
    postgres_type,
)
from aligned_cli.execute.adapters.sql_names import ident, temp_name

if TYPE_CHECKING:
    import psycopg
    import pyarrow as pa

BATCH_ROWS = 50_000


def create_table_sql(relation: str, schema: pa.Schema, *, temporary: bool = False) -> str:
    """`CREATE [TEMP] TABLE relation (...)` with a column per Arrow field."""
    columns = ", ".join(f"{ident(f.name, 'postgres')} {postgres_type(f.type)}" for f in schema)
    return f"CREATE {'TEMP ' if temporary else ''}TABLE {relation} ({columns})"


def copy_arrow(
    conn: psycopg.Connection[Any],
    relation: str,
    reader: Iterator[pa.RecordBatch],
    schema: pa.Schema,
) -> int:
    """COPY every batch into the existing table `relation`; returns the row count.

    Scalar columns go through pyarrow's C++ csv writer (fast); tables with lists,
    structs or binary go row by row through psycopg's COPY (still COPY, never INSERT).
    """
    columns = ", ".join(ident(f.name, "postgres") for f in schema)
    rows = 0
    with conn.cursor() as cur:
        if all(is_csv_safe(f.type) for f in schema):
            import pyarrow.csv as pa_csv

            options = pa_csv.WriteOptions(include_header=False)
            with cur.copy(f"COPY {relation} ({columns}) FROM STDIN (FORMAT csv)") as copy:
                for batch in reader:
                    buffer = io.BytesIO()
                    pa_csv.write_csv(_csv_ready(batch), buffer, options)
                    copy.write(buffer.getbuffer())
                    rows += batch.num_rows
        else:
            jsonb_columns = [postgres_type(f.type) == "jsonb" for f in schema]
            with cur.copy(f"COPY {relation} ({columns}) FROM STDIN") as copy:
                for batch in reader:
                    values = [
                        _jsonb_values(col.to_pylist()) if is_json else col.to_pylist()
                        for col, is_json in zip(batch.columns, jsonb_columns, strict=True)
                    ]
                    for row in zip(*values, strict=True):
                        copy.write_row(row)
                    rows += batch.num_rows
    return rows


def _csv_ready(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Columns as the csv writer should render them for PostgreSQL."""
    import pyarrow as pa
    import pyarrow.types as pt

    arrays = []
    for column in batch.columns:
        t = column.type
        if pt.is_dictionary(t):
            column = column.cast(t.value_type)
            t = t.value_type
        if pt.is_timestamp(t) and t.tz:
            # Arrow keeps instants in UTC: dropping the zone yields UTC wall time, which
            # the UTC session reads back as the same instant (no '-0500' offsets).
            column = column.cast(pa.timestamp(t.unit))
        elif pt.is_float16(t):
            column = column.cast(pa.float32())
        arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _jsonb_values(values: list[Any]) -> list[Any]:
    from psycopg.types.json import Jsonb

    def dumps(obj: Any) -> str:
        return json.dumps(obj, default=str)

    return [None if v is None else Jsonb(v, dumps=dumps) for v in values]


@contextmanager
def stream_query(
    conn: psycopg.Connection[Any], query: str, batch_rows: int = BATCH_ROWS
) -> Iterator[pa.RecordBatchReader]:
    """The result of `query` as Arrow batches, read through a server-side cursor so a
    large result never sits in memory whole. Consume the reader inside the block."""
    import pyarrow as pa
    from psycopg.types.string import TextLoader

    with conn.transaction(), conn.cursor(name=temp_name()) as cur:
        for json_type in ("json", "jsonb"):
            cur.adapters.register_loader(json_type, TextLoader)  # keep JSON as its text
        cur.execute(query)
        readers = [reader_for(conn, column) for column in cur.description or []]
        schema = pa.schema(
            [
                pa.field(column.name, reader.arrow_type)
                for column, reader in zip(cur.description or [], readers, strict=True)
            ]
        )

        def batches() -> Iterator[pa.RecordBatch]:
            while rows := cur.fetchmany(batch_rows):
                yield _to_batch(rows, readers, schema)

        yield pa.RecordBatchReader.from_batches(schema, batches())


def reader_for(conn: psycopg.Connection[Any], column: psycopg.Column) -> ColumnReader:
    info = conn.adapters.types.get(column.type_code)
    if info is None:
        return column_reader("unknown", is_array=False, precision=None, scale=None)
    return column_reader(
        info.name,
        is_array=info.oid != column.type_code,  # the registry maps an array oid to its element
        precision=column.precision,
        scale=column.scale,
    )


def _to_batch(
    rows: list[tuple[Any, ...]], readers: list[ColumnReader], schema: pa.Schema
) -> pa.RecordBatch:
    import pyarrow as pa

    arrays = []
    for index, (reader, field) in enumerate(zip(readers, schema, strict=True)):
        values = [row[index] for row in rows]
        if reader.convert is not None:
            values = [reader.convert(v) for v in values]
        arrays.append(pa.array(values, type=field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
