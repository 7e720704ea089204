"""Sessions run in UTC whatever the process zone; relative paths resolve at the root."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from aligned_cli.core.ir import Connection
from aligned_cli.execute.adapters import Adapter, open_adapter


@pytest.fixture()
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process (and libpq's PGTZ) in America/New_York, set before connecting."""
    monkeypatch.setenv("TZ", "America/New_York")
    monkeypatch.setenv("PGTZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_naive_timestamp_is_read_as_utc(
    new_york: None, engine: str, project_root: Path, request: pytest.FixtureRequest
) -> None:
    if engine == "duckdb":
        # Without the adapter's SET, DuckDB would follow the process zone.
        raw = duckdb.connect()
        assert raw.execute("SELECT current_setting('TimeZone')").fetchall() == [
            ("America/New_York",)
        ]
        raw.close()
        connection = Connection(name="local", type="duckdb", path="db.duckdb")
    else:
        dsn = request.getfixturevalue("postgres_dsn")
        connection = Connection(name="warehouse", type="postgres", dsn=dsn)
    with open_adapter(connection, project_root) as adapter:
        rows = adapter.fetch_rows(
            "SELECT CAST(TIMESTAMP '2024-07-01 12:00:00' AS TIMESTAMPTZ), "
            "extract(epoch FROM CAST(TIMESTAMP '2024-07-01 12:00:00' AS TIMESTAMPTZ))"
        )
    instant, epoch = rows[0]
    assert instant == dt.datetime(2024, 7, 1, 12, 0, tzinfo=dt.UTC)
    assert float(epoch) == 1719835200.0


def test_duckdb_relative_paths_resolve_at_project_root(
    duck: Adapter, project_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project_root / "data").mkdir()
    (project_root / "data" / "x.csv").write_text("a\n1\n2\n")
    monkeypatch.chdir(tmp_path)  # anywhere but the project
    assert duck.fetch_rows("SELECT sum(a) FROM read_csv('data/x.csv')") == [(3,)]


def test_duckdb_database_path_is_relative_to_root(duck: Adapter, project_root: Path) -> None:
    duck.execute("CREATE TABLE kept AS SELECT 1 AS a")
    assert (project_root / "target" / "aligned.duckdb").exists()


@pytest.mark.postgres
def test_postgres_statement_timeout_option(postgres_dsn: str, project_root: Path) -> None:
    from aligned_cli.errors import ExecutionError

    connection = Connection(
        name="warehouse", type="postgres", dsn=postgres_dsn, options={"statement_timeout": 200}
    )
    with open_adapter(connection, project_root) as adapter:
        with pytest.raises(ExecutionError, match="statement_timeout") as info:
            adapter.execute("SELECT pg_sleep(3)")
        assert "warehouse" in str(info.value)
        assert adapter.fetch_rows("SELECT 1") == [(1,)]  # the session is still usable


def test_use_threads_sets_each_engines_parallelism(adapter: Adapter) -> None:
    """`aligned run --threads N`: DuckDB's worker threads; on PostgreSQL the leader
    plus N - 1 parallel workers per query."""
    adapter.use_threads(3)
    if adapter.dialect == "duckdb":
        assert adapter.fetch_rows("SELECT current_setting('threads')") == [(3,)]
    else:
        setting = "SELECT current_setting('max_parallel_workers_per_gather')"
        assert adapter.fetch_rows(setting) == [("2",)]


def test_query_columns_names_the_result_columns_in_order(adapter: Adapter) -> None:
    sql = "SELECT * FROM (SELECT 1 AS b, 'x' AS a, 2.5 AS c) AS q LIMIT 0"
    assert adapter.query_columns(sql) == ["b", "a", "c"]
