"""Small sqlglot builders for derived features: columns, literals, operators.

sqlglot prints a hand-built tree as-is, without adding the parentheses operator
precedence needs, so `binary` adds them where (and only where) they are required.
That keeps the text identical to what sqlglot prints for the same SQL written in
YAML (`sibsp + parch + 1`, not `(sibsp + parch) + 1`).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlglot import exp

from aligned_cli.errors import ProjectError

# The dialect derived features are written in (SPEC §3.1): the project's `dialect`
# while aligned loads its Python feature files, else DuckDB (the default dialect).
_DIALECT: ContextVar[str] = ContextVar("aligned_dsl_dialect", default="duckdb")

# Binding strength of SQL operators (higher binds tighter); atoms are 10.
_PRECEDENCE: dict[type[exp.Expr], int] = {
    exp.Or: 1,
    exp.And: 2,
    exp.Not: 3,
    exp.EQ: 4,
    exp.NEQ: 4,
    exp.GT: 4,
    exp.GTE: 4,
    exp.LT: 4,
    exp.LTE: 4,
    exp.Is: 4,
    exp.Add: 5,
    exp.Sub: 5,
    exp.Mul: 6,
    exp.Div: 6,
    exp.IntDiv: 6,
    exp.Mod: 6,
    exp.Neg: 7,
}
_ATOM = 10
_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Is)
_LOWERCASE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def precedence(node: exp.Expr) -> int:
    return _PRECEDENCE.get(type(node), _ATOM)


def column(name: str) -> exp.Column:
    """A column of the view. Lower-case names stay unquoted (as sqlglot prints them
    from YAML; reserved words are quoted by the generator); others are quoted so
    their case survives on PostgreSQL."""
    return exp.column(name, quoted=not _LOWERCASE_NAME.match(name))


def literal(value: object) -> exp.Expr:
    """A Python value as a SQL literal; never pasted into SQL text."""
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | decimal.Decimal):
        return exp.Literal.number(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ProjectError(f"{value} cannot be used in a feature expression")
        return exp.Literal.number(value)
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, dt.datetime | dt.date):
        return exp.convert(value)
    raise ProjectError(
        f"a value of type {type(value).__name__} ({value!r}) cannot be used in a feature "
        "expression",
        hint="use a number, string, bool, date, datetime or None",
    )


def _wrap(node: exp.Expr, wrap: bool) -> exp.Expr:
    return exp.Paren(this=node) if wrap else node


def binary(kind: type[exp.Binary], left: exp.Expr, right: exp.Expr) -> exp.Expr:
    """`left <kind> right`, parenthesising operands that bind more loosely.

    Operators are left-associative; comparisons are not associative at all, so a
    comparison operand of a comparison is always parenthesised.
    """
    strength = _PRECEDENCE[kind]
    non_associative = issubclass(kind, _COMPARISONS)
    left_wraps = precedence(left) < strength or (non_associative and precedence(left) == strength)
    right_wraps = precedence(right) <= strength
    return kind(this=_wrap(left, left_wraps), expression=_wrap(right, right_wraps))


def negate(node: exp.Expr) -> exp.Expr:
    # `NOT x IS NULL` is how sqlglot prints `x IS NOT NULL`; keep that form.
    wraps = precedence(node) < _ATOM and not isinstance(node, exp.Is)
    return exp.Not(this=_wrap(node, wraps))


def minus(node: exp.Expr) -> exp.Expr:
    return exp.Neg(this=_wrap(node, precedence(node) < _ATOM))


def dialect() -> str:
    """The dialect `transform_sql` reads and `canonical` writes (see `writing_dialect`)."""
    return _DIALECT.get()


@contextmanager
def writing_dialect(name: str) -> Iterator[None]:
    """Derived features declared inside the block are SQL in dialect `name`."""
    token = _DIALECT.set(name)
    try:
        yield
    finally:
        _DIALECT.reset(token)


def canonical(node: exp.Expr) -> str:
    """The IR's form of a derived feature: SQL text in the project's dialect."""
    return node.sql(dialect=_DIALECT.get())
