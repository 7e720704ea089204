"""A source on another connection of the same engine (SPEC §3.1 `connection:`) is read
from that connection's database, not from the run's: staged like a source on another
engine, whichever of the two connections the run targets."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from aligned_cli.cli.app import app

PROJECT = """name: two
connections:
  local: {type: duckdb, path: target/aligned.duckdb}
  other: {type: duckdb, path: data/other.duckdb}
"""
FEATURES = """sources:
  - name: tbl
    connection: other
    table: tbl
    schema: s1
  - name: spine
    file: data/spine.csv
feature_views:
  - name: things
    source: tbl
    entities: [id]
    features:
      id: {type: int64}
      name: {type: string}
models:
  - name: m
    features: [things:name]
    spine: spine
"""


@pytest.mark.parametrize("target", [None, "other"])
def test_a_table_on_a_second_duckdb_database(tmp_path: Path, target: str | None) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "features").mkdir()
    with duckdb.connect(str(tmp_path / "data" / "other.duckdb")) as con:
        con.execute("CREATE SCHEMA s1")
        con.execute("CREATE TABLE s1.tbl AS SELECT * FROM (VALUES (1, 'a'), (2, 'b')) t(id, name)")
    (tmp_path / "data" / "spine.csv").write_text("id\n2\n1\n3\n")
    (tmp_path / "aligned_project.yml").write_text(PROJECT)
    (tmp_path / "features" / "f.yml").write_text(FEATURES)
    args = ["run", "--project-dir", str(tmp_path), *(["--target", target] if target else [])]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    dataset = tmp_path / "target" / "datasets" / "m.parquet"
    rows = duckdb.sql(f"SELECT id, name FROM '{dataset}'").fetchall()
    assert rows == [(2, "b"), (1, "a"), (3, None)]
