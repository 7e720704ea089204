"""The SQL the DSL writes computes the right values on real DuckDB and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlglot

from aligned_cli.dsl import FileSource, Float, Int32, String, Timestamp, feature_view
from aligned_cli.dsl.views import view_decl

# (a, b, s, ts) rows; b is NULL in the second row.
ROWS = [
    (7.0, 2, "Mr. Smith", "2024-03-10 15:30:00"),  # a Sunday
    (-3.0, None, "mrs jones", "2023-12-31 23:00:00"),
]

CASES: list[tuple[str, Callable[[Any], Any], list[Any]]] = [
    ("precedence", lambda v: (v.a + v.b) * 2, [18.0, None]),
    ("minus of minus", lambda v: v.a - (v.b - 1), [6.0, None]),
    ("floordiv", lambda v: v.b // 2, [1, None]),
    ("mod", lambda v: v.b % 2, [0, None]),
    ("fill_na", lambda v: v.b.fill_na(-1), [2, -1]),
    ("clip keeps NULL", lambda v: v.b.fill_na(v.a).clip(0, 5), [2, 0]),
    ("clip NULL", lambda v: v.b.clip(0, 1), [1, None]),
    ("contains", lambda v: v.s.contains("Mr."), [True, False]),
    ("ordinal", lambda v: v.s.lower().ordinal_categories(["mrs jones"]), [None, 0]),
    ("not_null", lambda v: v.b.not_null(), [True, False]),
    ("and/or/not", lambda v: ~((v.a > 0) | (v.s == "x")) & v.b.is_null(), [False, True]),
    ("year", lambda v: v.ts.year(), [2024, 2023]),
    ("day_of_week (0 = Sunday)", lambda v: v.ts.day_of_week(), [0, 0]),
    ("day_of_year", lambda v: v.ts.date_part("day_of_year"), [70, 365]),
    ("month", lambda v: v.ts.month(), [3, 12]),
    ("str_len", lambda v: v.s.str_len(), [9, 9]),
    ("abs", lambda v: abs(v.a), [7.0, 3.0]),
]


def expression(make: Callable[[Any], Any]) -> str:
    class Columns:
        a = Float()
        b = Int32()
        s = String()
        ts = Timestamp()

    @feature_view(name="v", source=FileSource.csv_at("x.csv", name="x"))
    class View:
        a = Columns.a
        b = Columns.b
        s = Columns.s
        ts = Columns.ts
        out = make(Columns)

    decl = view_decl(View)
    assert decl is not None
    out = decl.features[-1]
    assert out.name == "out" and out.expression is not None
    return out.expression


def _select(text: str, dialect: str) -> str:
    query = sqlglot.select(sqlglot.parse_one(text, read="duckdb").as_("out")).from_("t")
    return query.order_by("i").sql(dialect=dialect)


def _values(value: Any) -> Any:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


@pytest.mark.parametrize(("case", "make", "expected"), CASES, ids=[c[0] for c in CASES])
def test_duckdb_values(case: str, make: Callable[[Any], Any], expected: list[Any]) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute("create table t (i int, a double, b int, s varchar, ts timestamp)")
    for i, row in enumerate(ROWS):
        con.execute("insert into t values (?, ?, ?, ?, ?)", [i, *row])
    got = [r[0] for r in con.execute(_select(expression(make), "duckdb")).fetchall()]
    assert [_values(v) for v in got] == [_values(v) for v in expected]


@pytest.mark.postgres
def test_postgres_values(postgres_dsn: str) -> None:
    import psycopg

    with psycopg.connect(postgres_dsn, autocommit=True) as con:
        con.execute("create table t (i int, a double precision, b int, s text, ts timestamp)")
        for i, row in enumerate(ROWS):
            con.execute("insert into t values (%s, %s, %s, %s, %s)", [i, *row])
        for case, make, expected in CASES:
            rows = con.execute(_select(expression(make), "postgres")).fetchall()
            got = [_values(r[0]) for r in rows]
            assert got == [_values(v) for v in expected], case
