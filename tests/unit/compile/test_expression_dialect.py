"""Derived expressions are SQL in the project's dialect (SPEC §3.1), compiled per engine."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aligned_cli.compile.dialects import get_dialect
from aligned_cli.compile.expressions import (
    infer_type,
    parse_expression,
    portable_arithmetic,
    resolve_columns,
)
from aligned_cli.compile.views import resolve_project, view_query
from aligned_cli.core.ir import Feature, FeatureView, Project, Source, SourceRef
from aligned_cli.core.types import DataType
from aligned_cli.errors import ProjectError
from aligned_cli.graph.columns import FeatureInput, feature_inputs
from aligned_cli.online.transform import ViewTransformer
from aligned_cli.parse import load_project
from aligned_cli.parse.python_files import load_python_file

SCHEMA = {
    "ts": DataType.TIMESTAMP,
    "n": DataType.INT32,
    "m": DataType.INT32,
    "x": DataType.FLOAT,
    "f": DataType.FLOAT32,
    "s": DataType.STRING,
}
YEAR = "to_char(ts, 'YYYY')"  # PostgreSQL: the year; DuckDB (as sqlglot reads it): a cast


def _type(sql: str, dialect: str) -> DataType | None:
    tree = resolve_columns(parse_expression(sql, None, dialect=dialect), SCHEMA, sql, None)
    return infer_type(tree, SCHEMA, sql, None, dialect=dialect)


def test_one_text_means_what_it_means_in_its_dialect() -> None:
    postgres = parse_expression(YEAR, None, dialect="postgres")
    assert postgres.sql("postgres") == "TO_CHAR(ts, 'YYYY')"
    assert postgres.sql("duckdb") == "STRFTIME(ts, '%Y')"
    # The memo of parsed trees keeps the two readings of one text apart.
    assert parse_expression(YEAR, None).sql("duckdb") != postgres.sql("duckdb")
    assert parse_expression(YEAR, None, dialect="postgres").sql("duckdb") == "STRFTIME(ts, '%Y')"


def test_syntax_of_another_dialect_is_a_parse_error() -> None:
    assert parse_expression("n // 2", None).sql("duckdb") == "n // 2"
    with pytest.raises(ProjectError, match="cannot parse expression 'n // 2'"):
        parse_expression("n // 2", None, dialect="postgres")


def test_types_follow_the_dialects_rules() -> None:
    assert _type(YEAR, "postgres") == DataType.STRING
    assert _type("n / m", "duckdb") == DataType.FLOAT
    assert _type("n / m", "postgres") == DataType.INT64  # PostgreSQL divides integers
    # Declared types are ours whatever the dialect (PostgreSQL's FLOAT is a double).
    assert _type("f", "postgres") == DataType.FLOAT32
    assert _type("f * 2", "postgres") == DataType.FLOAT32


def test_type_mismatches_are_named_in_the_dialect_written() -> None:
    with pytest.raises(ProjectError) as caught:
        _type("s::text in (1, 2)", "postgres")
    text = str(caught.value)
    assert "s::text in (1, 2)" in text and 'CAST("s" AS TEXT) IN (1, 2)' in text


@pytest.mark.parametrize(
    ("sql", "duckdb", "postgres"),
    [
        # integers: PostgreSQL's `/` truncates, so DuckDB must too
        ("n / m", "n // NULLIF(m, 0)", "DIV(n, NULLIF(m, 0))"),
        ("n / 2 + 1", "n // 2 + 1", "DIV(n, 2) + 1"),
        # a float operand divides exactly on both
        ("x / m", "x / NULLIF(m, 0)", "x / NULLIF(m, 0)"),
    ],
)
def test_postgres_division_of_integers_truncates_on_every_engine(
    sql: str, duckdb: str, postgres: str
) -> None:
    tree = parse_expression(sql, None, dialect="postgres")
    portable = portable_arithmetic(tree, SCHEMA, sql, None, dialect="postgres")
    assert portable.sql("duckdb") == duckdb
    assert portable.sql("postgres") == postgres


def test_duckdb_division_is_left_exact() -> None:
    portable = portable_arithmetic(parse_expression("n / m", None), SCHEMA, "n / m", None)
    assert portable.sql("duckdb") == "n / NULLIF(m, 0)"


def _project(dialect: str) -> Project:
    view = FeatureView(
        name="v",
        source=SourceRef(kind="source", name="s"),
        entities=["k"],
        features=[
            Feature(name="k", dtype=DataType.INT64),
            Feature(name="ts", dtype=DataType.TIMESTAMP),
            Feature(name="year", expression=YEAR),
        ],
    )
    return Project(
        name="p",
        root="/tmp",
        dialect=dialect,
        sources={"s": Source(name="s", table="t", mapping={"k": "k", "ts": "ts"})},
        views={"v": view},
    )


def test_a_postgres_project_compiles_its_expressions_for_every_engine() -> None:
    project = resolve_project(_project("postgres"))
    year = project.views["v"].feature("year")
    assert year is not None and year.dtype == DataType.STRING
    duckdb, postgres = get_dialect("duckdb"), get_dialect("postgres")
    assert "STRFTIME(" in duckdb.sql(view_query(project, "v", duckdb))
    assert "TO_CHAR(" in postgres.sql(view_query(project, "v", postgres))
    # Lineage reads the same columns.
    inputs = feature_inputs(project, project.views["v"], year)
    assert inputs == [FeatureInput("v", "ts")]


def test_pushed_rows_get_derived_features_in_the_projects_dialect(tmp_path: Path) -> None:
    # /push computes derived features by the view's own compiled SQL (SPEC §10).
    rows = [{"k": 1, "ts": datetime(2024, 3, 5, 10, tzinfo=UTC)}]
    years = {}
    for dialect in ("postgres", "duckdb"):
        transformer = ViewTransformer(_project(dialect), tmp_path)
        try:
            years[dialect] = transformer.transform("v", rows).column("year").to_pylist()
        finally:
            transformer.close()
    assert years["postgres"] == ["2024"]
    assert years["duckdb"][0].startswith("2024-03-05")  # sqlglot's DuckDB reading: a cast


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


PY_FEATURES = """
from aligned_cli import FileSource, Int64, Int32, String, Timestamp, feature_view

@feature_view(name="py", source=FileSource.csv_at("data/s.csv", name="py_csv"))
class Py:
    k = Int64().as_entity()
    ts = Timestamp()
    n = Int32()
    year = String().transform_sql("to_char(ts, 'YYYY')")
    half = n // 2
"""


def test_python_features_are_sql_in_the_projects_dialect(tmp_path: Path) -> None:
    _write(tmp_path, {"features/f.py": PY_FEATURES})
    path = tmp_path / "features" / "f.py"
    [postgres] = load_python_file(path, tmp_path, dialect="postgres").views
    assert postgres.feature("year").expression == "TO_CHAR(ts, 'YYYY')"  # type: ignore[union-attr]
    assert postgres.feature("half").expression == "DIV(n, 2)"  # type: ignore[union-attr]
    [duckdb] = load_python_file(path, tmp_path).views
    assert duckdb.feature("half").expression == "n // 2"  # type: ignore[union-attr]


def test_a_project_declares_the_dialect_of_its_yaml_and_python_features(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "aligned_project.yml": "name: p\ndialect: postgres\n",
            "data/s.csv": "k,ts,n\n1,2024-03-05 10:00:00,7\n",
            "features/f.py": PY_FEATURES,
            "features/f.yml": """
                sources: [{name: s, file: data/s.csv}]
                feature_views:
                  - name: v
                    source: s
                    entities: [k]
                    features:
                      k: {type: int64}
                      ts: {type: timestamp}
                      year: {expression: "  to_char(ts, 'YYYY')\\n"}
            """,
        },
    )
    project = load_project(tmp_path)
    assert project.dialect == "postgres"
    year = project.views["v"].feature("year")
    # YAML expressions are kept as written (stripped): errors name them so.
    assert year is not None and year.expression == YEAR
    resolved = resolve_project(project)
    for view in ("v", "py"):
        typed = resolved.views[view].feature("year")
        assert typed is not None and typed.dtype == DataType.STRING
