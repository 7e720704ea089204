"""`%` of floats, logarithms and square roots compute the same dataset on DuckDB and
PostgreSQL (SPEC §3.1: one expression, every engine): PostgreSQL has no `%` of
doubles and no log(b, x) of doubles, and raises an error where DuckDB gives -inf or
NaN (a logarithm of 0 or of a negative number, the square root of a negative)."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pytest
from _audit import write_project
from typer.testing import CliRunner

from aligned_cli.cli.app import app

runner = CliRunner()

DATA = "id,a,b,i\n1,-7.5,2,7\n2,7.5,0,-7\n3,0.25,1,0\n4,,2,3\n5,nan,2,100\n6,inf,2,8\n"
FEATURES = """
sources:
  - {name: s, file: data/s.csv}
feature_views:
  - name: v
    source: s
    entities: [id]
    features:
      id: {type: int32}
      a: {type: float}
      b: {type: int64}
      i: {type: int64}
      m: {expression: "a % b"}
      m2: {expression: "a % 2"}
      m3: {expression: "i % 2"}
      m4: {expression: "(a + 1) % (b * 1.5) + 1"}
      l10: {expression: "log10(i)"}
      l2: {expression: "log2(a)"}
      ln1: {expression: "ln(i)"}
      lg: {expression: "log(a)"}
      sq: {expression: "sqrt(i)"}
      sa: {expression: "sqrt(a)"}
models:
  - {name: m, features: [v:m, v:m2, v:m3, v:m4, v:l10, v:l2, v:ln1, v:lg, v:sq, v:sa], spine: s}
"""
COLUMNS = ["m", "m2", "m3", "m4", "l10", "l2", "ln1", "lg", "sq", "sa"]


def _project_yml(postgres_dsn: str) -> str:
    """A DuckDB connection (the default) and a PostgreSQL one, `warehouse`."""
    return (
        "name: pm\nconnections:\n  local: {type: duckdb, path: target/pm.duckdb}\n"
        f'  warehouse: {{type: postgres, dsn: "{postgres_dsn}"}}\n'
    )


def _same(x: object, y: object) -> bool:
    if isinstance(x, float) and isinstance(y, float):
        return (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=1e-15)
    return x == y


def test_remainders_and_logarithms_match_on_both_engines(tmp_path: Path, postgres_dsn: str) -> None:
    root = write_project(
        tmp_path, {"data/s.csv": DATA, "features/f.yml": FEATURES}, _project_yml(postgres_dsn)
    )
    datasets = []
    for target in ("local", "warehouse"):
        result = runner.invoke(app, ["run", "--project-dir", str(root), "--target", target])
        assert result.exit_code == 0, result.output
        parquet = root / "target" / "datasets" / "m.parquet"
        datasets.append(duckdb.sql(f"select {', '.join(COLUMNS)} from '{parquet}'").fetchall())
    duck, pg = datasets
    for row_duck, row_pg in zip(duck, pg, strict=True):
        assert all(_same(x, y) for x, y in zip(row_duck, row_pg, strict=True)), (row_duck, row_pg)
    m, m2, m3, m4, l10, l2, ln1, lg, sq, sa = zip(*duck, strict=True)
    assert m[0] == -1.5 and m2[0] == -1.5 and m3[0] == 1 and m4[0] == 0.5  # the dividend's sign
    assert m[1] is None  # % 0 is NULL, as / 0
    assert math.isnan(l10[1]) and math.isnan(ln1[1]) and math.isnan(sq[1])  # of -7
    assert l10[2] == -math.inf and ln1[2] == -math.inf and sq[2] == 0.0  # of 0
    assert l2[2] == -2.0 and lg[0] != lg[0]  # log2(0.25); log(-7.5) is NaN
    assert l10[3] == math.log10(3) and sa[5] == math.inf


def test_a_logarithm_to_a_base_read_from_data(tmp_path: Path, postgres_dsn: str) -> None:
    """log(b, x) with b from a column: PostgreSQL raised at b <= 0 and b = 1."""
    features = """
sources:
  - {name: s, file: data/s.csv}
feature_views:
  - name: v
    source: s
    entities: [id]
    features:
      id: {type: int32}
      b: {type: float}
      lb: {expression: "log(b, 8)"}
models:
  - {name: m, features: [v:lb], spine: s}
"""
    data = "id,b\n1,2\n2,0\n3,-2\n4,1\n"
    files = {"data/s.csv": data, "features/f.yml": features}
    root = write_project(tmp_path, files, _project_yml(postgres_dsn))
    result = runner.invoke(app, ["run", "--project-dir", str(root), "--target", "warehouse"])
    assert result.exit_code == 0, result.output
    parquet = root / "target" / "datasets" / "m.parquet"
    rows = duckdb.sql(f"select lb from '{parquet}' order by id").fetchall()
    assert rows[0][0] == pytest.approx(3.0)
    assert rows[1:] == [(None,), (None,), (None,)]  # no base: NULL, not an error
