"""The PostgreSQL adapter (psycopg 3): sessions in UTC, file sources staged by COPY."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from aligned_cli.core.ir import Connection, Source
from aligned_cli.errors import ExecutionError, ProjectError, did_you_mean
from aligned_cli.execute.adapters.base import Adapter, Params
from aligned_cli.execute.adapters.file_io import FileFormat, first_lines
from aligned_cli.execute.adapters.locks import advisory_lock_key, lock_error
from aligned_cli.execute.adapters.pg_arrow import (
    BATCH_ROWS,
    copy_arrow,
    create_table_sql,
    stream_query,
)
from aligned_cli.execute.adapters.pg_errors import connect_error, query_error
from aligned_cli.execute.adapters.pg_export import export_query, no_jit
from aligned_cli.execute.adapters.pg_staging import stage_file_source
from aligned_cli.execute.adapters.sql_names import ident, table_name

if TYPE_CHECKING:
    import psycopg
    import pyarrow as pa

KNOWN_OPTIONS = ("statement_timeout", "connect_timeout", "application_name")
DEFAULT_CONNECT_TIMEOUT = 10  # seconds; libpq's default is to wait forever


class PostgresAdapter(Adapter):
    dialect: ClassVar[str] = "postgres"
    indexed_lookups: ClassVar[bool] = True
    streams_files: ClassVar[bool] = True  # COPY (query) TO STDOUT

    def __init__(self, connection: Connection, project_root: Path) -> None:
        super().__init__(connection.name, project_root)
        if not connection.dsn:
            raise ProjectError(f"connection '{connection.name}' (postgres) needs a `dsn`")
        for key in connection.options:
            if key not in KNOWN_OPTIONS:
                raise ProjectError(
                    f"connection '{connection.name}': unknown option '{key}'",
                    hint=did_you_mean(key, KNOWN_OPTIONS),
                )
        self._dsn = connection.dsn
        self._options = dict(connection.options)
        self._schema = connection.schema_name
        self._server = _server_label(connection)
        self._conn = self._connect()

    @property
    def target(self) -> str:
        return f"'{self.connection_name}' (PostgreSQL {self._server})"

    @property
    def raw_connection(self) -> psycopg.Connection[Any]:
        """The driver connection (autocommit), for PostgreSQL-only needs."""
        return self._conn

    def close(self) -> None:
        self._conn.close()

    def _connect(self) -> psycopg.Connection[Any]:
        import psycopg

        kwargs: dict[str, Any] = {
            "autocommit": True,
            "application_name": str(self._options.get("application_name", "aligned")),
        }
        if "connect_timeout" in self._options or "connect_timeout" not in self._dsn:
            kwargs["connect_timeout"] = int(
                self._options.get("connect_timeout", DEFAULT_CONNECT_TIMEOUT)
            )
        try:
            conn = psycopg.connect(self._dsn, **kwargs)
        except psycopg.Error as error:
            raise connect_error(error, self._server, self.connection_name) from None
        try:
            # Naive timestamps are UTC whatever the server's or client's zone (SPEC §4).
            conn.execute("SET TIME ZONE 'UTC'")
            timeout = self._options.get("statement_timeout")
            if timeout is not None:
                conn.execute("SELECT set_config('statement_timeout', %s, false)", (str(timeout),))
        except psycopg.Error as error:
            conn.close()
            raise query_error(error, self.connection_name) from error
        return conn

    # -- queries -----------------------------------------------------------------

    def execute(self, sql: str, params: Params = None) -> None:
        with self._translated():
            self._conn.execute(sql, params)

    def use_threads(self, threads: int) -> None:
        # The leader process works too: N threads are N - 1 parallel workers per query.
        self.execute(
            "SELECT set_config('max_parallel_workers_per_gather', %s, false)",
            (str(threads - 1),),
        )

    def query_columns(self, sql: str) -> list[str]:
        with self._translated(), self._conn.transaction(), self._conn.cursor() as cur:
            no_jit(cur)
            cur.execute(sql)
            return [column.name for column in cur.description or []]

    def fetch_arrow(self, sql: str) -> pa.Table:
        with self._translated(), stream_query(self._conn, sql) as reader:
            return reader.read_all()

    def fetch_rows(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        with self._translated(), self._conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def register_arrow(self, name: str, table: pa.Table) -> None:
        """A TEMP table filled by COPY; it disappears with the session."""
        relation = ident(name, self.dialect)
        with self._translated(), self._conn.transaction():
            self._conn.execute(f"DROP TABLE IF EXISTS pg_temp.{relation}")
            self._conn.execute(create_table_sql(relation, table.schema, temporary=True))
            batches = iter(table.to_batches(max_chunksize=BATCH_ROWS))
            copy_arrow(self._conn, relation, batches, table.schema)

    def unregister(self, name: str) -> None:
        self.execute(f"DROP TABLE IF EXISTS pg_temp.{ident(name, self.dialect)}")

    def stage_source(self, source: Source, *, project: str, force: bool = False) -> bool:
        import duckdb
        import pyarrow as pa

        try:
            with self._translated():
                return stage_file_source(
                    self._conn, self.project_root, project, source, force=force
                )
        except (duckdb.Error, pa.ArrowException, OSError) as error:
            # Reading the file failed mid-way (DuckDB's errors arrive through Arrow).
            raise ExecutionError(
                f"cannot stage source '{source.name}' from '{source.file}': {first_lines(error)}",
                location=source.location,
                hint="the file is read as DuckDB reads it; fix the value or set the column type",
            ) from error

    def lock(self, project_name: str) -> AbstractContextManager[None]:
        return self._advisory_lock(project_name)

    @contextmanager
    def _advisory_lock(self, project_name: str) -> Iterator[None]:
        # A dedicated session: the lock lives exactly as long as it, and a crash of
        # this process releases it with the connection. Advisory locks are scoped to
        # a database, so the key needs only the project and the database name (not
        # the DSN's spelling of the host, which may differ between two runs).
        key = advisory_lock_key(project_name, self._conn.info.dbname)
        conn = self._connect()
        try:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            if not (row and row[0]):
                raise lock_error(self.target, project_name)
            yield
        finally:
            conn.close()  # closing the session releases its advisory locks

    def ensure_index(self, create_index_sql: str) -> None:
        self.execute(create_index_sql)

    def catalog_digest(self, tables: list[tuple[str | None, str]]) -> str | None:
        import hashlib
        import json

        from psycopg import sql

        names = [
            sql.Identifier(*([schema] if schema else []), table).as_string(self._conn)
            for schema, table in tables
        ]
        rows = self.fetch_rows(
            """
            SELECT r.ord, c.oid, c.oid::regclass::text, c.relkind,
              (SELECT array_agg(a.attname::text || ' ' || format_type(a.atttypid, a.atttypmod)
                                ORDER BY a.attnum)
               FROM pg_attribute a
               WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
              (SELECT array_agg(pg_get_indexdef(i.indexrelid) ORDER BY i.indexrelid)
               FROM pg_index i WHERE i.indrelid = c.oid),
              current_setting('server_version_num')
            FROM unnest(%s::text[]) WITH ORDINALITY AS r(name, ord)
            LEFT JOIN pg_class c ON c.oid = to_regclass(r.name)
            ORDER BY r.ord
            """,
            (names,),
        )
        text = json.dumps([list(row) for row in rows], default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def has_index_on(self, schema: str | None, table: str, columns: list[str]) -> bool:
        rows = self.fetch_rows(
            """
            SELECT 1 FROM pg_index i
            WHERE i.indrelid = to_regclass(%s)
              AND (
                SELECT array_agg(a.attname::text ORDER BY k.ord)
                FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                WHERE k.ord <= %s
              ) = %s::text[]
            LIMIT 1
            """,
            (table_name(schema, table, self.dialect), len(columns), columns),
        )
        return bool(rows)

    # -- output primitives -------------------------------------------------------

    def default_schema(self) -> str:
        if self._schema:
            return self._schema
        rows = self.fetch_rows("SELECT current_schema()")
        if not rows or rows[0][0] is None:
            raise ExecutionError(
                f"connection '{self.connection_name}' has no current schema to write to",
                hint="set `schema_name` on the connection, or `schema` on the output",
            )
        return str(rows[0][0])

    def ensure_schema(self, schema: str) -> None:
        # Check first: CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even
        # when the schema exists.
        if not self.fetch_rows("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)):
            self.execute(f"CREATE SCHEMA IF NOT EXISTS {ident(schema, self.dialect)}")

    def create_table_as(self, relation: str, query_sql: str, *, temporary: bool) -> int:
        temp = "TEMP " if temporary else ""
        with self._translated(), self._conn.cursor() as cur:
            cur.execute(f"CREATE {temp}TABLE {relation} AS\n{query_sql}")
            return max(cur.rowcount, 0)

    def swap_table(self, schema: str, tmp: str, target: str) -> None:
        with self._translated(), self._conn.transaction():
            self._conn.execute(f"DROP TABLE IF EXISTS {table_name(schema, target, self.dialect)}")
            self._conn.execute(
                f"ALTER TABLE {table_name(schema, tmp, self.dialect)} "
                f"RENAME TO {ident(target, self.dialect)}"
            )

    def export_file(self, relation: str, path: Path, fmt: FileFormat) -> None:
        with self._translated():
            export_query(self._conn, f"SELECT * FROM {relation}", path, fmt)

    def copy_to_file(self, query_sql: str, path: Path, fmt: FileFormat) -> int:
        with self._translated():
            return export_query(self._conn, query_sql, path, fmt)

    @contextmanager
    def _translated(self) -> Iterator[None]:
        import psycopg

        try:
            yield
        except psycopg.Error as error:
            raise query_error(error, self.connection_name) from error


def _server_label(connection: Connection) -> str:
    """`host:port/dbname` of a DSN, for messages (never the password)."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(connection.dsn or "")
    except Exception as error:  # psycopg.ProgrammingError, but any parse failure counts
        raise ProjectError(
            f"connection '{connection.name}': the dsn is not a valid PostgreSQL connection string",
            hint="write it as postgresql://user@host:5432/dbname",
        ) from error
    host = str(info.get("host") or os.environ.get("PGHOST") or "localhost")
    port = str(info.get("port") or os.environ.get("PGPORT") or "5432")
    user = str(info.get("user") or os.environ.get("PGUSER") or "")
    dbname = str(info.get("dbname") or os.environ.get("PGDATABASE") or user or "postgres")
    return f"{host}:{port}/{dbname}"
