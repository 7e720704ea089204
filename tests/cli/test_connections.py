"""Sources and outputs on another connection than the run's (SPEC §3.1): a DuckDB run
reading a PostgreSQL table, and datasets written to the other engine. Real servers."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import psycopg
import pytest
from typer.testing import CliRunner

from aligned_cli.cli.app import app

pytestmark = pytest.mark.postgres


def _project(root: Path, dsn: str, features: str) -> Path:
    (root / "features").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "aligned_project.yml").write_text(
        "name: mixed\ndefault-connection: local\nconnections:\n"
        "  local: {type: duckdb, path: target/mixed.duckdb}\n"
        f'  warehouse: {{type: postgres, dsn: "{dsn}"}}\n'
    )
    (root / "data" / "spine.csv").write_text(
        "trip_id,event_timestamp\n1,2026-01-02T00:00:00\n2,2026-01-01T00:00:00\n"
        "1,2026-01-03T12:00:00\n3,2026-01-05T00:00:00\n"
    )
    (root / "features" / "f.yml").write_text(textwrap.dedent(features).lstrip("\n"))
    return root


# A PostgreSQL table (mapped) read by views that a DuckDB run builds a dataset from.
MIXED = """
sources:
  - name: trips_pg
    connection: warehouse
    table: trips
    schema: public
    mapping: {id: trip_id}
    loaded_at_field: updated_at
    freshness: {warn_after: 1d, error_after: 3d}
  - name: spine
    file: data/spine.csv
feature_views:
  - name: trips
    source: trips_pg
    entities: [trip_id]
    event_timestamp: updated_at
    freshness: {warn_after: 1d}
    features:
      trip_id: {type: int64}
      fare: {type: float}
      double_fare: {expression: "fare * 2"}
models:
  - name: fares
    features: [trips:fare, trips:double_fare]
    spine: spine
  - name: fares_to_warehouse
    features: [trips:fare]
    spine: spine
    output: {table: fares_out, connection: warehouse}
"""


def _trips(dsn: str, updated: datetime) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create table public.trips (id bigint, updated_at timestamptz, fare float8)")
        conn.execute(
            "insert into public.trips values (1, '2026-01-01 00:00+00', 10), "
            "(1, '2026-01-03 00:00+00', 12), (2, '2026-01-02 00:00+00', 7), (3, %s, 9)",
            (updated,),
        )


def test_a_duckdb_run_reads_a_postgres_source_point_in_time(
    tmp_path: Path, postgres_dsn: str
) -> None:
    _trips(postgres_dsn, datetime(2026, 1, 4, tzinfo=UTC))
    root = _project(tmp_path / "p", postgres_dsn, MIXED)
    result = CliRunner().invoke(app, ["run", "--project-dir", str(root)])
    assert result.exit_code == 0, result.output
    dataset = root / "target" / "datasets" / "fares.parquet"
    rows = duckdb.sql(f"select trip_id, fare, double_fare from '{dataset}'").fetchall()
    # Spine order kept; trip 2's only row is a day after its spine time: no value.
    assert rows == [(1, 10.0, 20.0), (2, None, None), (1, 12.0, 24.0), (3, 9.0, 18.0)]
    # The warehouse-bound model went to PostgreSQL, not into the DuckDB file.
    with psycopg.connect(postgres_dsn) as conn:
        written = conn.execute("select trip_id, fare from fares_out").fetchall()
    assert written == [(1, 10.0), (2, None), (1, 12.0), (3, 9.0)]
    con = duckdb.connect(str(root / "target" / "mixed.duckdb"), read_only=True)
    try:
        tables = con.sql("select table_name from information_schema.tables").fetchall()
    finally:
        con.close()
    assert ("fares_out",) not in tables


def test_a_postgres_run_writes_a_dataset_to_duckdb(tmp_path: Path, postgres_dsn: str) -> None:
    _trips(postgres_dsn, datetime(2026, 1, 4, tzinfo=UTC))
    features = MIXED.replace(
        "output: {table: fares_out, connection: warehouse}",
        "output: {table: fares_local, connection: local}",
    )
    root = _project(tmp_path / "p", postgres_dsn, features)
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--project-dir",
            str(root),
            "--target",
            "warehouse",
            "-s",
            "model:fares_to_warehouse",
        ],
    )
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(root / "target" / "mixed.duckdb"), read_only=True)
    try:
        rows = con.sql("select trip_id, fare from fares_local").fetchall()
    finally:
        con.close()
    assert rows == [(1, 10.0), (2, None), (1, 12.0), (3, 9.0)]


def test_freshness_of_a_source_and_a_view_on_another_engine(
    tmp_path: Path, postgres_dsn: str
) -> None:
    _trips(postgres_dsn, datetime.now(UTC) - timedelta(hours=30))
    root = _project(tmp_path / "p", postgres_dsn, MIXED)
    result = CliRunner().invoke(app, ["freshness", "--project-dir", str(root)])
    assert result.exit_code == 0, result.output
    data = json.loads((root / "target" / "freshness.json").read_text())
    assert {r["name"]: r["status"] for r in data["results"]} == {
        "trips_pg": "warn",
        "trips": "warn",
        "fares": "warn",  # models roll up the freshness of what they read
        "fares_to_warehouse": "warn",
    }
