"""Each DSL operator and method becomes the expected canonical DuckDB SQL."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import sqlglot

from aligned_cli.core.ir import FeatureView
from aligned_cli.dsl import Bool, FileSource, Float, Int32, String, Timestamp, feature_view
from aligned_cli.dsl.views import view_decl
from aligned_cli.errors import ProjectError

CASES: list[tuple[str, Callable[[Any], Any], str]] = [
    ("add", lambda v: v.a + v.b, "a + b"),
    ("radd", lambda v: 1 + v.a, "1 + a"),
    ("sub", lambda v: v.a - 2.5, "a - 2.5"),
    ("rsub", lambda v: 10 - v.a, "10 - a"),
    ("mul", lambda v: v.a * v.b, "a * b"),
    ("div", lambda v: v.a / v.b, "a / b"),
    ("rdiv", lambda v: 1 / v.a, "1 / a"),
    ("floordiv", lambda v: v.a // 2, "a // 2"),
    ("mod", lambda v: v.a % 3, "a % 3"),
    ("neg", lambda v: -v.a, "-a"),
    ("chain keeps minimal parentheses", lambda v: v.a + v.b + 1, "a + b + 1"),
    ("precedence needs parentheses", lambda v: (v.a + v.b) * 2, "(a + b) * 2"),
    ("right operand of minus", lambda v: v.a - (v.b - 1), "a - (b - 1)"),
    ("gt", lambda v: v.a > 1, "a > 1"),
    ("ge", lambda v: v.a >= 1, "a >= 1"),
    ("lt", lambda v: v.a < v.b, "a < b"),
    ("le", lambda v: v.a <= 0, "a <= 0"),
    ("eq string", lambda v: v.s == "male", "s = 'male'"),
    ("ne", lambda v: v.s != "x", "s <> 'x'"),
    ("eq None is IS NULL", lambda v: v.s == None, "s IS NULL"),  # noqa: E711
    ("and", lambda v: (v.a > 1) & v.flag, "a > 1 AND flag"),
    ("or", lambda v: (v.a > 1) | (v.b < 0), "a > 1 OR b < 0"),
    ("and of or", lambda v: ((v.a > 1) | v.flag) & (v.b < 0), "(a > 1 OR flag) AND b < 0"),
    ("invert", lambda v: ~v.flag, "NOT flag"),
    ("invert comparison", lambda v: ~(v.a > 1), "NOT (a > 1)"),
    ("fill_na", lambda v: v.a.fill_na(0), "COALESCE(a, 0)"),
    ("fill_na with feature", lambda v: v.a.fill_na(v.b), "COALESCE(a, b)"),
    ("is_null", lambda v: v.a.is_null(), "a IS NULL"),
    ("not_null", lambda v: v.a.not_null(), "NOT a IS NULL"),
    (
        "ordinal_categories",
        lambda v: v.s.ordinal_categories(["lo", "hi"]),
        "CASE WHEN s = 'lo' THEN 0 WHEN s = 'hi' THEN 1 END",
    ),
    ("contains", lambda v: v.s.contains("Mr."), "STRPOS(s, 'Mr.') > 0"),
    ("clip", lambda v: v.a.clip(0, 10), "CASE WHEN a < 0 THEN 0 WHEN a > 10 THEN 10 ELSE a END"),
    ("clip lower only", lambda v: v.a.clip(lower=0), "CASE WHEN a < 0 THEN 0 ELSE a END"),
    ("log1p", lambda v: v.a.log1p(), "LN(1 + a)"),
    ("floor", lambda v: v.a.floor(), "FLOOR(a)"),
    ("ceil", lambda v: v.a.ceil(), "CEIL(a)"),
    ("round", lambda v: v.a.round(), "ROUND(a)"),
    ("round digits", lambda v: v.a.round(2), "ROUND(a, 2)"),
    ("abs", lambda v: v.a.abs(), "ABS(a)"),
    ("builtin abs", lambda v: abs(v.a), "ABS(a)"),
    ("lower", lambda v: v.s.lower(), "LOWER(s)"),
    ("upper", lambda v: v.s.upper(), "UPPER(s)"),
    ("str_len", lambda v: v.s.str_len(), "LENGTH(s)"),
    ("date_part", lambda v: v.ts.date_part("year"), "EXTRACT(YEAR FROM ts)"),
    ("year", lambda v: v.ts.year(), "EXTRACT(YEAR FROM ts)"),
    ("month", lambda v: v.ts.month(), "EXTRACT(MONTH FROM ts)"),
    ("day", lambda v: v.ts.day(), "EXTRACT(DAY FROM ts)"),
    ("hour", lambda v: v.ts.hour(), "EXTRACT(HOUR FROM ts)"),
    ("day_of_week", lambda v: v.ts.day_of_week(), "DATE_PART('dow', ts)"),
    ("day_of_year", lambda v: v.ts.date_part("day_of_year"), "DATE_PART('doy', ts)"),
    ("transform_sql", lambda v: Float().transform_sql("coalesce(a, 0) * 2"), "COALESCE(a, 0) * 2"),
    ("nested inline", lambda v: (v.a * 2).fill_na(0) > v.b, "COALESCE(a * 2, 0) > b"),
    ("string literal is escaped", lambda v: v.s == "O'Brien", "s = 'O''Brien'"),
    ("bool literal", lambda v: v.flag == True, "flag = TRUE"),  # noqa: E712
]


def declare(make: Callable[[Any], Any]) -> FeatureView:
    """A view with columns a, b, s, flag, ts and one derived feature `out`."""

    class Columns:
        a = Float()
        b = Int32()
        s = String()
        flag = Bool()
        ts = Timestamp()

    @feature_view(name="v", source=FileSource.csv_at("x.csv", name="x"))
    class View:
        key = Int32().as_entity()
        a = Columns.a
        b = Columns.b
        s = Columns.s
        flag = Columns.flag
        ts = Columns.ts
        out = make(Columns)

    decl = view_decl(View)
    assert decl is not None
    return decl.to_ir(lambda site: None)  # type: ignore[arg-type,return-value]


@pytest.mark.parametrize(("case", "make", "expected"), CASES, ids=[c[0] for c in CASES])
def test_operator_sql(case: str, make: Callable[[Any], Any], expected: str) -> None:
    view = declare(make)
    out = view.feature("out")
    assert out is not None
    assert out.expression == expected
    # The text is canonical: what sqlglot prints for the same SQL written in YAML.
    assert sqlglot.parse_one(expected, read="duckdb").sql(dialect="duckdb") == expected


def test_one_hot_encode_gives_one_bool_feature_per_value() -> None:
    @feature_view(name="people", source="people_csv")
    class People:
        person_id = Int32().as_entity()
        sex = String()
        is_male, is_female = sex.one_hot_encode(["male", "female"])

    decl = view_decl(People)
    assert decl is not None
    expressions = {f.name: f.expression for f in decl.features}
    assert expressions["is_male"] == "sex = 'male'"
    assert expressions["is_female"] == "sex = 'female'"


def test_unknown_date_part_is_a_project_error() -> None:
    with pytest.raises(ProjectError, match="unknown date part 'fortnight'"):
        Timestamp().date_part("fortnight")


def test_invalid_transform_sql_is_a_project_error() -> None:
    with pytest.raises(ProjectError, match="not a valid SQL expression"):
        Float().transform_sql("a +* (")


def test_transform_sql_takes_any_expression_that_is_no_statement() -> None:
    # AT TIME ZONE is no sqlglot Condition, and is a value all the same.
    Timestamp().transform_sql("ts AT TIME ZONE 'UTC'")
    Float().transform_sql("interval 1 day")


@pytest.mark.parametrize("text", ["a; drop table t", "drop table t", "select 1"])
def test_transform_sql_refuses_statements(text: str) -> None:
    with pytest.raises(ProjectError, match="must be one expression, not a query or statement"):
        Float().transform_sql(text)


def test_python_boolean_operators_are_refused() -> None:
    with pytest.raises(TypeError, match=re.escape("use & | ~")):
        _ = Float() and Float()


def test_non_finite_literal_is_refused() -> None:
    with pytest.raises(ProjectError, match="nan"):
        _ = Float() + float("nan")


def test_top_level_package_reexports_the_dsl() -> None:
    import aligned_cli
    from aligned_cli import dsl

    for name in ("feature_view", "model_contract", "FileSource", "Int32", "transform_sql"):
        assert getattr(aligned_cli, name) is getattr(dsl, name)


def test_json_at_names_the_manifest() -> None:
    assert FileSource.json_at("target/manifest.json").path == "target/manifest.json"
