"""Logarithms and square roots that every engine computes as DuckDB does.

DuckDB gives -inf for a logarithm of 0 and NaN for one of a negative number (and for
the square root of one); PostgreSQL raises an error there and Spark gives NULL. Each
engine's form is the same CASE around its own functions.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp


def real_math(
    node: exp.Ln | exp.Log | exp.Sqrt,
    double: exp.DataType,
    *,
    base_ten: Callable[[exp.Expr], exp.Expr],
) -> exp.Expr:
    """`node` computed on `double`s: its value for a positive argument, -inf (a
    logarithm) or 0 (a square root) at 0, NaN below; NULL stays NULL. `base_ten(x)`
    is the engine's base-10 logarithm of `x`; another base is ln(x) / ln(b), NULL for
    a base read from data that is <= 0 or 1 (where engines raise an error)."""

    def real(value: exp.Expr) -> exp.Expr:
        return exp.Cast(this=value.copy(), to=double.copy())

    def special(text: str) -> exp.Expr:
        return exp.Cast(this=exp.Literal.string(text), to=double.copy())

    base: exp.Expr | None = None
    if isinstance(node, exp.Log) and node.expression is not None:
        base, x = node.this, real(node.expression)
    else:
        x = real(node.this)  # a one-argument log: base 10, as DuckDB's
    zero = exp.Literal.number(0)
    value: exp.Expr
    at_zero: exp.Expr = special("-Infinity")  # a logarithm's
    if isinstance(node, exp.Sqrt):
        value, at_zero = exp.Sqrt(this=x), exp.Literal.number(0)
    elif isinstance(node, exp.Ln):
        value = exp.Ln(this=x)
    elif base is None or (isinstance(base, exp.Literal) and base.name == "10"):
        value = base_ten(x)
    else:
        divisor: exp.Expr = exp.Ln(this=real(base))
        if not (isinstance(base, exp.Literal) and base.is_number and float(base.name) > 0):
            positive = exp.GT(this=real(base), expression=zero)
            guarded = exp.Case(ifs=[exp.If(this=positive, true=divisor)])
            divisor = exp.Nullif(this=guarded, expression=zero.copy())
        value = exp.Div(this=exp.Ln(this=x.copy()), expression=divisor)
    return exp.Case(
        ifs=[
            exp.If(this=exp.GT(this=x.copy(), expression=zero), true=value),
            exp.If(this=exp.EQ(this=x.copy(), expression=zero), true=at_zero),
            exp.If(this=exp.LT(this=x.copy(), expression=zero), true=special("NaN")),
        ]
    )
