"""The one interface the runner uses for every engine.

Writing outputs is implemented here once: build the result into a temporary table,
let the caller inspect it (build -> test -> swap, SPEC §6), then swap it in. Each
engine only supplies the few primitive steps.
"""

from __future__ import annotations

import logging
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Self

from aligned_cli.core.ir import Output, Source
from aligned_cli.errors import ProjectError, UsageError
from aligned_cli.execute.adapters.file_io import FileFormat
from aligned_cli.execute.adapters.files import replace_file, resolve_path
from aligned_cli.execute.adapters.sql_names import table_name, temp_name
from aligned_cli.objectstore.urls import is_remote

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

Params = Sequence[Any] | dict[str, Any] | None


class StagedOutput:
    """A result built into a temporary table, not yet visible at its output.

    `relation` is the SQL name of that table, for tests to query before `commit()`
    swaps it in. Leaving the `stage_output` block without committing discards it.
    """

    def __init__(self, relation: str, rows: int, swap: Callable[[], None]) -> None:
        self.relation = relation
        self.rows = rows
        self._swap = swap
        self.committed = False

    def commit(self) -> None:
        if not self.committed:
            self._swap()
            self.committed = True


class Adapter(ABC):
    """An open session on one engine; use it as a context manager to close it."""

    dialect: ClassVar[str]
    # Whether compiled SQL reads file sources from where `stage_source` loads them
    # (False: the engine reads the files in place and staging is a no-op).
    stages_files: ClassVar[bool] = True
    # Whether point-in-time lookups walk an index per spine row (Postgres' LATERAL),
    # so a model reads views from indexed relations (`execute.pit_tables`).
    indexed_lookups: ClassVar[bool] = False
    # Whether `copy_to_file` streams a query's rows into a file (else file outputs
    # go through a temporary table and `export_file`).
    streams_files: ClassVar[bool] = False

    def __init__(self, connection_name: str, project_root: Path) -> None:
        self.connection_name = connection_name
        self.project_root = project_root

    # -- lifecycle ---------------------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @abstractmethod
    def close(self) -> None: ...

    @property
    @abstractmethod
    def target(self) -> str:
        """A human name of the target for messages, e.g. `'local' (DuckDB x.duckdb)`."""

    # -- queries -----------------------------------------------------------------

    @abstractmethod
    def execute(self, sql: str, params: Params = None) -> None:
        """Run a statement (placeholders are the engine's: `?` DuckDB, `%s` psycopg)."""

    @abstractmethod
    def fetch_arrow(self, sql: str) -> pa.Table: ...

    @abstractmethod
    def fetch_rows(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        """All rows of a (small) result."""

    def query_columns(self, sql: str) -> list[str]:
        """The column names of `sql`'s result (a query that reads no rows, e.g. LIMIT 0)."""
        return list(self.fetch_arrow(sql).schema.names)

    def catalog_digest(self, tables: list[tuple[str | None, str]]) -> str | None:
        """A digest of what the catalog says about `tables` ((schema, name); a missing
        table counts too): columns, types, indexes. Equal digests mean a run-time
        recompile would decide the same (`run_sql_cache`); None: not tracked here."""
        del tables
        return None

    def plan_query(self, sql: str) -> None:
        """Plan the query `sql` without reading its rows; raises the engine's error.

        By default the query is run under LIMIT 0; engines that bind a query without
        running it (DuckDB's relations) need no rewrite, hence no sqlglot import.
        """
        import sqlglot
        from sqlglot import exp

        from aligned_cli.compile.dialects import get_dialect

        dialect = get_dialect(self.dialect).sqlglot_name
        query = sqlglot.parse_one(sql, read=dialect)
        if not isinstance(query, exp.Query):
            return  # not a query (never for compiled views): nothing to plan
        probe = exp.select("*").from_(query.subquery("aligned_probe")).limit(0)
        self.query_columns(probe.sql(dialect=dialect))

    @abstractmethod
    def register_arrow(self, name: str, table: pa.Table) -> None:
        """Make an in-memory Arrow table queryable as `name` for this session."""

    @abstractmethod
    def unregister(self, name: str) -> None: ...

    def use_threads(self, threads: int) -> None:
        """Let each query use up to `threads` worker threads (`aligned run --threads N`)."""
        raise UsageError(
            f"--threads cannot be set on a {self.dialect} target",
            hint="leave --threads out; the engine's own settings decide its parallelism",
        )

    @abstractmethod
    def stage_source(self, source: Source, *, project: str, force: bool = False) -> bool:
        """Load a file source of `project` where compiled SQL reads it; True when
        (re)loaded. (Staged tables are named per project: see `core.naming`.)"""

    @abstractmethod
    def lock(self, project_name: str) -> AbstractContextManager[None]:
        """Hold the target for one run; a second holder gets LockError at once."""

    @abstractmethod
    def ensure_index(self, create_index_sql: str) -> None: ...

    @abstractmethod
    def has_index_on(self, schema: str | None, table: str, columns: list[str]) -> bool:
        """Whether an index on `table` starts with `columns` (always True where
        indexes do not matter to the engine)."""

    # -- outputs -----------------------------------------------------------------

    def write_output(self, query_sql: str, output: Output) -> int:
        """Replace `output` with the result of `query_sql` atomically; rows written.

        A local file is streamed straight from the query where the engine can
        (`copy_to_file`): nothing is tested before that swap, so no temporary table."""
        if self.streams_files and output.file and not is_remote(output.file):
            fmt = output.file_format
            return replace_file(
                resolve_path(self.project_root, output.file),
                lambda tmp: self.copy_to_file(query_sql, tmp, fmt),
            )
        with self.stage_output(query_sql, output) as staged:
            staged.commit()
        return staged.rows

    @contextmanager
    def stage_output(self, query_sql: str, output: Output) -> Iterator[StagedOutput]:
        """Build `query_sql` into a temporary table; `commit()` swaps it into `output`.

        On any exception (KeyboardInterrupt too) or without commit, the previous
        output is untouched and the temporary table and file are removed.
        """
        tmp = temp_name()
        swap: Callable[[], None]
        if output.table:
            schema = output.schema_name or self.default_schema()
            self.ensure_schema(schema)
            relation = table_name(schema, tmp, self.dialect)
            target_table = output.table

            def swap() -> None:
                self.swap_table(schema, tmp, target_table)

            temporary = False
        elif output.file and is_remote(output.file):
            relation = table_name(None, tmp, self.dialect)
            url, remote_fmt = output.file, output.file_format

            def swap() -> None:
                self._replace_remote(relation, url, remote_fmt)

            temporary = True
        elif output.file:
            relation = table_name(None, tmp, self.dialect)
            path = resolve_path(self.project_root, output.file)
            fmt = output.file_format

            def swap() -> None:
                self._replace_file(relation, path, fmt)

            temporary = True
        else:
            raise ProjectError("an output needs a `file` or a `table`")
        try:
            rows = self.create_table_as(relation, query_sql, temporary=temporary)
            yield StagedOutput(relation, rows, swap)
        finally:
            self.drop_quietly(relation)

    def copy_to_file(self, query_sql: str, path: Path, fmt: FileFormat) -> int:
        """Write the rows of `query_sql` to the local file `path`; rows written (engines
        with `streams_files`)."""
        raise NotImplementedError(f"{type(self).__name__} does not stream files")

    def _replace_file(self, relation: str, path: Path, fmt: FileFormat) -> None:
        replace_file(path, lambda tmp: self.export_file(relation, tmp, fmt))

    def _replace_remote(self, relation: str, url: str, fmt: FileFormat) -> None:
        """Export locally, then upload to a temporary key and copy it over `url`
        (object stores have no rename); the old object stays until that copy."""
        from aligned_cli.objectstore import Remote

        remote = Remote(url, self.project_root)
        with tempfile.TemporaryDirectory(prefix="aligned-") as folder:
            local = Path(folder) / url.rsplit("/", 1)[-1]
            self.export_file(relation, local, fmt)
            remote.upload(local)

    def drop_quietly(self, relation: str) -> None:
        """DROP TABLE IF EXISTS, logging instead of raising: used while cleaning up."""
        try:
            self.execute(f"DROP TABLE IF EXISTS {relation}")
        except Exception:  # cleanup must not hide the error that got us here
            log.warning("could not drop temporary table %s", relation, exc_info=True)

    # -- engine primitives used by stage_output ----------------------------------

    @abstractmethod
    def default_schema(self) -> str:
        """The schema output tables go to when neither output nor connection names one."""

    @abstractmethod
    def ensure_schema(self, schema: str) -> None: ...

    @abstractmethod
    def create_table_as(self, relation: str, query_sql: str, *, temporary: bool) -> int:
        """`CREATE [TEMP] TABLE relation AS query`; returns its row count."""

    @abstractmethod
    def swap_table(self, schema: str, tmp: str, target: str) -> None:
        """In one transaction: drop `schema.target` if it exists, rename `tmp` to it."""

    @abstractmethod
    def export_file(self, relation: str, path: Path, fmt: FileFormat) -> None:
        """Write a table's rows to `path` (not atomically; the caller renames)."""
