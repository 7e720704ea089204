"""Derived arithmetic that every engine computes alike (`portable_arithmetic`)."""

from __future__ import annotations

import pytest

from aligned_cli.compile.expressions import parse_expression, portable_arithmetic
from aligned_cli.core.types import DataType

SCHEMA = {"a": DataType.INT64, "b": DataType.INT32, "x": DataType.FLOAT, "y": DataType.FLOAT}


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("a / b", "a / NULLIF(b, 0)"),
        ("a // b", "a // NULLIF(b, 0)"),
        ("a % b", "a % NULLIF(b, 0)"),
        ("x / 2", "x / 2"),  # a non-zero literal needs no guard
        ("x / nullif(y, 0)", "x / NULLIF(y, 0)"),  # already guarded
        ("a // 2", "a // 2"),  # integers: the engines' integer division
        ("x // 2", "TRUNC(x / 2)"),  # a float operand: truncate toward zero
        ("a // y", "TRUNC(a / NULLIF(y, 0))"),
        ("(x // y) // b + 1", "TRUNC((TRUNC(x / NULLIF(y, 0))) / NULLIF(b, 0)) + 1"),
        ("coalesce(a, 0) + 1", "COALESCE(a, 0) + 1"),
    ],
)
def test_divisions_are_rewritten_alike_for_every_engine(sql: str, expected: str) -> None:
    parsed = parse_expression(sql, None)
    assert portable_arithmetic(parsed, SCHEMA, sql, None).sql("duckdb") == expected
    assert parsed.sql("duckdb") == parse_expression(sql, None).sql("duckdb")  # not changed
