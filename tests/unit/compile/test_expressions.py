"""Derived expression errors name the expression, the problem and the location."""

from __future__ import annotations

import pytest

from aligned_cli.compile.expressions import (
    expression_columns,
    infer_type,
    parse_expression,
    resolve_columns,
)
from aligned_cli.compile.views import resolve_project
from aligned_cli.core.ir import Feature, FeatureView, Project, Source, SourceRef
from aligned_cli.core.location import Location
from aligned_cli.core.types import DataType
from aligned_cli.errors import ProjectError

WHERE = Location(file="features/titanic.yml", line=12, col=7)
SCHEMA = {"sex": DataType.STRING, "age": DataType.FLOAT, "sibsp": DataType.INT32, "parch": None}


def _resolve(sql: str) -> DataType | None:
    tree = resolve_columns(parse_expression(sql, WHERE), SCHEMA, sql, WHERE)
    return infer_type(tree, SCHEMA, sql, WHERE)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("sex = 'male'", DataType.BOOL),
        ("coalesce(age, 0)", DataType.FLOAT),
        ("sibsp + 1", DataType.INT32),
        ("Age * 2", DataType.FLOAT),  # DuckDB resolves names case-insensitively
        ("sibsp + parch + 1", None),  # raw source column: type unknown
    ],
)
def test_types_are_inferred(sql: str, expected: DataType | None) -> None:
    assert _resolve(sql) == expected


def test_syntax_error_names_location_and_expression() -> None:
    with pytest.raises(ProjectError) as caught:
        _resolve("age +* 2")
    text = str(caught.value)
    assert text.startswith("features/titanic.yml:12:7: ")
    assert "age +* 2" in text


def test_unknown_column_suggests_closest_name() -> None:
    with pytest.raises(ProjectError) as caught:
        _resolve("coalesce(agee, 0)")
    text = str(caught.value)
    assert "features/titanic.yml:12:7" in text
    assert "'agee'" in text and "coalesce(agee, 0)" in text
    assert "did you mean 'age'" in text


@pytest.mark.parametrize(
    "sql",
    [
        "sex + 1",
        "sex = 1",
        "age > 3 and sex",
        "coalesce(sex, 0)",
        # IN lists and BETWEEN bounds are compared with their operand (SPEC §9)
        "sex in (1, 2)",
        "sex not in (1, 2)",
        "age in (sex, 2)",
        "sex between 1 and 2",
        "age between 0 and sex",
        "sex not between 1 and 2",
        # math functions take numbers
        "abs(sex)",
        "round(age, sex)",
        "floor(sex) + 1",
        "ceil(sex)",
        "ln(sex)",
        "log(sex)",
        "log(2, sex)",
        "sqrt(sex)",
        "exp(sex)",
        "power(sex, 2)",
        "sign(sex)",
        "-sex",
    ],
)
def test_type_mismatch_names_expression_and_types(sql: str) -> None:
    with pytest.raises(ProjectError) as caught:
        _resolve(sql)
    text = str(caught.value)
    assert "features/titanic.yml:12:7" in text
    assert "type mismatch" in text and sql in text and "string" in text


@pytest.mark.parametrize(
    ("sql", "hint"),
    [("abs(sex)", "ABS takes numbers"), ("sex in (1, 2)", "cast one side")],
)
def test_type_mismatch_hints_at_a_cast(sql: str, hint: str) -> None:
    with pytest.raises(ProjectError) as caught:
        _resolve(sql)
    assert hint in str(caught.value)


def test_a_long_in_list_names_the_first_clash_only() -> None:
    sql = "sex in ('a', 'b', 3, 4, 5, 6)"
    with pytest.raises(ProjectError) as caught:
        _resolve(sql)
    assert '("sex" is string, 3 is int32)' in str(caught.value)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        # NULL goes with anything
        ("sex in ('male', null)", DataType.BOOL),
        ("abs(null)", None),
        ("sibsp between null and 3", DataType.BOOL),
        # numbers of different widths, and numbers with booleans, compare
        ("age in (1, 2.5)", DataType.BOOL),
        ("sibsp between 0 and age", DataType.BOOL),
        ("sibsp in (age, 1)", DataType.BOOL),
        # strings with strings
        ("sex in ('male', 'female')", DataType.BOOL),
        ("sex between 'a' and 'm'", DataType.BOOL),
        ("sex in (sex, 'x')", DataType.BOOL),
        # a string literal may stand for a number, a date or a timestamp
        ("age in ('1', '2')", DataType.BOOL),
        ("born between '2000-01-01' and '2010-12-31'", DataType.BOOL),
        ("seen in ('2024-01-01 10:00:00')", DataType.BOOL),
        ("sqrt('4')", DataType.FLOAT),
        # dates compare with timestamps
        ("born between seen and seen", DataType.BOOL),
        # math functions of numbers
        ("abs(sibsp)", DataType.INT32),
        ("round(age, 1)", DataType.FLOAT),
        ("floor(age) + ceil(age)", DataType.FLOAT),
        ("ln(age) + log(2, age) + sqrt(sibsp) + exp(1) + power(age, 2)", DataType.FLOAT),
        ("sign(sibsp)", DataType.INT32),
        ("abs(parch)", None),  # unknown type: never a mismatch
        ("-age", DataType.FLOAT),
    ],
)
def test_legal_sql_is_not_a_type_mismatch(sql: str, expected: DataType | None) -> None:
    schema = {**SCHEMA, "born": DataType.DATE, "seen": DataType.TIMESTAMP}
    tree = resolve_columns(parse_expression(sql, WHERE), schema, sql, WHERE)
    assert infer_type(tree, schema, sql, WHERE) == expected


@pytest.mark.parametrize("sql", ["select 1", "count(*)", "sum(age) over ()", "age a"])
def test_non_row_expressions_are_refused(sql: str) -> None:
    with pytest.raises(ProjectError, match=r"features/titanic\.yml:12:7"):
        parse_expression(sql, WHERE)


@pytest.mark.parametrize(
    "sql", ["x; drop table t", "drop table t", "insert into t values (1)", "set a = 1"]
)
def test_statements_are_refused(sql: str) -> None:
    with pytest.raises(ProjectError, match="derived feature is one SQL expression"):
        parse_expression(sql, WHERE)


@pytest.mark.parametrize(
    "sql", ["ts AT TIME ZONE 'Europe/Oslo'", "interval 1 day", "[1, 2]", "x::int", "x -> 'a'"]
)
def test_expressions_of_every_shape_parse(sql: str) -> None:
    parse_expression(sql, WHERE)


def test_expression_columns_in_first_use_order() -> None:
    assert expression_columns(parse_expression("b + a * b + c", None)) == ["b", "a", "c"]


def _project(*features: Feature, ttl: int | None = None) -> Project:
    view = FeatureView(
        name="v",
        source=SourceRef(kind="source", name="s"),
        entities=["id"],
        ttl=ttl,
        features=[Feature(name="x", dtype=DataType.INT32), *features],
    )
    return Project(
        name="p", root="/tmp", sources={"s": Source(name="s", table="t")}, views={"v": view}
    )


def test_derived_features_use_each_other_and_cycles_are_named() -> None:
    ok = resolve_project(
        _project(Feature(name="b", expression="a * 2"), Feature(name="a", expression="x + 1"))
    )
    assert ok.views["v"].feature("b").dtype == DataType.INT32  # type: ignore[union-attr]
    with pytest.raises(ProjectError, match=r"cycle: (a -> b -> a|b -> a -> b)"):
        resolve_project(
            _project(Feature(name="a", expression="b + 1"), Feature(name="b", expression="a + 1"))
        )


def test_ttl_without_event_timestamp_is_an_error() -> None:
    with pytest.raises(ProjectError, match="ttl but no event_timestamp"):
        resolve_project(_project(ttl=60))
