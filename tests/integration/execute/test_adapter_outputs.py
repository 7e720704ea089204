"""write_output / stage_output: atomic swaps of files and tables on both engines."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from aligned_cli.core.ir import Output
from aligned_cli.errors import ExecutionError
from aligned_cli.execute.adapters import Adapter

Series = Callable[[Adapter, int], str]
TempTables = Callable[[Adapter], list[str]]


def failing_midway_sql(adapter: Adapter, series_sql: Series) -> str:
    """A query whose cast fails only at row 5000 (after rows were produced)."""
    text = "'x' || i" if adapter.dialect == "postgres" else "'x' || i::VARCHAR"
    return (
        f"SELECT CASE WHEN i < 5000 THEN i ELSE CAST({text} AS INTEGER) END AS v "
        f"FROM ({series_sql(adapter, 10_000)}) AS s"
    )


def read_file(path: Path) -> list[tuple[object, ...]]:
    function = "read_csv" if path.suffix == ".csv" else "read_parquet"
    return duckdb.execute(f"SELECT * FROM {function}('{path}') ORDER BY 1").fetchall()


def leftover_files(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if "__aligned_tmp" in p.name]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_write_file_output(
    adapter: Adapter, project_root: Path, series_sql: Series, fmt: str
) -> None:
    output = Output(file=f"target/datasets/out.{fmt}")
    query = f"SELECT i, i * 2 AS double FROM ({series_sql(adapter, 3)}) s"
    rows = adapter.write_output(query, output)
    assert rows == 3
    path = project_root / "target" / "datasets" / f"out.{fmt}"
    assert read_file(path) == [(0, 0), (1, 2), (2, 4)]
    # Writing again replaces the file.
    assert adapter.write_output(series_sql(adapter, 5), output) == 5
    assert len(read_file(path)) == 5
    assert leftover_files(project_root) == []


def test_timestamps_in_files_are_utc_instants(adapter: Adapter, project_root: Path) -> None:
    adapter.write_output(
        "SELECT CAST(TIMESTAMP '2024-03-10 02:30:00' AS TIMESTAMPTZ) AS t",
        Output(file="out.parquet"),
    )
    rows = duckdb.execute(
        f"SELECT epoch(t) FROM read_parquet('{project_root / 'out.parquet'}')"
    ).fetchall()
    assert rows == [(1710037800,)]


def test_write_table_output(adapter: Adapter, series_sql: Series, temp_tables: TempTables) -> None:
    output = Output(table="dataset", schema_name="analytics")
    assert adapter.write_output(series_sql(adapter, 4), output) == 4
    assert adapter.fetch_rows('SELECT count(*) FROM "analytics"."dataset"') == [(4,)]
    assert adapter.write_output(series_sql(adapter, 2), output) == 2
    assert adapter.fetch_rows('SELECT count(*) FROM "analytics"."dataset"') == [(2,)]
    assert temp_tables(adapter) == []


def test_table_in_default_schema(adapter: Adapter, series_sql: Series) -> None:
    adapter.write_output(series_sql(adapter, 1), Output(table="Mixed Case"))
    schema = "main" if adapter.dialect == "duckdb" else "public"
    assert adapter.fetch_rows(f'SELECT count(*) FROM "{schema}"."Mixed Case"') == [(1,)]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_failing_query_keeps_old_file(
    adapter: Adapter,
    project_root: Path,
    series_sql: Series,
    temp_tables: TempTables,
    fmt: str,
) -> None:
    output = Output(file=f"out/data.{fmt}")
    adapter.write_output(series_sql(adapter, 3), output)
    path = project_root / "out" / f"data.{fmt}"
    before = path.read_bytes()
    with pytest.raises(ExecutionError, match="x5000"):
        adapter.write_output(failing_midway_sql(adapter, series_sql), output)
    assert path.read_bytes() == before
    assert leftover_files(project_root) == []
    assert temp_tables(adapter) == []


def test_failing_query_keeps_old_table(
    adapter: Adapter, series_sql: Series, temp_tables: TempTables
) -> None:
    output = Output(table="dataset")
    adapter.write_output(series_sql(adapter, 3), output)
    with pytest.raises(ExecutionError):
        adapter.write_output(failing_midway_sql(adapter, series_sql), output)
    assert adapter.fetch_rows("SELECT count(*) FROM dataset") == [(3,)]
    assert temp_tables(adapter) == []


@pytest.mark.parametrize("output", [Output(table="dataset"), Output(file="data.parquet")])
def test_interrupt_before_swap_keeps_old_output(
    adapter: Adapter,
    project_root: Path,
    series_sql: Series,
    temp_tables: TempTables,
    output: Output,
) -> None:
    adapter.write_output(series_sql(adapter, 3), output)
    with pytest.raises(KeyboardInterrupt), adapter.stage_output(series_sql(adapter, 9), output):
        raise KeyboardInterrupt
    if output.table:
        assert adapter.fetch_rows("SELECT count(*) FROM dataset") == [(3,)]
    else:
        assert len(read_file(project_root / "data.parquet")) == 3
    assert temp_tables(adapter) == []
    assert leftover_files(project_root) == []


def test_staged_output_is_queryable_before_commit(
    adapter: Adapter, series_sql: Series, temp_tables: TempTables
) -> None:
    output = Output(table="dataset")
    adapter.write_output(series_sql(adapter, 3), output)
    with adapter.stage_output(series_sql(adapter, 7), output) as staged:
        assert staged.rows == 7
        assert adapter.fetch_rows(f"SELECT count(*) FROM {staged.relation}") == [(7,)]
        assert adapter.fetch_rows("SELECT count(*) FROM dataset") == [(3,)]
        staged.commit()
    assert adapter.fetch_rows("SELECT count(*) FROM dataset") == [(7,)]
    assert temp_tables(adapter) == []


def test_uncommitted_stage_is_discarded(
    adapter: Adapter, series_sql: Series, temp_tables: TempTables
) -> None:
    output = Output(table="dataset")
    adapter.write_output(series_sql(adapter, 3), output)
    with adapter.stage_output(series_sql(adapter, 7), output):
        pass  # e.g. an error-severity test failed: do not swap
    assert adapter.fetch_rows("SELECT count(*) FROM dataset") == [(3,)]
    assert temp_tables(adapter) == []


def test_trailing_semicolon_is_accepted(adapter: Adapter, series_sql: Series) -> None:
    assert adapter.write_output(series_sql(adapter, 2) + ";\n", Output(table="t")) == 2


def test_ctrl_c_mid_query_keeps_old_output(adapter: Adapter, temp_tables: TempTables) -> None:
    """A real SIGINT while the engine is busy: the old table stays, nothing is left."""
    output = Output(table="dataset")
    adapter.write_output("SELECT 1 AS s", output)
    slow = (
        "SELECT max(hash(range)) AS s FROM range(20000000000)"  # minutes of real work
        if adapter.dialect == "duckdb"
        else "SELECT pg_sleep(20)::text AS s"
    )
    # Ctrl-C must reach this process even when it was started with SIGINT ignored
    # (a background job in a non-interactive shell inherits SIG_IGN).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            adapter.write_output(slow, output)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert adapter.fetch_rows("SELECT * FROM dataset") == [(1,)]
    assert temp_tables(adapter) == []
