"""The Apache Spark adapter: a local or cluster SparkSession, or Spark Connect.

```yaml
connections:
  spark: {type: spark, options: {master: "local[2]"}}          # in-process JVM
  remote: {type: spark, options: {master: "sc://host:15002"}}  # Spark Connect
```
Other `options` starting with `spark.` are passed to the session builder. The
session time zone is always UTC: compiled Spark SQL reads naive timestamps as UTC.

File sources are temporary views (`spark_sources`); file outputs are parquet
directories (CSV outputs: one file) written under a temporary name beside the
output and renamed into place; table outputs are tables of the session catalog
(`CREATE TABLE ... USING parquet AS`, then a rename). One run holds a file lock
beside the warehouse directory.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from aligned_cli.core.ir import Connection, Output, Source
from aligned_cli.errors import ExecutionError, ProjectError, UsageError
from aligned_cli.execute.adapters.base import Adapter, Params, StagedOutput
from aligned_cli.execute.adapters.file_io import FileFormat, first_lines
from aligned_cli.execute.adapters.files import resolve_path
from aligned_cli.execute.adapters.locks import file_lock
from aligned_cli.execute.adapters.spark_sources import STAGING_FOLDER, register_source
from aligned_cli.execute.adapters.sql_names import ident, table_name, temp_name
from aligned_cli.objectstore.urls import is_remote

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

DEFAULT_MASTER = "local[2]"
_DEFAULT_CONF = {
    "spark.sql.session.timeZone": "UTC",  # naive timestamps are UTC (SPEC §4)
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # Instants written as Parquet's UTC-adjusted microseconds (what DuckDB writes), not
    # INT96, which readers take as naive times.
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}


_TIMESTAMP_TYPE = "spark.sql.parquet.outputTimestampType"


def spark_session(connection: Connection, project_root: Path) -> tuple[SparkSession, bool]:
    """The session for `connection` and whether this call started it (then we stop it)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ProjectError(
            f"connection '{connection.name}' is a spark connection, but pyspark is not installed",
            hint="pip install 'aligned-cli[spark]' (Spark also needs Java 17 or newer)",
        ) from None
    options = {str(k): v for k, v in connection.options.items()}
    master = str(options.pop("master", None) or connection.dsn or DEFAULT_MASTER)
    conf = dict(_DEFAULT_CONF)
    conf["spark.sql.warehouse.dir"] = str(warehouse_dir(connection, project_root))
    conf.update({k: str(v) for k, v in options.items() if k.startswith("spark.")})
    conf["spark.sql.session.timeZone"] = "UTC"  # not overridable: the SQL relies on it
    builder = SparkSession.builder.appName(f"aligned:{connection.name}")
    builder = builder.remote(master) if master.startswith("sc://") else builder.master(master)
    for key, value in conf.items():
        builder = builder.config(key, value)
    existing = SparkSession.getActiveSession()
    try:
        session = builder.getOrCreate()
    except Exception as error:  # the JVM did not start: no Java, bad master URL
        raise ExecutionError(
            f"cannot start Spark for connection '{connection.name}' ({master}): "
            f"{first_lines(error, 2)}",
            hint="Spark needs Java 17+ (JAVA_HOME) for a local master",
        ) from error
    # An existing session (a notebook's, a test session's) keeps its own settings.
    session.conf.set("spark.sql.session.timeZone", "UTC")
    session.conf.set(_TIMESTAMP_TYPE, _DEFAULT_CONF[_TIMESTAMP_TYPE])
    _quiet_query_context_logs()
    return session, existing is None


def _quiet_query_context_logs() -> None:
    """PySpark logs every failed query's context as one JSON line with a Java stack
    trace (~15 kB) before raising; aligned reports the error itself, in one line."""
    try:
        from pyspark.logger import PySparkLogger
    except ImportError:  # older PySpark: no such logs
        return
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).disabled = True


def warehouse_dir(connection: Connection, project_root: Path) -> Path:
    configured = connection.options.get("spark.sql.warehouse.dir")
    if configured:
        return resolve_path(project_root, str(configured))
    return project_root / "target" / "spark-warehouse"


class SparkAdapter(Adapter):
    dialect: ClassVar[str] = "spark"

    def __init__(self, connection: Connection, project_root: Path) -> None:
        super().__init__(connection.name, project_root)
        self._schema = connection.schema_name
        self._warehouse = warehouse_dir(connection, project_root)
        self._staging = project_root / "target" / STAGING_FOLDER
        self.spark, self._owned = spark_session(connection, project_root)
        self._label = f"'{connection.name}' (Spark {self.spark.version})"

    @property
    def target(self) -> str:
        return self._label

    def close(self) -> None:
        if self._owned:
            self.spark.stop()

    # -- queries -----------------------------------------------------------------

    def _sql(self, sql: str, params: Params = None) -> DataFrame:
        with self._translated():
            if params:
                return self.spark.sql(sql, args=params)  # type: ignore[arg-type]
            return self.spark.sql(sql)

    def execute(self, sql: str, params: Params = None) -> None:
        with self._translated():
            self._sql(sql, params).collect()

    def fetch_arrow(self, sql: str) -> pa.Table:
        with self._translated():
            return self._sql(sql).toArrow()

    def fetch_rows(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        with self._translated():
            return [tuple(row) for row in self._sql(sql, params).collect()]

    def register_arrow(self, name: str, table: pa.Table) -> None:
        with self._translated():
            self.spark.createDataFrame(table).createOrReplaceTempView(name)

    def unregister(self, name: str) -> None:
        with self._translated():
            self.spark.catalog.dropTempView(name)

    def stage_source(self, source: Source, *, project: str, force: bool = False) -> bool:
        del project  # per-session views, converted files under the project: nothing shared
        with self._translated():
            return register_source(
                self.spark, self.project_root, self._staging, source, force=force
            )

    def use_threads(self, threads: int) -> None:
        raise UsageError(
            "--threads cannot change a running Spark session's parallelism",
            hint=f"set the connection's master to local[{threads}] (or size the cluster)",
        )

    def lock(self, project_name: str) -> AbstractContextManager[None]:
        return file_lock(self._warehouse / ".aligned.lock", self._label, project_name)

    def ensure_index(self, create_index_sql: str) -> None:
        return None  # Spark has no indexes

    def has_index_on(self, schema: str | None, table: str, columns: list[str]) -> bool:
        return True

    # -- outputs -----------------------------------------------------------------

    def write_output(self, query_sql: str, output: Output) -> int:
        """Local files: the result is written to `.<tmp>_<name>` beside the output and
        renamed into place, its rows counted from the parquet footers. Nothing tests it
        in between, so unlike `stage_output` nothing reads it back (no view, no job)."""
        if output.table or not output.file:
            return super().write_output(query_sql, output)
        path, staged_dir = self._staged_path(output)
        try:
            rows = self._write_staged(query_sql, staged_dir)
            self._publish(staged_dir, path, output.file_format)
        finally:
            shutil.rmtree(staged_dir, ignore_errors=True)
        return rows

    @contextmanager
    def stage_output(self, query_sql: str, output: Output) -> Iterator[StagedOutput]:
        """Files: the result is written to `.<tmp>_<name>` beside the output (a
        parquet directory) and read back as a view for the tests (its rows counted
        from the parquet footers); `commit()` renames it into place. Tables: the base
        class's temporary table and rename."""
        if output.table or not output.file:
            with super().stage_output(query_sql, output) as staged:
                yield staged
            return
        path, staged_dir = self._staged_path(output)
        view = temp_name()
        try:
            rows = self._write_staged(query_sql, staged_dir)
            with self._translated():
                self.spark.read.parquet(str(staged_dir)).createOrReplaceTempView(view)
            fmt = output.file_format
            yield StagedOutput(
                ident(view, "spark"), rows, lambda: self._publish(staged_dir, path, fmt)
            )
        finally:
            with contextlib.suppress(Exception):
                self.spark.catalog.dropTempView(view)
            shutil.rmtree(staged_dir, ignore_errors=True)

    def _staged_path(self, output: Output) -> tuple[Path, Path]:
        """The local path of a file output and the staging directory beside it."""
        assert output.file is not None
        if is_remote(output.file):
            raise ExecutionError(
                f"the Spark adapter cannot write to an object store yet ({output.file})",
                hint="write to a local path, or use a duckdb connection for this output",
            )
        path = resolve_path(self.project_root, output.file)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path, path.with_name(f".{temp_name()}_{path.name}")

    def _write_staged(self, query_sql: str, staged_dir: Path) -> int:
        """Write the query's rows to the parquet directory `staged_dir`; rows written."""
        with self._translated():
            self._sql(query_sql).write.mode("errorifexists").parquet(str(staged_dir))
            rows = _parquet_rows(staged_dir)
            if rows is None:
                rows = self.spark.read.parquet(str(staged_dir)).count()
        return rows

    def _publish(self, staged_dir: Path, path: Path, fmt: FileFormat) -> None:
        """Move the staged result to `path`: a parquet directory, or one CSV file."""
        if fmt == "csv":
            csv_dir = staged_dir.with_name(staged_dir.name + ".csv")
            try:
                with self._translated():
                    frame = self.spark.read.parquet(str(staged_dir)).coalesce(1)
                    frame.write.option("header", "true").csv(str(csv_dir))
                part = next(csv_dir.glob("part-*"))
                part.replace(staged_dir.with_name(staged_dir.name + ".file"))
            finally:
                shutil.rmtree(csv_dir, ignore_errors=True)
            _swap_path(staged_dir.with_name(staged_dir.name + ".file"), path)
            return
        _swap_path(staged_dir, path)

    def drop_quietly(self, relation: str) -> None:
        super().drop_quietly(relation)

    def default_schema(self) -> str:
        return self._schema or "default"

    def ensure_schema(self, schema: str) -> None:
        self.execute(f"CREATE DATABASE IF NOT EXISTS {ident(schema, self.dialect)}")

    def create_table_as(self, relation: str, query_sql: str, *, temporary: bool) -> int:
        kind = "TEMPORARY VIEW" if temporary else "TABLE"
        using = "" if temporary else " USING parquet"
        self.execute(f"CREATE {kind} {relation}{using} AS {query_sql}")
        rows = self.fetch_rows(f"SELECT COUNT(*) FROM {relation}")
        return int(rows[0][0]) if rows else 0

    def swap_table(self, schema: str, tmp: str, target: str) -> None:
        # Spark's session catalog has no transactions: drop, then rename (a reader in
        # between sees no table rather than a half-written one).
        self.execute(f"DROP TABLE IF EXISTS {table_name(schema, target, self.dialect)}")
        self.execute(
            f"ALTER TABLE {table_name(schema, tmp, self.dialect)} "
            f"RENAME TO {table_name(schema, target, self.dialect)}"
        )

    def export_file(self, relation: str, path: Path, fmt: FileFormat) -> None:
        with self._translated():
            writer = self.spark.table(relation).write.mode("overwrite")
            if fmt == "csv":
                writer.option("header", "true").csv(str(path))
            else:
                writer.parquet(str(path))

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Spark's errors (Py4J, Spark Connect, analysis) as one ExecutionError."""
        try:
            yield
        except (ProjectError, ExecutionError):
            raise
        except Exception as error:
            from pyspark.errors import PySparkException

            if isinstance(error, PySparkException):
                raise ExecutionError(f"Spark: {first_lines(error, 2)}") from error
            try:
                from py4j.protocol import Py4JError
            except ImportError:  # Spark Connect without the JVM bridge
                raise error from None
            if isinstance(error, Py4JError):
                raise ExecutionError(f"Spark: {first_lines(error, 2)}") from error
            raise


def _parquet_rows(directory: Path) -> int | None:
    """The rows of the parquet files Spark wrote to `directory`, from their footers
    (no Spark job: counting them with Spark reads the output again); None if unknown."""
    try:
        import pyarrow.parquet as pq

        parts = sorted(directory.glob("part-*"))
        if not parts:
            return None
        return sum(int(pq.read_metadata(part).num_rows) for part in parts)
    except Exception:  # not readable from here: let Spark count them
        log.debug("counting the rows of %s with Spark", directory, exc_info=True)
        return None


def _swap_path(new: Path, path: Path) -> None:
    """Put `new` (a file or directory) at `path`: two renames, the old one removed last.

    A directory cannot be replaced in one rename; between the two renames `path` is
    briefly missing, never half-written."""
    old = path.with_name(f".{temp_name()}_old_{path.name}")
    if path.exists():
        path.replace(old)
    try:
        new.replace(path)
    except BaseException:
        if old.exists():
            old.replace(path)  # put the previous output back
        raise
    if old.is_dir():
        shutil.rmtree(old, ignore_errors=True)
    else:
        old.unlink(missing_ok=True)


__all__ = ["SparkAdapter", "spark_session"]
