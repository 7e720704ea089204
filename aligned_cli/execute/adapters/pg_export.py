"""Exporting the rows of a PostgreSQL query to a parquet/csv file.

The general path (`stream_query`) turns every value into a Python object and back,
~1 s per 100k rows x 8 columns. When every column is a plain scalar, the rows are
instead streamed out by `COPY (query) TO STDOUT (FORMAT csv)` into a spool file that
pyarrow's C++ csv reader parses with the column types the general path would give,
so both paths yield the same Arrow values. Whatever the fast path cannot parse
(infinite timestamps, BC dates, ...) sends the whole export down the general path.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aligned_cli.execute.adapters.file_io import FileFormat, write_arrow_file
from aligned_cli.execute.adapters.pg_arrow import reader_for, stream_query
from aligned_cli.execute.adapters.sql_names import temp_name

if TYPE_CHECKING:
    import psycopg
    import pyarrow as pa

log = logging.getLogger(__name__)

# Types whose csv text pyarrow parses to exactly the value `stream_query` produces.
COPY_TYPES = frozenset(
    {
        "int2",
        "int4",
        "int8",
        "float4",
        "float8",
        "numeric",
        "bool",
        "text",
        "varchar",
        "date",
        "timestamp",
        "timestamptz",
    }
)
_SPOOL_BLOCK = 1 << 20  # bytes per csv block pyarrow parses (one batch each)


def export_query(conn: psycopg.Connection[Any], query: str, path: Path, fmt: FileFormat) -> int:
    """Write every row of the SELECT `query` to `path` (not atomically; the caller
    renames); the number of rows."""
    rows = export_by_copy(conn, query, path, fmt)
    if rows is not None:
        return rows
    with stream_query(conn, query) as reader:
        return write_arrow_file(reader, path, fmt)


def copy_schema(conn: psycopg.Connection[Any], query: str) -> pa.Schema | None:
    """The Arrow schema `stream_query` gives the rows of `query`, or None when a
    column's type is not one the csv path reproduces exactly."""
    import pyarrow as pa

    if conn.info.encoding != "utf-8":
        return None  # pyarrow reads csv text as UTF-8 only
    with conn.transaction(), conn.cursor() as cur:
        no_jit(cur)
        cur.execute(f"SELECT * FROM ({query}) AS q LIMIT 0")  # planned, never run
        columns = cur.description or []
    fields = []
    for column in columns:
        info = conn.adapters.types.get(column.type_code)
        if info is None or info.oid != column.type_code or info.name not in COPY_TYPES:
            return None  # unknown, an array (its oid maps to the element) or complex
        fields.append(pa.field(column.name, reader_for(conn, column).arrow_type))
    return pa.schema(fields) if fields else None


def no_jit(cur: psycopg.Cursor[Any]) -> None:
    """For the rest of the transaction: no JIT compilation. A query that only tells its
    columns (LIMIT 0) would otherwise pay ~0.2 s of JIT for a plan that reads no row."""
    cur.execute("SET LOCAL jit = off")


def export_by_copy(
    conn: psycopg.Connection[Any], query: str, path: Path, fmt: FileFormat
) -> int | None:
    """The fast path: rows written, or None (nothing left at `path`) when it does not
    apply. (Falling back runs the query a second time, for values csv cannot carry.)"""
    import duckdb
    import pyarrow as pa

    schema = copy_schema(conn, query)
    if schema is None:
        return None
    # A file beside the output rather than memory: a large result never sits in RAM.
    spool = path.with_name(f"{temp_name()}.csv")
    try:
        rows = _copy_out(conn, query, spool)
        try:
            write_arrow_file(_csv_reader(spool, schema), path, fmt)
        except (pa.ArrowInvalid, duckdb.Error) as error:
            # Values csv cannot carry as the general path does (e.g. 'infinity').
            log.debug("COPY export fell back: %s", error)
            path.unlink(missing_ok=True)
            return None
    finally:
        spool.unlink(missing_ok=True)
    return rows


def _copy_out(conn: psycopg.Connection[Any], query: str, spool: Path) -> int:
    with conn.transaction(), conn.cursor() as cur:
        # Pin the text forms the parser expects, whatever the role's settings:
        # ISO dates and floats with enough digits to read back the same double.
        cur.execute("SET LOCAL DateStyle = 'ISO, MDY'")
        cur.execute("SET LOCAL extra_float_digits = 3")
        cur.execute("SET LOCAL TimeZone = 'UTC'")
        with spool.open("wb") as out, cur.copy(f"COPY ({query}) TO STDOUT (FORMAT csv)") as copy:
            for chunk in copy:
                out.write(chunk)
        return max(cur.rowcount, 0)


def _csv_reader(spool: Path, schema: pa.Schema) -> pa.RecordBatchReader:
    import pyarrow.csv as pa_csv

    return pa_csv.open_csv(
        spool,
        read_options=pa_csv.ReadOptions(column_names=schema.names, block_size=_SPOOL_BLOCK),
        # PostgreSQL quotes values holding newlines; those must not end a row.
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            column_types=schema,
            # COPY writes NULL as an unquoted empty field and '' as "".
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t"],
            false_values=["f"],
        ),
    )
