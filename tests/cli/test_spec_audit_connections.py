"""SPEC §3.1 / §5 conformance audit for connections: a source or a model output that
names a `connection:` other than the run's default (the SPEC's own `passengers_pg` on
`warehouse`, and `output: {table: ..., connection: ...}`). Real PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
from _audit import aligned, write_project


def _project(root: Path, dsn: str, features: str) -> Path:
    (root / "features").mkdir(parents=True)
    (root / "data").mkdir()
    project = (
        "name: conn\ndefault-connection: local\nconnections:\n"
        "  local: {type: duckdb, path: target/conn.duckdb}\n"
        f'  warehouse: {{type: postgres, dsn: "{dsn}"}}\n'
    )
    files = {"data/s.csv": "k,x\n1,2.0\n2,3.0\n", "features/f.yml": features}
    return write_project(root, files, project)


OUTPUT_YAML = """
sources:
  - {name: s, file: data/s.csv}
feature_views:
  - name: v
    source: s
    entities: [k]
    features: {k: {type: int64}, x: {type: float}}
models:
  - name: m
    features: [v:x]
    spine: s
    output: {table: m_out, connection: warehouse}
"""


def test_output_table_on_the_run_target(tmp_path: Path, postgres_dsn: str) -> None:
    import psycopg

    root = _project(tmp_path / "p", postgres_dsn, OUTPUT_YAML)
    result = aligned(root, "run", "--target", "warehouse")
    assert result.returncode == 0, result.stdout + result.stderr
    with psycopg.connect(postgres_dsn) as conn:
        rows = conn.execute("select k, x from m_out order by k").fetchall()
    assert rows == [(1, 2.0), (2, 3.0)]


def test_output_table_goes_to_the_named_connection(tmp_path: Path, postgres_dsn: str) -> None:
    import psycopg

    root = _project(tmp_path / "p", postgres_dsn, OUTPUT_YAML)
    result = aligned(root, "run")  # default connection: local (DuckDB)
    assert result.returncode == 0, result.stdout + result.stderr
    con = duckdb.connect(str(root / "target" / "conn.duckdb"), read_only=True)
    try:
        in_duckdb = [
            r[0] for r in con.sql("select table_name from information_schema.tables").fetchall()
        ]
    finally:
        con.close()
    assert "m_out" not in in_duckdb
    with psycopg.connect(postgres_dsn) as conn:
        rows = conn.execute("select k, x from m_out order by k").fetchall()
    assert rows == [(1, 2.0), (2, 3.0)]


SOURCE_ON_WAREHOUSE = """
sources:
  - name: passengers_pg
    connection: warehouse
    table: passenger
    schema: public
    loaded_at_field: updated_at
    freshness: {warn_after: 1d, error_after: 3d}
"""


def _passenger_table(dsn: str, age: timedelta) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create table public.passenger (k bigint, updated_at timestamptz)")
        conn.execute("insert into public.passenger values (1, %s)", (datetime.now(UTC) - age,))


def test_freshness_of_a_warehouse_source_with_target(tmp_path: Path, postgres_dsn: str) -> None:
    _passenger_table(postgres_dsn, timedelta(hours=30))
    root = _project(tmp_path / "p", postgres_dsn, SOURCE_ON_WAREHOUSE)
    result = aligned(root, "freshness", "--target", "warehouse")
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads((root / "target" / "freshness.json").read_text())
    assert [r["status"] for r in data["results"]] == ["warn"]


def test_freshness_reads_a_source_on_its_own_connection(tmp_path: Path, postgres_dsn: str) -> None:
    _passenger_table(postgres_dsn, timedelta(hours=30))
    root = _project(tmp_path / "p", postgres_dsn, SOURCE_ON_WAREHOUSE)
    result = aligned(root, "freshness")
    data = json.loads((root / "target" / "freshness.json").read_text())
    assert [r["status"] for r in data["results"]] == ["warn"], data
    assert result.returncode == 0
