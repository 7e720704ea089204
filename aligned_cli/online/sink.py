"""The worker's offline sink: the rows it writes online, appended where `stream_source:
{sink: ...}` says, each with the stream message id it came from (`_stream_id`).

Exactly once per message id, across crashes: the worker acknowledges a batch only
after the online write and the sink write, so a crash in between re-delivers the
batch, possibly grouped differently (another `--count`, a batch cut short, the
one-by-one pass that sorts out dead letters, another consumer's XAUTOCLAIM). So a
sink never trusts batch boundaries; it de-duplicates by message id:

- a table sink deletes the rows of the batch's ids and inserts the batch, in one
  transaction (DuckDB or PostgreSQL);
- a directory sink names each part file by its first and last message id
  (`part-<first>_<last>.parquet`, written to a hidden temporary file and renamed into
  place); before writing, it reads the `_stream_id` column of the part files whose id
  range overlaps the batch's and drops the rows already there. A part file's range
  holds every id in it, so no earlier copy of a message can be missed, and the new
  part's name cannot be an existing one (its first id would already be there).

Two consumers processing one message at the same time (a claim of an entry that is
not abandoned but slow: `--claim-idle-ms` shorter than a batch takes) are outside
this guarantee.
"""

from __future__ import annotations

import os
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from aligned_cli.core.ir import Output, Project
from aligned_cli.core.naming import STREAM_ID_COLUMN
from aligned_cli.errors import ExecutionError, UsageError

if TYPE_CHECKING:
    import pyarrow as pa

    from aligned_cli.execute.adapters import Adapter

_PART = re.compile(r"^part-(\d+)-(\d+)_(\d+)-(\d+)\.parquet$")
_INPUT = "__aligned_sink_rows"


def id_key(stream_id: str) -> tuple[int, int]:
    """`1712345678901-3` -> (1712345678901, 3): stream ids order by these numbers."""
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


class StreamSink(ABC):
    """Appends a view's written rows; `write` is idempotent per message id."""

    description: str

    @abstractmethod
    def write(self, table: pa.Table, ids: Sequence[str]) -> int:
        """Append `table` (row i came from message `ids[i]`), replacing or skipping any
        row of those messages already there; returns the rows this call wrote."""

    def close(self) -> None:
        return None


def open_sink(project: Project, root: Path, view: str, output: Output) -> StreamSink:
    """The sink `output` of `view` (a directory or a table on a connection)."""
    if output.file is not None:
        from aligned_cli.execute.adapters.files import resolve_path

        return ParquetDirectorySink(resolve_path(root, output.file), output.file)
    assert output.table is not None, "a stream sink is a file or a table"
    connection = project.connection(output.connection)
    if connection.type not in ("duckdb", "postgres"):
        raise UsageError(
            f"view '{view}': stream sink table '{output.table}' is on connection "
            f"'{connection.name}' ({connection.type})",
            hint="a stream sink table goes to a duckdb or postgres connection",
        )
    return TableSink(project, root, output)


def with_stream_ids(table: pa.Table, ids: Sequence[str]) -> pa.Table:
    import pyarrow as pa

    if STREAM_ID_COLUMN in table.column_names:
        raise UsageError(
            f"a stream sink adds the column '{STREAM_ID_COLUMN}', which the view already has",
            hint=f"rename the view's column '{STREAM_ID_COLUMN}'",
        )
    return table.append_column(pa.field(STREAM_ID_COLUMN, pa.string()), pa.array(ids, pa.string()))


class ParquetDirectorySink(StreamSink):
    """A parquet dataset directory: one part file per batch, named by its id range."""

    def __init__(self, directory: Path, declared: str) -> None:
        self.directory = directory
        self.description = f"directory {declared}"

    def write(self, table: pa.Table, ids: Sequence[str]) -> int:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not ids:
            return 0
        self.directory.mkdir(parents=True, exist_ok=True)
        present = self._present(ids)
        keep = [i not in present for i in ids]
        if not any(keep):
            return 0
        if not all(keep):
            table = table.filter(pa.array(keep))
            ids = [i for i, k in zip(ids, keep, strict=True) if k]
        keys = [id_key(i) for i in ids]
        first, last = min(keys), max(keys)
        name = f"part-{first[0]}-{first[1]}_{last[0]}-{last[1]}.parquet"
        path = self.directory / name
        # Hidden while written: dataset readers (pyarrow, DuckDB `*.parquet` globs,
        # Spark) skip dot files, and the rename makes the part appear whole.
        tmp = self.directory / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            pq.write_table(with_stream_ids(table, ids), tmp)
            _sync(tmp)  # on disk before the messages are acknowledged
            os.replace(tmp, path)
            _sync(self.directory)  # and the rename too
        finally:
            tmp.unlink(missing_ok=True)
        return len(ids)

    def _present(self, ids: Sequence[str]) -> set[str]:
        """Which of `ids` some part file already holds (only overlapping parts are read)."""
        import pyarrow.parquet as pq

        keys = [id_key(i) for i in ids]
        low, high = min(keys), max(keys)
        wanted = set(ids)
        found: set[str] = set()
        for entry in os.scandir(self.directory):
            match = _PART.match(entry.name)
            if match is None:
                continue
            a, b, c, d = (int(g) for g in match.groups())
            if (c, d) < low or (a, b) > high:
                continue
            column = pq.read_table(entry.path, columns=[STREAM_ID_COLUMN]).column(STREAM_ID_COLUMN)
            found.update(i for i in column.to_pylist() if i in wanted)
        return found


def _sync(path: Path) -> None:
    """fsync a file, or a directory's entries."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class TableSink(StreamSink):
    """A table on a DuckDB or PostgreSQL connection: per batch, in one transaction,
    delete the rows of the batch's message ids, then insert the batch.

    A DuckDB database file is opened for each batch and closed after it, so the
    worker does not hold its lock between batches (`aligned run` may use the file)."""

    def __init__(self, project: Project, root: Path, output: Output) -> None:
        assert output.table is not None
        self._connection = project.connection(output.connection)
        self._root = root
        self._output = output
        self._adapter: Adapter | None = None
        schema = f"{output.schema_name}." if output.schema_name else ""
        self.description = f"table {schema}{output.table} on '{self._connection.name}'"

    def close(self) -> None:
        if self._adapter is not None:
            self._adapter.close()
            self._adapter = None

    def write(self, table: pa.Table, ids: Sequence[str]) -> int:
        if not ids:
            return 0
        with self._session() as adapter:
            self._write(adapter, with_stream_ids(table, ids))
        return len(ids)

    @contextmanager
    def _session(self) -> Iterator[Adapter]:
        from aligned_cli.execute.adapters import open_adapter

        if self._connection.type == "postgres":
            if self._adapter is None:
                self._adapter = open_adapter(self._connection, self._root)
            yield self._adapter
            return
        with open_adapter(self._connection, self._root) as adapter:
            yield adapter

    def _write(self, adapter: Adapter, rows: pa.Table) -> None:
        from aligned_cli.execute.adapters.sql_names import ident, table_name

        dialect = adapter.dialect
        schema = self._output.schema_name or adapter.default_schema()
        assert self._output.table is not None
        target = table_name(schema, self._output.table, dialect)
        source = ident(_INPUT, dialect)
        if dialect == "postgres":
            source = f"pg_temp.{source}"
        columns = ", ".join(ident(name, dialect) for name in rows.column_names)
        stream_id = ident(STREAM_ID_COLUMN, dialect)
        adapter.ensure_schema(schema)
        adapter.register_arrow(_INPUT, rows)
        try:
            with _transaction(adapter):
                adapter.execute(
                    f"CREATE TABLE IF NOT EXISTS {target} AS SELECT * FROM {source} WHERE 1 = 0"
                )
                if dialect == "postgres":
                    # The DELETE below finds a batch's ids by index, not by a scan of
                    # a table that only grows.
                    index = ident(_index_name(target), dialect)
                    adapter.execute(f"CREATE INDEX IF NOT EXISTS {index} ON {target} ({stream_id})")
                adapter.execute(
                    f"DELETE FROM {target} WHERE {stream_id} IN (SELECT {stream_id} FROM {source})"
                )
                adapter.execute(f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {source}")
        except ExecutionError as error:
            raise ExecutionError(
                f"stream sink {self.description}: {error.message}",
                hint=error.hint
                or "the sink table's columns must be the view's columns plus "
                f"'{STREAM_ID_COLUMN}'; drop or rename an older table whose columns differ",
            ) from None
        finally:
            adapter.unregister(_INPUT)


def _index_name(target: str) -> str:
    """A stable index name per sink table, within PostgreSQL's 63 bytes."""
    import hashlib

    return f"aligned_sink_{hashlib.sha256(target.encode()).hexdigest()[:16]}"


@contextmanager
def _transaction(adapter: Adapter) -> Iterator[None]:
    if adapter.dialect == "postgres":
        from aligned_cli.execute.adapters.postgres import PostgresAdapter

        assert isinstance(adapter, PostgresAdapter)
        with adapter.raw_connection.transaction():
            yield
        return
    adapter.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        adapter.execute("ROLLBACK")
        raise
    adapter.execute("COMMIT")
