"""The same datasets on Spark as on DuckDB where they used to differ: a view whose
aggregations carry constraints (its tests' SQL went out without Spark's rendering: a
syntax error at `AS MATERIALIZED`, so the view failed and its models were skipped),
day-of-week parts (Spark counts Sunday as 1), DuckDB's `week` and one-argument `log`
(base 10; Spark's LOG(x) is ln), logarithms of 0 and below (-inf / NaN, not NULL), and
time-zone-aware timestamps (Spark wrote INT96, read back as naive times)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from aligned_cli.cli.app import app

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SPARK_CONNECTION = '  spark: {type: spark, options: {master: "local[2]"}}\n'

runner = CliRunner()


def _with_spark(project: Path) -> Path:
    config = project / "aligned_project.yml"
    text = config.read_text()
    config.write_text(text.replace("connections:\n", "connections:\n" + SPARK_CONNECTION, 1))
    return project


def _run(project: Path, *args: str) -> str:
    result = runner.invoke(app, ["run", "--project-dir", str(project), *args])
    assert result.exit_code == 0, result.output
    return result.output


def _model_m_on_both(tmp_path: Path, features: str, data: Any) -> list[Any]:
    """Model `m`'s dataset of a project reading `data` as data/s.parquet, built on Spark
    and on DuckDB (in that order)."""
    datasets = []
    for engine in ("spark", "duckdb"):
        project = tmp_path / engine
        (project / "features").mkdir(parents=True)
        (project / "data").mkdir()
        (project / "aligned_project.yml").write_text(
            "name: p\nconnections:\n  local: {type: duckdb, path: target/p.duckdb}\n"
        )
        _with_spark(project)
        (project / "features" / "f.yml").write_text(features)
        pq.write_table(data, project / "data" / "s.parquet")
        _run(project, *(["--target", "spark"] if engine == "spark" else []))
        datasets.append(pq.read_table(project / "target" / "datasets" / "m.parquet"))
    return datasets


def _same(x: Any, y: Any) -> bool:
    if isinstance(x, float) and isinstance(y, float):
        return (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=1e-12)
    return bool(x == y)


@pytest.mark.spark
def test_aggregations_fixture_with_its_tests_on_spark_equals_duckdb(
    spark: Any, tmp_path: Path
) -> None:
    projects = {}
    for engine in ("spark", "duckdb"):
        project = tmp_path / engine
        shutil.copytree(FIXTURES / "aggregations", project, ignore=shutil.ignore_patterns("target"))
        projects[engine] = _with_spark(project)
    output = _run(projects["spark"], "--target", "spark")
    assert "ERROR" not in output and "SKIPPED" not in output.upper(), output
    _run(projects["duckdb"])
    datasets = sorted(p.name for p in (projects["duckdb"] / "target" / "datasets").iterdir())
    assert datasets
    for name in datasets:
        got = pq.read_table(projects["spark"] / "target" / "datasets" / name).to_pylist()
        expected = pq.read_table(projects["duckdb"] / "target" / "datasets" / name).to_pylist()
        assert len(got) == len(expected), name
        for row_got, row_expected in zip(got, expected, strict=True):
            assert row_got.keys() == row_expected.keys(), name
            assert all(_same(row_got[k], row_expected[k]) for k in row_got), (row_got, row_expected)


FEATURES = """
sources:
  - {name: s, file: data/s.parquet}
feature_views:
  - name: v
    source: s
    entities: [id]
    event_timestamp: ts
    features:
      id: {type: int64}
      ts: {type: timestamp}
      x: {type: float}
      dow: {expression: "dayofweek(ts)"}
      dow_part: {expression: "date_part('dow', ts)"}
      iso: {expression: "isodow(ts)"}
      wk: {expression: "week(ts)"}
      lg: {expression: "log(x)"}
      l2: {expression: "log2(x)"}
      ln1: {expression: "ln(x)"}
models:
  - {name: m, features: [v:ts, v:dow, v:dow_part, v:iso, v:wk, v:lg, v:l2, v:ln1], spine: s}
"""


@pytest.mark.spark
def test_date_parts_logarithms_and_instants_on_spark_equal_duckdb(
    spark: Any, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    import pyarrow as pa

    times = [datetime(2024, 1, d, 12, tzinfo=UTC) for d in (7, 8, 13, 14)]  # Sun, Mon, Sat, Sun
    data = pa.table(
        {
            "id": pa.array([1, 2, 3, 4], pa.int64()),
            "ts": pa.array(times, pa.timestamp("us", tz="UTC")),
            "x": pa.array([100.0, 0.0, -5.0, 8.0]),
        }
    )
    on_spark, on_duckdb = _model_m_on_both(tmp_path, FEATURES, data)
    assert on_spark.schema.field("ts").type == on_duckdb.schema.field("ts").type
    assert str(on_spark.schema.field("ts").type) == "timestamp[us, tz=UTC]"
    got, expected = on_spark.to_pylist(), on_duckdb.to_pylist()
    for row_got, row_expected in zip(got, expected, strict=True):
        assert all(_same(row_got[k], row_expected[k]) for k in row_got), (row_got, row_expected)
    assert [r["dow"] for r in expected] == [0, 1, 6, 0]
    assert [r["iso"] for r in expected] == [7, 1, 6, 7]
    assert expected[0]["lg"] == 2.0 and expected[1]["lg"] == -math.inf
    assert math.isnan(expected[2]["ln1"])


@pytest.mark.spark
def test_float_integer_division_past_the_bigint_range(spark: Any, tmp_path: Path) -> None:
    """`a // b` of floats truncates in DOUBLE: Spark's CAST to BIGINT failed at 1e20."""
    import pyarrow as pa

    features = """
sources:
  - {name: s, file: data/s.parquet}
feature_views:
  - name: v
    source: s
    entities: [id]
    features:
      id: {type: int64}
      a: {type: float}
      b: {type: float}
      q: {expression: "a // b"}
models:
  - {name: m, features: [v:q], spine: s}
"""
    data = pa.table({"id": [1, 2, 3], "a": [1e10, -7.5, 7.5], "b": [1e-10, 2.0, 0.0]})
    rows = [t.column("q").to_pylist() for t in _model_m_on_both(tmp_path, features, data)]
    assert rows[0] == rows[1] == [pytest.approx(1e20), -3.0, None]
