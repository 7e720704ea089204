"""int8/int16 features in arithmetic: computed as the 32-bit integers their inferred
types say, not in the operands' own type (DuckDB's TINYINT 99 * 10 overflows;
PostgreSQL's smallint 16384 + 16384 does), the same on both engines."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from _audit import project_yml, write_project
from typer.testing import CliRunner

from aligned_cli.cli.app import app

FEATURES = """
sources:
  - {name: src, file: data/s.csv}
feature_views:
  - name: v
    source: src
    entities: [id]
    features:
      id: {type: int32}
      small: {type: int8}
      mid: {type: int16}
      times_ten: {expression: "small * 10"}
      doubled: {expression: "small + small"}
      big: {expression: "(mid) * 20000"}
      negated: {expression: "-small"}
      compared: {expression: "small > 100"}
      wrapped: {expression: "coalesce(small, 0) * 10"}
      mid_twice: {expression: "mid + mid"}
      cased: {expression: "case when mid > 0 then mid else 0 end * 2"}
models:
  - name: m
    features: [v:times_ten, v:doubled, v:big, v:negated, v:compared, v:wrapped, v:mid_twice,
               v:cased]
    spine: src
    output: {file: target/m.parquet}
"""


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_small_integer_arithmetic_does_not_overflow(
    tmp_path: Path, engine: str, request: pytest.FixtureRequest
) -> None:
    dsn = request.getfixturevalue("postgres_dsn") if engine == "postgres" else ""
    project = project_yml("p")
    if dsn:
        project += f"  warehouse: {{type: postgres, dsn: '{dsn}'}}\n"
    files = {"data/s.csv": "id,small,mid\n1,99,2\n2,-100,16384\n3,,\n", "features/f.yml": FEATURES}
    root = write_project(tmp_path / "p", files, project)
    args = ["run", "--project-dir", str(root)] + (["--target", "warehouse"] if dsn else [])
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = duckdb.sql(
        f"SELECT times_ten, doubled, big, negated, compared, wrapped, mid_twice, cased "
        f"FROM '{root / 'target' / 'm.parquet'}' ORDER BY id"
    ).fetchall()
    assert rows == [
        (990, 198, 40000, -99, False, 990, 4, 4),
        (-1000, -200, 327680000, 100, False, -1000, 32768, 32768),
        (None, None, None, None, None, 0, None, 0),
    ]
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    types = {f["name"]: f["dtype"] for f in manifest["feature_views"]["v"]["features"]}
    assert types["times_ten"] == types["doubled"] == types["big"] == "int32"
    assert types["wrapped"] == types["mid_twice"] == types["cased"] == "int32"


def test_a_type_error_quotes_the_expression_as_written(tmp_path: Path) -> None:
    view = """
        sources: [{name: src, file: data/s.csv}]
        feature_views:
          - name: v
            source: src
            entities: [id]
            features:
              id: {type: int32}
              small: {type: int8}
              s: {type: string}
              bad: {expression: "small + s"}
        """
    files = {"data/s.csv": "id,small,s\n1,1,a\n", "features/f.yml": view}
    root = write_project(tmp_path / "p", files, project_yml("p"))
    result = CliRunner().invoke(app, ["compile", "--project-dir", str(root)])
    assert result.exit_code == 2, result.output
    assert '\'"small" + "s"\' ("small" is int8' in result.output
