"""Engine failures surface as one clear AlignedError, never a driver traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from aligned_cli.core.ir import Connection
from aligned_cli.errors import ExecutionError, ProjectError
from aligned_cli.execute.adapters import Adapter, open_adapter

pg_only = pytest.mark.postgres


def _with_database(dsn: str, database: str) -> str:
    base, _, _ = dsn.rpartition("/")
    return f"{base}/{database}"


def test_unreachable_server_names_host_and_port(project_root: Path) -> None:
    connection = Connection(
        name="warehouse", type="postgres", dsn="postgresql://postgres@127.0.0.1:1/db"
    )
    with pytest.raises(ExecutionError) as info:
        open_adapter(connection, project_root)
    error = info.value
    assert "127.0.0.1:1" in error.message
    assert "connection refused" in error.message
    assert "warehouse" in error.message
    assert error.hint is not None and "running" in error.hint
    assert error.__cause__ is None  # no chained driver traceback


@pg_only
def test_missing_database(postgres_server_dsn: str, project_root: Path) -> None:
    dsn = _with_database(postgres_server_dsn, "no_such_db_aligned")
    with pytest.raises(ExecutionError, match='database "no_such_db_aligned" does not exist'):
        open_adapter(Connection(name="w", type="postgres", dsn=dsn), project_root)


@pg_only
def test_unknown_role(postgres_server_dsn: str, project_root: Path) -> None:
    dsn = postgres_server_dsn.replace("postgres@", "no_such_role_aligned@", 1)
    with pytest.raises(ExecutionError, match="cannot log in") as info:
        open_adapter(Connection(name="w", type="postgres", dsn=dsn), project_root)
    assert info.value.hint is not None and "user" in info.value.hint


def test_missing_table_is_named(adapter: Adapter) -> None:
    with pytest.raises(ExecutionError, match="passengers_missing"):
        adapter.fetch_rows("SELECT * FROM passengers_missing")


@pg_only
def test_missing_schema_is_named(pg: Adapter) -> None:
    with pytest.raises(ExecutionError, match="warehouse_missing"):
        pg.fetch_arrow("SELECT * FROM warehouse_missing.passengers")


def test_duckdb_missing_file_is_named(duck: Adapter) -> None:
    with pytest.raises(ExecutionError, match=r"data/absent\.csv"):
        duck.fetch_rows("SELECT * FROM read_csv('data/absent.csv')")


def test_messages_do_not_echo_sql(duck: Adapter) -> None:
    with pytest.raises(ExecutionError) as info:
        duck.execute("SELECT * FROM nowhere_table")
    assert "LINE 1" not in str(info.value)


@pg_only
def test_unknown_postgres_option(postgres_dsn: str, project_root: Path) -> None:
    connection = Connection(
        name="w", type="postgres", dsn=postgres_dsn, options={"statement_timout": 10}
    )
    with pytest.raises(ProjectError, match="statement_timout") as info:
        open_adapter(connection, project_root)
    assert info.value.hint is not None and "statement_timeout" in info.value.hint


def test_postgres_without_dsn(project_root: Path) -> None:
    with pytest.raises(ProjectError, match="dsn"):
        open_adapter(Connection(name="w", type="postgres"), project_root)


def test_spark_without_pyspark_is_a_clear_error(
    project_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pyspark", None)  # as if it were not installed
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(ProjectError, match="pyspark is not installed") as raised:
        open_adapter(Connection(name="s", type="spark"), project_root).close()
    assert "aligned-cli[spark]" in str(raised.value.hint)


@pg_only
def test_index_helpers(pg: Adapter) -> None:
    pg.execute("CREATE TABLE events (driver_id int, ts timestamptz, v float8)")
    assert not pg.has_index_on(None, "events", ["driver_id", "ts"])
    pg.ensure_index('CREATE INDEX IF NOT EXISTS "events_pit" ON "events" ("driver_id", "ts")')
    assert pg.has_index_on(None, "events", ["driver_id", "ts"])
    assert pg.has_index_on("public", "events", ["driver_id"])  # a prefix is enough
    assert not pg.has_index_on("public", "events", ["ts"])
    assert not pg.has_index_on("public", "events_missing", ["ts"])
