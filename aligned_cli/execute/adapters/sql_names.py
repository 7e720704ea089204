"""Quoted SQL names and literals, built with sqlglot so nothing is pasted into SQL text.

sqlglot is imported on first use: a run that only copies compiled SQL into files
never needs it (and importing it costs ~0.1 s of every command's start-up).
"""

from __future__ import annotations

import uuid

TEMP_PREFIX = "__aligned_tmp_"


def temp_name() -> str:
    """A fresh name for a temporary table or file: `__aligned_tmp_<8 hex>`."""
    return f"{TEMP_PREFIX}{uuid.uuid4().hex[:8]}"


def ident(name: str, dialect: str) -> str:
    from sqlglot import exp

    return exp.to_identifier(name, quoted=True).sql(dialect=dialect)


def table_name(schema: str | None, name: str, dialect: str) -> str:
    """`"schema"."name"` (or `"name"` without a schema), quoted for `dialect`."""
    from sqlglot import exp

    return exp.table_(name, db=schema, quoted=True).sql(dialect=dialect)


def string_literal(value: str, dialect: str) -> str:
    from sqlglot import exp

    return exp.Literal.string(value).sql(dialect=dialect)
