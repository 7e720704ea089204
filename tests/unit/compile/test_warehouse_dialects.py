"""BigQuery, Snowflake and Trino (compile-only): forms that mean what DuckDB computes."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot

from aligned_cli.compile import compile_model_sql
from aligned_cli.parse import load_project

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
WAREHOUSES = ["bigquery", "snowflake", "trino"]


def _rides_model(dialect: str) -> str:
    """The aggregations fixture's model (window aggregations), its spine's columns known."""
    project = load_project(FIXTURES / "aggregations")
    header = (FIXTURES / "aggregations" / "data" / "requests.csv").read_text().splitlines()[0]
    return compile_model_sql(project, "eta", dialect, spine_columns=header.split(","))


@pytest.mark.parametrize("dialect", WAREHOUSES)
def test_window_aggregations_write_plain_ctes(dialect: str) -> None:
    # `AS MATERIALIZED` is PostgreSQL/DuckDB syntax: none of these grammars has it.
    sql = _rides_model(dialect)
    assert "MATERIALIZED" not in sql.upper()
    sqlglot.parse_one(sql, read=dialect)


@pytest.mark.parametrize("dialect", ["duckdb", "postgres"])
def test_window_aggregations_keep_materialized_spine(dialect: str) -> None:
    sql = _rides_model(dialect)
    assert '"__aligned_spine" AS MATERIALIZED' in sql
