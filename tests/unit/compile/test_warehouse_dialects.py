"""BigQuery, Snowflake and Trino (compile-only): forms that mean what DuckDB computes."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from aligned_cli.compile import compile_model_sql, compile_view_sql
from aligned_cli.core.ir import Feature, FeatureView, Project, Source, SourceRef
from aligned_cli.core.types import DataType
from aligned_cli.errors import ProjectError
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


def _events_project(expressions: dict[str, str]) -> Project:
    """One temporal view over a file source: `id`, `ts`, `x` declared, `note` not."""
    view = FeatureView(
        name="events",
        source=SourceRef(kind="source", name="raw"),
        entities=["id"],
        event_timestamp="ts",
        features=[
            Feature(name="id", dtype=DataType.INT64),
            Feature(name="ts", dtype=DataType.TIMESTAMP),
            Feature(name="x", dtype=DataType.FLOAT),
            *(Feature(name=n, expression=e) for n, e in expressions.items()),
        ],
    )
    return Project(
        name="events",
        root="/tmp",
        sources={"raw": Source(name="raw", file="data/raw.parquet")},
        views={"events": view},
    )


def _feature_sql(dialect: str, expression: str) -> str:
    """The SQL computing derived feature `f = expression`, as `dialect` re-reads it."""
    sql = compile_view_sql(_events_project({"f": expression}), "events", dialect)
    select = sqlglot.parse_one(sql, read=dialect)
    assert isinstance(select, exp.Select)
    (item,) = [e for e in select.expressions if e.alias_or_name == "f"]
    return item.sql(dialect)


SUNDAY_ZERO = [
    "dayofweek(ts)",
    "date_part('dow', ts)",
    "extract(dow from ts)",
    "extract(dayofweek from ts)",
    "date_part('weekday', ts)",
]
ISO = ["isodow(ts)", "date_part('isodow', ts)", "extract(isodow from ts)"]
DAY_FORMS = {
    # DuckDB: 0 = Sunday .. 6 = Saturday; isodow 1 = Monday .. 7 = Sunday.
    # BigQuery's EXTRACT(DAYOFWEEK) is 1 = Sunday .. 7 = Saturday.
    "bigquery": (
        "CAST((EXTRACT(DAYOFWEEK FROM `row`.`ts`) - 1) AS INT64) AS `f`",
        "CAST((MOD(EXTRACT(DAYOFWEEK FROM `row`.`ts`) + 5, 7) + 1) AS INT64) AS `f`",
    ),
    # DAYOFWEEKISO does not depend on the session's WEEK_START (DAYOFWEEK does).
    "snowflake": (
        'CAST((DAYOFWEEKISO("row"."ts") % 7) AS BIGINT) AS "f"',
        'CAST((DAYOFWEEKISO("row"."ts")) AS BIGINT) AS "f"',
    ),
    # Trino's day_of_week is ISO.
    "trino": (
        'CAST((DAY_OF_WEEK("row"."ts") % 7) AS BIGINT) AS "f"',
        'CAST((DAY_OF_WEEK("row"."ts")) AS BIGINT) AS "f"',
    ),
}


@pytest.mark.parametrize("dialect", WAREHOUSES)
@pytest.mark.parametrize("expression", SUNDAY_ZERO)
def test_day_of_week_counts_from_sunday_zero(dialect: str, expression: str) -> None:
    assert _feature_sql(dialect, expression) == DAY_FORMS[dialect][0]


@pytest.mark.parametrize("dialect", WAREHOUSES)
@pytest.mark.parametrize("expression", ISO)
def test_iso_day_of_week_counts_from_monday_one(dialect: str, expression: str) -> None:
    assert _feature_sql(dialect, expression) == DAY_FORMS[dialect][1]


@pytest.mark.parametrize("dialect", WAREHOUSES)
def test_day_of_week_nested_is_rewritten_once(dialect: str) -> None:
    sql = _feature_sql(dialect, "dayofweek(ts) + isodow(ts) * 10")
    assert sql.count("- 1") == (1 if dialect == "bigquery" else 0)
    assert sql.upper().count("DAYOFWEEK") + sql.upper().count("DAY_OF_WEEK") == 2


LOG10 = {
    # BigQuery: LOG(X, base); Snowflake: LOG(base, X); Trino: log(b, x).
    "bigquery": "CAST(LOG(`row`.`x`, 10) AS FLOAT64) AS `f`",
    "snowflake": 'CAST(LOG(10, "row"."x") AS DOUBLE) AS "f"',
    "trino": 'CAST(LOG(10, "row"."x") AS DOUBLE) AS "f"',
}


@pytest.mark.parametrize("dialect", WAREHOUSES)
@pytest.mark.parametrize("expression", ["log(10, x)", "log10(x)"])
def test_base_ten_log_keeps_its_base(dialect: str, expression: str) -> None:
    assert _feature_sql(dialect, expression) == LOG10[dialect]


@pytest.mark.parametrize("dialect", WAREHOUSES)
def test_spine_numbered_by_its_columns(dialect: str) -> None:
    # Read by the output and by each join (joined back by row number), the spine must
    # be numbered alike in every read: by its own columns, not its scan.
    select = sqlglot.parse_one(_rides_model(dialect), read=dialect)
    numbering = [
        w
        for w in select.find_all(exp.Window)
        if isinstance(w.this, exp.RowNumber) and not w.args.get("partition_by")
    ]
    assert numbering
    for window in numbering:
        order = [o.this.name for o in window.args["order"].expressions]
        assert order == ["driver_id", "event_timestamp", "label"]


def test_snowflake_row_numbers_always_ordered() -> None:
    select = sqlglot.parse_one(_rides_model("snowflake"), read="snowflake")
    windows = [w for w in select.find_all(exp.Window) if isinstance(w.this, exp.RowNumber)]
    assert windows
    assert all(w.args.get("order") for w in windows)


def test_bigquery_unknown_spine_numbered_by_whole_row() -> None:
    sql = compile_model_sql(load_project(FIXTURES / "aggregations"), "eta", "bigquery")
    assert "ROW_NUMBER() OVER (ORDER BY TO_JSON_STRING(`__aligned_spine_source`))" in sql


def test_snowflake_unknown_spine_is_a_compile_error() -> None:
    with pytest.raises(ProjectError, match="cannot express a spine whose columns are unknown"):
        compile_model_sql(load_project(FIXTURES / "aggregations"), "eta", "snowflake")


# A column that is the whole expression has no parent to be replaced in: it was left
# unquoted (`X` read as `x`'s column only by luck), and a feature that is another
# derived feature's name alone read a column that does not exist.
@pytest.mark.parametrize("dialect", WAREHOUSES)
def test_bare_column_expression_is_quoted(dialect: str) -> None:
    quote = "`" if dialect == "bigquery" else '"'
    row_x = f"{quote}row{quote}.{quote}x{quote}"
    assert f"CAST({row_x} AS" in _feature_sql(dialect, "X")


def test_expression_naming_a_derived_feature_is_inlined() -> None:
    project = _events_project({"a": "x * 2", "b": "a"})
    sql = compile_view_sql(project, "events", "snowflake")
    b = sql[: sql.index('AS "b"')].rsplit("CAST(", 1)[1]  # b's value, as compiled
    assert '"row"."x" * 2' in b and '"a"' not in b
