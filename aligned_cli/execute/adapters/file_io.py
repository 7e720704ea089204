"""Reading and writing data files through an in-memory DuckDB.

Both engines go through here, so a PostgreSQL run sees exactly the values (csv
sniffing, types) a DuckDB run sees, and writes byte-compatible parquet/csv files.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from aligned_cli.core.ir import Source
from aligned_cli.errors import AlignedError, ExecutionError, ProjectError, did_you_mean
from aligned_cli.execute.adapters.files import resolve_path
from aligned_cli.execute.adapters.sql_names import ident, string_literal
from aligned_cli.objectstore.urls import is_remote

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

FileFormat = Literal["csv", "parquet"]
BATCH_ROWS = 100_000


def scan_sql(pattern: str, fmt: FileFormat) -> str:
    """The DuckDB table function reading a file source: `read_csv('data/x.csv')`."""
    function = "read_csv" if fmt == "csv" else "read_parquet"
    return f"{function}({string_literal(pattern, 'duckdb')})"


# DuckDB's writer options for each output format, on every engine: `COPY ... TO`
# (`copy_options`) and the relation writers (`write_arrow_file`) take the same ones.
WRITE_OPTIONS: dict[FileFormat, dict[str, Any]] = {"csv": {"header": True}, "parquet": {}}


def copy_options(fmt: FileFormat) -> str:
    """The `COPY ... TO` options every file output uses: `(FORMAT csv, HEADER true)`."""
    options = [f"FORMAT {fmt}"]
    options += [
        f"{name.upper()} {str(value).lower()}" for name, value in WRITE_OPTIONS[fmt].items()
    ]
    return f"({', '.join(options)})"


def scratch_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB session in UTC."""
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    return con


def source_scan(con: duckdb.DuckDBPyConnection, project_root: Path, source: Source) -> str:
    """The scan of a file source on `con`, with its object store enabled if remote."""
    assert source.file is not None, "only file sources are read from files"
    if not is_remote(source.file):
        return scan_sql(str(resolve_path(project_root, source.file)), source.file_format)
    from aligned_cli.objectstore.duckdb import DuckDBRemote

    DuckDBRemote(con, project_root).enable(source.file)
    return scan_sql(source.file, source.file_format)


def _unreadable(project_root: Path, source: Source, error: Exception) -> ExecutionError:
    """Why a source's file cannot be read; for an object store, asked of the store."""
    assert source.file is not None
    if is_remote(source.file):
        from aligned_cli.objectstore import Remote
        from aligned_cli.objectstore.errors import diagnose

        remote = Remote(source.file, project_root)
        found = diagnose(remote.fs, source.file, remote.settings)
        if found is not None:
            message = f"source '{source.name}': {found.message}"
            return ExecutionError(message, location=source.location, hint=found.hint)
    return ExecutionError(
        f"cannot read source '{source.name}' from '{source.file}': {first_lines(error)}",
        location=source.location,
    )


def first_lines(error: BaseException, count: int = 3) -> str:
    """The gist of a driver message: its first non-empty lines, joined."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return "; ".join(lines[:count]) if lines else type(error).__name__


@contextmanager
def read_source_file(project_root: Path, source: Source) -> Iterator[pa.RecordBatchReader]:
    """Stream a file source's rows as Arrow, columns renamed by `source.mapping`."""
    import duckdb

    assert source.file is not None, "only file sources are read from files"
    con = scratch_connection()
    try:
        scan = source_scan(con, project_root, source)
        try:
            columns = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()]
        except duckdb.Error as error:
            raise _unreadable(project_root, source, error) from error
        for raw in source.mapping:
            if raw not in columns:
                raise ProjectError(
                    f"source '{source.name}': mapping names column '{raw}', "
                    f"which '{source.file}' does not have",
                    location=source.location,
                    hint=did_you_mean(raw, columns),
                )
        select = ", ".join(
            f"{ident(c, 'duckdb')} AS {ident(source.mapping.get(c, c), 'duckdb')}" for c in columns
        )
        yield con.sql(f"SELECT {select} FROM {scan}").to_arrow_reader(BATCH_ROWS)
    finally:
        con.close()


def write_arrow_file(reader: pa.RecordBatchReader, path: Path, fmt: FileFormat) -> int:
    """Write a stream of Arrow batches to `path` as parquet or csv (not atomically);
    the number of rows written.

    DuckDB's relation writers are its `COPY ... TO` (the same bytes as the DuckDB
    engine's outputs, with the same `WRITE_OPTIONS`), without naming the stream in SQL.
    """
    import pyarrow as pa

    rows = 0

    def counted() -> Iterator[pa.RecordBatch]:
        nonlocal rows
        for batch in reader:
            rows += batch.num_rows
            yield batch

    stream = pa.RecordBatchReader.from_batches(reader.schema, counted())
    con = scratch_connection()
    try:
        relation = con.from_arrow(stream)
        write = relation.to_csv if fmt == "csv" else relation.to_parquet
        write(str(path), **WRITE_OPTIONS[fmt])
    finally:
        con.close()
    return rows


def source_file_columns(
    project_root: Path, source: Source, con: duckdb.DuckDBPyConnection | None = None
) -> dict[str, str] | None:
    """A file source's columns after `mapping` and their DuckDB types, in file order,
    read from the file's header.

    Cheap (DuckDB reads only the header/footer; from an object store, ranged reads).
    None when the file cannot be read now (missing, unreachable):
    callers then treat the columns as unknown, and a run reports the real error.
    `con` (a `scratch_connection` the caller closes) serves many local files: opening
    one per source was a third of the time. Remote files always get their own, so
    one source's object store settings never reach another's.
    """
    import duckdb

    from aligned_cli.execute.adapters.files import is_url

    if source.file is None or (is_url(source.file) and not is_remote(source.file)):
        return None
    if con is None or is_remote(source.file):
        session, own = scratch_connection(), True
    else:
        session, own = con, False
    try:
        relation = source_scan(session, project_root, source)
        described = session.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    except (duckdb.Error, AlignedError):
        return None
    finally:
        if own:
            session.close()
    return {source.mapping.get(str(row[0]), str(row[0])): str(row[1]) for row in described}
