"""The DuckDB adapter: an embedded database file (or `:memory:`), always in UTC."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from aligned_cli.core.ir import Connection, Output, Source
from aligned_cli.errors import ExecutionError, LockError
from aligned_cli.execute.adapters.base import Adapter, Params
from aligned_cli.execute.adapters.file_io import FileFormat, copy_options
from aligned_cli.execute.adapters.files import resolve_path
from aligned_cli.execute.adapters.locks import file_lock
from aligned_cli.execute.adapters.sql_names import ident, table_name
from aligned_cli.objectstore.duckdb import DuckDBRemote
from aligned_cli.objectstore.urls import is_remote

T = TypeVar("T")

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    import duckdb
    import pyarrow as pa

MEMORY = ":memory:"


def duckdb_error(error: Exception, target: str) -> ExecutionError:
    """A driver error as one readable ExecutionError (the driver text, no traceback)."""
    text = str(error).strip()
    if "Could not set lock" in text or "Conflicting lock" in text:
        return LockError(
            f"the DuckDB database of target {target} is locked by another process",
            hint="another `aligned run`, a notebook or the duckdb CLI has it open; close it",
        )
    # Drop DuckDB's `LINE 1: <sql>` echo and caret: the SQL is in target/compiled.
    text = text.split("\n\nLINE ")[0].split("\nLINE ")[0].strip()
    return ExecutionError(f"DuckDB: {text}")


class DuckDBAdapter(Adapter):
    dialect: ClassVar[str] = "duckdb"
    stages_files: ClassVar[bool] = False  # DuckDB reads file sources in place
    streams_files: ClassVar[bool] = True

    def __init__(self, connection: Connection, project_root: Path) -> None:
        import duckdb

        super().__init__(connection.name, project_root)
        self._queries: ThreadPoolExecutor | None = None
        self._schema = connection.schema_name
        raw_path = connection.path or MEMORY
        self.path: Path | None = None
        if raw_path != MEMORY:
            self.path = resolve_path(project_root, raw_path)
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._label = f"'{connection.name}' (DuckDB {raw_path})"
        self._remote: DuckDBRemote | None = None
        config = {str(k): v for k, v in connection.options.items()}
        try:
            self._con = duckdb.connect(str(self.path) if self.path else MEMORY, config=config)
        except duckdb.Error as error:
            raise duckdb_error(error, self._label) from error
        try:
            # Naive timestamps are UTC whatever the machine's zone (SPEC §4); relative
            # paths in compiled SQL are relative to the project root.
            self._con.execute("SET TimeZone = 'UTC'")
            self._con.execute("SET file_search_path = ?", [str(project_root)])
        except BaseException:
            self._con.close()
            raise
        # s3:// (any object-store URL) in a statement is enabled when first seen.
        self._remote = DuckDBRemote(self._con, project_root)

    @property
    def target(self) -> str:
        return self._label

    @property
    def raw_connection(self) -> duckdb.DuckDBPyConnection:
        """The driver connection, for callers that need DuckDB-only features."""
        return self._con

    def close(self) -> None:
        if self._queries is not None:
            self._queries.shutdown(wait=True)
        self._con.close()

    # -- queries -----------------------------------------------------------------

    def execute(self, sql: str, params: Params = None) -> None:
        with self._translated(sql):
            self._interruptible(lambda: self._con.execute(sql, params))

    def fetch_arrow(self, sql: str) -> pa.Table:
        with self._translated(sql):
            return self._interruptible(lambda: self._con.sql(sql).to_arrow_table())

    def query_columns(self, sql: str) -> list[str]:
        with self._translated(sql):
            return list(self._interruptible(lambda: self._con.sql(sql).columns))

    def plan_query(self, sql: str) -> None:
        self.query_columns(sql)  # a relation is bound (files opened, columns resolved), not run

    def fetch_rows(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        with self._translated(sql):
            return self._interruptible(lambda: self._con.execute(sql, params).fetchall())

    def _interruptible(self, call: Callable[[], T]) -> T:
        """Run `call` on the adapter's own query thread while this thread waits for Ctrl-C.

        DuckDB checks for SIGINT only between tasks, and a single long task (a big
        range scan, a sort) can run for minutes; `interrupt()` from another thread
        stops any query at once. One dedicated thread runs every call in order, as
        DuckDB refuses a connection used by two threads at the same time.
        """
        if self._queries is None:
            from concurrent.futures import ThreadPoolExecutor

            self._queries = ThreadPoolExecutor(1, thread_name_prefix="aligned-duckdb")
        future = self._queries.submit(call)
        try:
            while True:
                try:
                    return future.result(timeout=0.05)
                except TimeoutError:
                    continue
        except KeyboardInterrupt:
            self._con.interrupt()
            with contextlib.suppress(BaseException):
                future.result()  # let the interrupted query finish unwinding
            raise

    def use_threads(self, threads: int) -> None:
        self.execute("SET threads = ?", [threads])

    def register_arrow(self, name: str, table: pa.Table) -> None:
        with self._translated():
            self._con.register(name, table)  # zero-copy: a view over the Arrow buffers

    def unregister(self, name: str) -> None:
        with self._translated():
            self._con.unregister(name)

    def stage_source(self, source: Source, *, project: str, force: bool = False) -> bool:
        return False  # DuckDB reads file sources in place

    def lock(self, project_name: str) -> AbstractContextManager[None]:
        if self.path is None:
            return contextlib.nullcontext()  # nobody else can see an in-memory database
        lock_path = self.path.with_name(self.path.name + ".aligned.lock")
        return file_lock(lock_path, self._label, project_name)

    def ensure_index(self, create_index_sql: str) -> None:
        return None  # DuckDB's joins do not use indexes

    def has_index_on(self, schema: str | None, table: str, columns: list[str]) -> bool:
        return True  # nothing to warn about on DuckDB

    # -- output primitives -------------------------------------------------------

    def default_schema(self) -> str:
        return self._schema or "main"

    def ensure_schema(self, schema: str) -> None:
        self.execute(f"CREATE SCHEMA IF NOT EXISTS {ident(schema, self.dialect)}")

    def create_table_as(self, relation: str, query_sql: str, *, temporary: bool) -> int:
        temp = "TEMP " if temporary else ""
        statement = f"CREATE {temp}TABLE {relation} AS {query_sql}"
        with self._translated(statement):
            row = self._interruptible(lambda: self._con.execute(statement).fetchone())
        return int(row[0]) if row else 0

    def swap_table(self, schema: str, tmp: str, target: str) -> None:
        with self._translated():
            self._con.execute("BEGIN TRANSACTION")
            try:
                self._con.execute(
                    f"DROP TABLE IF EXISTS {table_name(schema, target, self.dialect)}"
                )
                self._con.execute(
                    f"ALTER TABLE {table_name(schema, tmp, self.dialect)} "
                    f"RENAME TO {ident(target, self.dialect)}"
                )
                self._con.execute("COMMIT")
            except BaseException:
                self._con.execute("ROLLBACK")
                raise

    def write_output(self, query_sql: str, output: Output) -> int:
        """Files are streamed straight from the query (`COPY (q) TO tmp`), object-store
        files too (see `_write_remote`)."""
        if output.file and is_remote(output.file):
            return self._write_remote(query_sql, output.file, output.file_format)
        return super().write_output(query_sql, output)

    def _write_remote(self, query_sql: str, url: str, fmt: FileFormat) -> int:
        """Into a local temporary file, then uploaded to a temporary key and copied over
        `url` (an object store has no rename); the old object stays until that copy."""
        from aligned_cli.objectstore import Remote

        remote = Remote(url, self.project_root)  # settings checked before the query runs
        with tempfile.TemporaryDirectory(prefix="aligned-") as folder:
            local = Path(folder) / url.rsplit("/", 1)[-1]
            rows = self.copy_to_file(query_sql, local, fmt)
            remote.upload(local)
        return rows

    def copy_to_file(self, query_sql: str, path: Path, fmt: FileFormat) -> int:
        statement = f"COPY ({query_sql}) TO ? {copy_options(fmt)}"
        with self._translated(statement):
            row = self._interruptible(lambda: self._con.execute(statement, [str(path)]).fetchone())
        return int(row[0]) if row else 0

    def export_file(self, relation: str, path: Path, fmt: FileFormat) -> None:
        self.execute(f"COPY {relation} TO ? {copy_options(fmt)}", [str(path)])

    @contextmanager
    def _translated(self, sql: str = "") -> Iterator[None]:
        import duckdb

        urls = self._remote.prepare(sql) if self._remote is not None and sql else []
        try:
            yield
        except duckdb.InterruptException as error:
            raise KeyboardInterrupt from error
        except duckdb.Error as error:
            # DuckDB reports an object-store failure as fsspec's traceback text: ask
            # the store what is wrong (bucket, credentials, key) instead.
            explained = self._remote.explain(urls) if self._remote and urls else None
            raise (explained or duckdb_error(error, self._label)) from error
        except RuntimeError as error:
            # DuckDB turns Ctrl-C during a query into RuntimeError('Query interrupted');
            # give the runner back the interrupt the user asked for.
            if "interrupted" in str(error).lower():
                raise KeyboardInterrupt from error
            raise
