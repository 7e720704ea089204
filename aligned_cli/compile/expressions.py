"""Derived feature expressions: parse, resolve their columns, infer their types.

A derived feature is a SQL expression over its own view's row (SPEC §3.1), written
in the project's dialect (`Project.dialect`, default DuckDB). It is parsed once with
sqlglot in that dialect, every column it names is resolved against the view's schema
(and rewritten as a quoted identifier with the schema's spelling), and its type is
inferred with sqlglot's type annotator (that dialect's typing rules) from the
declared types; the tree is then generated for each target dialect. Mistakes become
ProjectErrors at the feature's location.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect as SqlglotDialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.expressions import DType as T
from sqlglot.optimizer.annotate_types import TypeAnnotator, annotate_types
from sqlglot.schema import MappingSchema

from aligned_cli.compile.literal_types import SUPPORTED_CASTS, text_fits, unsupported_cast
from aligned_cli.core.location import Location
from aligned_cli.core.sql_errors import parse_message
from aligned_cli.core.statements import holds_statement
from aligned_cli.core.types import INTEGER_TYPES, DataType
from aligned_cli.errors import ProjectError, did_you_mean

# The dialect derived expressions are written in unless the project says otherwise.
DEFAULT_DIALECT = "duckdb"
# How `_TO_SQLGLOT` spells our types, and how DuckDB's DESCRIBE spells a column's type.
_TYPE_DIALECT = "duckdb"
_ROW = "__row"  # the table name the annotator sees; never emitted


_TO_SQLGLOT: dict[DataType, str] = {
    DataType.BOOL: "BOOLEAN",
    DataType.INT8: "TINYINT",
    DataType.INT16: "SMALLINT",
    DataType.INT32: "INT",
    DataType.INT64: "BIGINT",
    DataType.FLOAT: "DOUBLE",
    DataType.FLOAT32: "FLOAT",
    DataType.STRING: "VARCHAR",
    DataType.DATE: "DATE",
    DataType.TIMESTAMP: "TIMESTAMPTZ",
    DataType.JSON: "JSON",
    DataType.EMBEDDING: "DOUBLE[]",
}

_FROM_SQLGLOT: dict[T, DataType] = {
    T.BOOLEAN: DataType.BOOL,
    T.TINYINT: DataType.INT8,
    T.UTINYINT: DataType.INT16,
    T.SMALLINT: DataType.INT16,
    T.USMALLINT: DataType.INT32,
    T.INT: DataType.INT32,
    T.UINT: DataType.INT64,
    T.BIGINT: DataType.INT64,
    T.UBIGINT: DataType.INT64,
    T.INT128: DataType.INT64,
    T.DOUBLE: DataType.FLOAT,
    T.DECIMAL: DataType.FLOAT,
    T.FLOAT: DataType.FLOAT32,
    T.TEXT: DataType.STRING,
    T.VARCHAR: DataType.STRING,
    T.CHAR: DataType.STRING,
    T.DATE: DataType.DATE,
    T.TIMESTAMP: DataType.TIMESTAMP,
    # DuckDB's plain TIMESTAMP (sqlglot reads it as NTZ) and its seconds/ms/ns forms
    # (parquet written by pandas is in ns): the engine compares them all as instants.
    T.TIMESTAMPNTZ: DataType.TIMESTAMP,
    T.TIMESTAMP_S: DataType.TIMESTAMP,
    T.TIMESTAMP_MS: DataType.TIMESTAMP,
    T.TIMESTAMP_NS: DataType.TIMESTAMP,
    T.TIMESTAMPTZ: DataType.TIMESTAMP,
    T.JSON: DataType.JSON,
    T.JSONB: DataType.JSON,  # PostgreSQL's, which aligned's json is there
}

_K = TypeVar("_K")
_V = TypeVar("_V")
_NUMERIC = exp.DataType.NUMERIC_TYPES
_TEXT = exp.DataType.TEXT_TYPES
_TEMPORAL = exp.DataType.TEMPORAL_TYPES | {T.INTERVAL}
_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.IntDiv, exp.Mod, exp.Pow)
_COMPARISON = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
# Math functions sqlglot types, which DuckDB and PostgreSQL define for numbers only
# (`abs(text)`, `round(bool)`, `ln(date)` fail when the query runs).
_NUMERIC_FUNCTIONS = (
    exp.Abs,
    exp.Acos,
    exp.Acosh,
    exp.Asin,
    exp.Asinh,
    exp.Atan,
    exp.Atan2,
    exp.Atanh,
    exp.Cbrt,
    exp.Ceil,
    exp.Cos,
    exp.Cosh,
    exp.Cot,
    exp.Degrees,
    exp.Exp,
    exp.Factorial,
    exp.Floor,
    exp.IsInf,
    exp.IsNan,
    exp.Ln,
    exp.Log,
    exp.Radians,
    exp.Round,
    exp.Sign,
    exp.Sin,
    exp.Sinh,
    exp.Sqrt,
    exp.Tan,
    exp.Tanh,
    exp.Trunc,
)
# Their arguments that are numbers (`round(x, digits)`, `log(base, x)`, `atan2(y, x)`).
_NUMERIC_ARGUMENTS = ("this", "expression", "decimals")
# String functions, which DuckDB and PostgreSQL define for text only (`lower(1.5)`,
# `contains(ts, 'a')` fail when the query runs), and their arguments that are text.
_STRING_FUNCTIONS: dict[type[exp.Expr], tuple[str, ...]] = {
    exp.Lower: ("this",),
    exp.Upper: ("this",),
    exp.Initcap: ("this",),
    exp.Length: ("this",),
    exp.Reverse: ("this",),
    exp.MD5: ("this",),
    exp.Ascii: ("this",),
    exp.Unicode: ("this",),
    exp.Trim: ("this",),
    exp.Substring: ("this",),
    exp.Left: ("this",),
    exp.Right: ("this",),
    exp.Pad: ("this",),
    exp.Repeat: ("this",),
    exp.Replace: ("this", "expression", "replacement"),
    exp.Split: ("this", "expression"),
    exp.Contains: ("this", "expression"),
    exp.StartsWith: ("this", "expression"),
    exp.EndsWith: ("this", "expression"),
    exp.StrPosition: ("this", "substr"),
    exp.Levenshtein: ("this", "expression"),
    exp.Like: ("this", "expression"),
    exp.ILike: ("this", "expression"),
    exp.RegexpLike: ("this", "expression"),
    exp.RegexpFullMatch: ("this", "expression"),
    exp.RegexpReplace: ("this", "expression", "replacement"),
    exp.RegexpExtract: ("this", "expression"),
}
# Functions of a date or timestamp (`year(1.5)`, `extract(hour from 'abc')` fail), and
# their argument that is one.
_TEMPORAL_FUNCTIONS: dict[type[exp.Expr], str] = {
    exp.Year: "this",
    exp.Quarter: "this",
    exp.Month: "this",
    exp.Week: "this",
    exp.WeekOfYear: "this",
    exp.Day: "this",
    exp.DayOfMonth: "this",
    exp.DayOfWeek: "this",
    exp.DayOfWeekIso: "this",
    exp.DayOfYear: "this",
    exp.Hour: "this",
    exp.Minute: "this",
    exp.Second: "this",
    exp.Dayname: "this",
    exp.Monthname: "this",
    exp.LastDay: "this",
    exp.TimeToStr: "this",
    exp.TimeToUnix: "this",
    exp.TimestampTrunc: "this",
    exp.DateTrunc: "this",
    exp.Extract: "expression",
}
# Anonymous functions (sqlglot has no class for them in DuckDB) taking a date part's
# name and a date or timestamp: `date_part('dow', ts)`.
_DATE_PART_FUNCTIONS = frozenset({"DATE_PART", "DATEPART"})


# Date parts whose value has a fraction; every other one is a whole number (DuckDB:
# BIGINT; PostgreSQL: a numeric, cast to the one declared type like DuckDB's).
_FRACTIONAL_PARTS = frozenset({"EPOCH", "JULIAN"})
# PostgreSQL's seconds (and milliseconds) keep their fraction; DuckDB's are whole.
_POSTGRES_FRACTIONAL_PARTS = frozenset(
    {"SECOND", "SECONDS", "MILLISECOND", "MILLISECONDS", "MS", "MSEC", "MSECS"}
)
# Anonymous functions (no sqlglot class in DuckDB) whose type is plain.
_ANONYMOUS_TYPES: dict[str, T] = {
    "STRLEN": T.BIGINT,
    "NOW": T.TIMESTAMPTZ,
    "TODAY": T.DATE,
}
# Functions sqlglot knows but does not type, whose result is text.
_TEXT_RESULTS = (exp.Replace, exp.Left, exp.Right, exp.Pad, exp.RegexpReplace, exp.RegexpExtract)


def date_part_call(node: exp.Expr) -> tuple[str, exp.Expr] | None:
    """The unit (upper case) and argument of `date_part('unit', x)` written as a function
    sqlglot has no class for (DuckDB's `date_part`), else None."""
    if not isinstance(node, exp.Anonymous) or node.name.upper() not in _DATE_PART_FUNCTIONS:
        return None
    if len(node.expressions) != 2:
        return None
    unit, argument = node.expressions
    if not (isinstance(unit, exp.Literal) and unit.is_string):
        return None
    return unit.name.upper(), argument


def _date_part_type(unit: str, dialect: str) -> T | None:
    """The type of date part `unit` read in `dialect`, or None for DATE and TIME."""
    if unit in ("DATE", "TIME"):
        return None
    fractional = _FRACTIONAL_PARTS
    if dialect.startswith("postgres"):
        fractional = fractional | _POSTGRES_FRACTIONAL_PARTS
    return T.DOUBLE if unit in fractional else T.BIGINT


_metadata: dict[str, dict[type[exp.Expr], dict[str, object]]] = {}


def _expression_metadata(dialect: str) -> dict[type[exp.Expr], dict[str, object]]:
    """sqlglot's typing rules (DuckDB's, for our type names) with what it leaves
    untyped or types wrongly filled in for expressions read in `dialect`: a date part
    is a whole number (its fraction kept for epoch, and PostgreSQL's seconds), whatever
    function spells it (`extract`, DuckDB's `date_part`), so the column it derives has
    one type on every engine."""
    found = _metadata.get(dialect)
    if found is not None:
        return found

    def extract(annotator: TypeAnnotator, node: exp.Extract) -> exp.Expr:
        dtype = _date_part_type(node.name.upper(), dialect)
        if dtype is None:
            return annotator._annotate_extract(node)
        return annotator._set_type(node, dtype)

    def anonymous(annotator: TypeAnnotator, node: exp.Anonymous) -> exp.Expr:
        call = date_part_call(node)
        dtype = (
            _date_part_type(call[0], dialect) if call else _ANONYMOUS_TYPES.get(node.name.upper())
        )
        return annotator._set_type(node, dtype or annotator.schema.get_udf_type(node))

    def trunc(annotator: TypeAnnotator, node: exp.Trunc) -> exp.Expr:
        numeric = node.this.is_type(T.UNKNOWN, *_NUMERIC)
        return annotator._set_type(node, node.this.type if numeric else T.DOUBLE)

    metadata: dict[type[exp.Expr], dict[str, object]] = {
        **SqlglotDialect.get_or_raise(_TYPE_DIALECT).EXPRESSION_METADATA,
        exp.Extract: {"annotator": extract},
        exp.Anonymous: {"annotator": anonymous},
        exp.Trunc: {"annotator": trunc},
        **{kind: {"returns": T.VARCHAR} for kind in _TEXT_RESULTS},
    }
    return _remember(_metadata, dialect, metadata)


def to_sqlglot_type(dtype: DataType) -> exp.DataType:
    return exp.DataType.build(_TO_SQLGLOT[dtype], dialect=_TYPE_DIALECT)


# Memos for pure functions that compiling a big project calls thousands of times with
# the same arguments (views repeat the same expressions over the same types). Bounded,
# because long-lived processes (the feature server) compile many projects.
# Every memo of an expression is keyed by its dialect too: one text may mean different
# things in two dialects (PostgreSQL's `to_char(ts, 'YYYY')` is a year, DuckDB's a cast).
_MEMO_LIMIT = 4096
_parsed: dict[tuple[str, str], exp.Expr] = {}  # (text, dialect) -> its parsed tree
_described: dict[str, DataType | None] = {}
_inferred: dict[tuple[exp.Expr, tuple[tuple[str, DataType | None], ...], str], DataType | None] = {}
# (text, dialect, resolved spellings) -> the resolved tree and the columns it reads
_resolved: dict[tuple[str, str, tuple[str, ...]], tuple[exp.Expr, list[str]]] = {}
_read: dict[tuple[str, str], list[str]] = {}  # (text, dialect) -> the columns it reads


def _remember(memo: dict[_K, _V], key: _K, value: _V) -> _V:
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()
    memo[key] = value
    return value


def from_sqlglot_type(dtype: exp.DataType | None) -> DataType | None:
    """Our type for a sqlglot type, or None when it has no equivalent (or is unknown)."""
    if dtype is None:
        return None
    if dtype.this == T.ARRAY and dtype.expressions:
        inner = from_sqlglot_type(dtype.expressions[0])
        return DataType.EMBEDDING if inner in (DataType.FLOAT, DataType.FLOAT32) else None
    return _FROM_SQLGLOT.get(dtype.this)


def duckdb_type(text: str) -> DataType | None:
    """Our type for a DuckDB column type (as DESCRIBE spells it), None if it has none."""
    if text not in _described:
        try:
            parsed = exp.DataType.build(text, dialect=_TYPE_DIALECT)
        except (ParseError, TokenError, ValueError):
            parsed = None
        _remember(_described, text, from_sqlglot_type(parsed))
    return _described[text]


def parse_expression(
    sql: str, location: Location | None, *, dialect: str = DEFAULT_DIALECT
) -> exp.Expr:
    """One SQL expression in `dialect` (the project's); a syntax error is a
    ProjectError at `location`."""
    return shared_expression(sql, location, dialect=dialect).copy()


def shared_expression(
    sql: str, location: Location | None, *, dialect: str = DEFAULT_DIALECT
) -> exp.Expr:
    """`parse_expression` memoized: the tree is shared, so callers must not change it."""
    key = (sql, dialect)
    found = _parsed.get(key)
    if found is not None:
        return found
    return _remember(_parsed, key, _parse(sql, location, dialect))


_ONE_EXPRESSION = "write one SQL expression over the view's columns, e.g. coalesce(age, 0)"


def _parse(sql: str, location: Location | None, dialect: str) -> exp.Expr:
    try:
        parsed = sqlglot.parse_one(sql, read=dialect)
    except (ParseError, TokenError) as error:
        raise ProjectError(
            f"cannot parse expression '{sql}': {parse_message(error)}",
            location=location,
            hint=_ONE_EXPRESSION,
        ) from None
    if holds_statement(parsed):
        # A statement, or several (`x; drop table t` parses as a Block): never pasted on.
        what = (
            f"holds {len(parsed.expressions)} statements separated by ';'"
            if isinstance(parsed, exp.Block)
            else "is a statement"
        )
        raise ProjectError(
            f"expression '{sql}' {what}; a derived feature is one SQL expression",
            location=location,
            hint=_ONE_EXPRESSION,
        )
    if parsed.find(exp.Placeholder) is not None:
        raise ProjectError(
            f"expression '{sql}' has a parameter placeholder; write the value itself",
            location=location,
        )
    if isinstance(parsed, exp.Alias) or parsed.find(exp.Query, exp.Star) is not None:
        raise ProjectError(
            f"expression '{sql}' must be one value over the view's row (no query, no alias, no *)",
            location=location,
        )
    if parsed.find(exp.AggFunc, exp.Window) is not None:
        raise ProjectError(
            f"expression '{sql}' aggregates rows; a derived feature is a function of one row",
            location=location,
            hint="declare an aggregation (SPEC §4b) for values over several rows",
        )
    return parsed


def expression_columns(expression: exp.Expr) -> list[str]:
    """The columns an expression reads, in first-use order, without duplicates."""
    return list(dict.fromkeys(col.name for col in expression.find_all(exp.Column, bfs=False)))


def shared_resolved_expression(
    sql: str,
    schema: Mapping[str, DataType | None],
    location: Location | None,
    *,
    dialect: str = DEFAULT_DIALECT,
) -> exp.Expr:
    """`resolve_columns(shared_expression(sql), schema, ...)` memoized: shared, do not change.

    Resolving copies the parsed tree (and sqlglot deep-copies its token positions),
    which was most of resolving 500 views' derived features, done once by
    `resolve_project` and again by each `CompileSession`. The result depends only on
    the text (and its dialect) and on what each column it reads resolves to, so that
    is the key.
    """
    return shared_resolved(sql, schema, location, dialect=dialect)[0]


def shared_resolved(
    sql: str,
    schema: Mapping[str, DataType | None],
    location: Location | None,
    *,
    dialect: str = DEFAULT_DIALECT,
) -> tuple[exp.Expr, list[str]]:
    """`shared_resolved_expression` and its `expression_columns` (both shared: do not
    change them), memoized together: walking the tree again cost as much as resolving."""
    tree = shared_expression(sql, location, dialect=dialect)
    names = _read.get((sql, dialect))
    if names is None:
        names = _remember(_read, (sql, dialect), expression_columns(tree))
    by_lower = {name.lower(): name for name in schema}
    spelled = tuple(name if name in schema else by_lower.get(name.lower(), "") for name in names)
    key = (sql, dialect, spelled)
    found = _resolved.get(key)
    if found is not None:
        return found
    # Misses (and every error: an unknown or qualified column raises) go the long way.
    resolved = resolve_columns(tree, schema, sql, location, dialect=dialect)
    return _remember(_resolved, key, (resolved, expression_columns(resolved)))


def resolve_columns(
    expression: exp.Expr,
    schema: Mapping[str, DataType | None],
    sql: str,
    location: Location | None,
    *,
    dialect: str = DEFAULT_DIALECT,
) -> exp.Expr:
    """A copy whose columns are quoted identifiers spelled as in `schema`.

    Resolution is exact first, then case-insensitive (DuckDB's rule). An unknown
    column is a ProjectError naming it, the expression and the closest names.
    """
    by_lower = {name.lower(): name for name in schema}
    resolved = expression.copy()
    for col in list(resolved.find_all(exp.Column)):
        name = col.name
        found = name if name in schema else by_lower.get(name.lower())
        if col.table or found is None:
            raise ProjectError(
                f"expression '{sql}' reads unknown column '{col.sql(dialect)}'",
                location=location,
                hint=did_you_mean(name, schema) if col.table == "" else None,
            )
        quoted = exp.Column(this=exp.to_identifier(found, quoted=True))
        if col is resolved:
            resolved = quoted  # the column is the whole expression: no parent to replace in
        else:
            col.replace(quoted)
    return resolved


def infer_type(
    expression: exp.Expr,
    schema: Mapping[str, DataType | None],
    sql: str,
    location: Location | None,
    columns: list[str] | None = None,
    *,
    dialect: str = DEFAULT_DIALECT,
) -> DataType | None:
    """The expression's type from the column types; mismatches are ProjectErrors.

    Columns of unknown type (raw source columns) make dependent parts unknown;
    unknown parts are never reported as mismatches. `columns` are the expression's
    `expression_columns`, when the caller has them. `dialect` is the one the
    expression was parsed in: its typing rules apply (PostgreSQL's `int / int` is an
    integer).
    """
    if columns is None:
        columns = expression_columns(expression)
    # The result depends only on the tree, the types of the columns it reads and the
    # dialect's rules.
    key = (expression, tuple((c, schema.get(c)) for c in columns), dialect)
    if key in _inferred:
        return _inferred[key]
    return _remember(_inferred, key, _infer_type(expression, schema, sql, location, dialect))


_DIVISIONS = (exp.Div, exp.IntDiv, exp.Mod)
_SMALL_INTEGERS = {DataType.INT8, DataType.INT16}


def widen_small_integers(expression: exp.Expr, schema: Mapping[str, DataType | None]) -> exp.Expr:
    """`expression` with every int8/int16 column under arithmetic read as a 32-bit
    integer (a copy when anything changes; the shared tree is left alone). Engines
    compute in the operands' own type, so `small * 10` would overflow at 99 (DuckDB:
    TINYINT) and `mid + mid` at 16,384 (PostgreSQL: smallint); so would
    `coalesce(small, 0) * 10`, whose literal takes the column's type in DuckDB: the
    column itself is widened wherever arithmetic uses it, however deep."""
    reads_small = any(
        schema.get(c.name) in _SMALL_INTEGERS for c in expression.find_all(exp.Column)
    )
    if not reads_small or expression.find(*_ARITHMETIC, exp.Neg) is None:
        return expression
    widened = expression.copy()
    for col in list(widened.find_all(exp.Column)):
        if schema.get(col.name) not in _SMALL_INTEGERS:
            continue
        if col.find_ancestor(*_ARITHMETIC, exp.Neg) is not None:
            col.replace(exp.Cast(this=col.copy(), to=exp.DataType.build("INT")))
    return widened


def _grouped(operand: exp.Expr) -> exp.Expr:
    """`operand` in parentheses unless it is one term (a column, number or call)."""
    if isinstance(operand, exp.Column | exp.Literal | exp.Paren | exp.Func):
        return operand
    return exp.paren(operand)


def _nonzero(divisor: exp.Expr) -> exp.Expr:
    """`NULLIF(divisor, 0)`, unless it is a non-zero number or already that."""
    if isinstance(divisor, exp.Literal) and divisor.is_number and float(divisor.name) != 0:
        return divisor
    if isinstance(divisor, exp.Nullif) and divisor.expression == exp.Literal.number(0):
        return divisor
    return exp.Nullif(this=divisor, expression=exp.Literal.number(0))


def portable_arithmetic(
    expression: exp.Expr,
    schema: Mapping[str, DataType | None],
    sql: str,
    location: Location | None,
    *,
    dialect: str = DEFAULT_DIALECT,
) -> exp.Expr:
    """`expression` rewritten so every engine computes the same value (a copy when
    anything changes; the shared tree is left alone).

    - A zero divisor gives NULL: DuckDB would give inf, PostgreSQL fail the query.
    - `a // b` truncates toward zero for any numbers, as it does for integers on
      every engine: DuckDB divides non-integers exactly (-7.5 // 2 = -3.75) and
      PostgreSQL has no integer division of floats.
    - `a / b` of two integers, read in a dialect where that divides integers (sqlglot
      marks it `typed`: PostgreSQL), is `a // b`: DuckDB's `/` would not truncate.
    - `a % b` of non-integers is `a - b * trunc(a / b)`: DuckDB's remainder of floats
      (with the dividend's sign), which PostgreSQL has no operator for.
    """
    if expression.find(*_DIVISIONS) is None:
        return expression
    rewritten = expression.copy()
    # Innermost first: an outer division is rebuilt from already rewritten operands.
    for node in reversed(list(rewritten.find_all(*_DIVISIONS))):
        types = [
            infer_type(o, schema, sql, location, dialect=dialect)
            for o in (node.this, node.expression)
        ]
        integers = all(t in INTEGER_TYPES for t in types)
        # `%` is rewritten for non-integers only when known: an operand of unknown type
        # (a table source's column) may be an integer, which float arithmetic rounds.
        fractional = any(t is not None and t not in INTEGER_TYPES for t in types)
        divisor = _nonzero(node.expression)  # the same node when it needs no guard
        if isinstance(node, exp.Div) and node.args.get("typed") and integers:
            truncating = exp.IntDiv(this=node.this.copy(), expression=divisor.copy())
            if node is rewritten:
                return truncating  # the division is the whole expression
            node.replace(truncating)
        elif isinstance(node, exp.IntDiv) and not integers:
            divided = exp.Div(this=node.this.copy(), expression=divisor.copy())
            truncated = exp.func("trunc", divided)
            if node is rewritten:
                return truncated  # the division is the whole expression
            node.replace(truncated)
        elif isinstance(node, exp.Mod) and fractional:
            # `a - b * trunc(a / b)`: DuckDB's fmod (the dividend's sign) in plain
            # arithmetic, since PostgreSQL has no % of floats.
            divided = exp.Div(this=node.this.copy(), expression=divisor.copy())
            product = exp.Mul(this=_grouped(divisor.copy()), expression=exp.func("trunc", divided))
            remainder = exp.Sub(this=_grouped(node.this.copy()), expression=product)
            if node is rewritten:
                return remainder
            node.replace(exp.paren(remainder))
        elif divisor is not node.expression:
            node.set("expression", divisor)
    return rewritten


# How to write a DuckDB function sqlglot does not know so that it does translate.
_PORTABLE_FORMS: dict[str, str] = {
    "strlen": "length(x)",
    "millisecond": "extract(millisecond from ts)",
    "microsecond": "extract(microsecond from ts)",
    "epoch_ms": "extract(epoch from ts) * 1000",
    "now": "current_timestamp",
    "today": "current_date",
}


def translate_expression(
    expression: exp.Expr,
    sql: str,
    location: Location | None,
    *,
    written_in: str,
    target: str,
    untranslatable: tuple[type[exp.Expr], ...] = (),
) -> exp.Expr:
    """`expression` (read in `written_in`) as a tree sqlglot can generate for `target`
    (the same tree when it needs nothing; a copy when it changes).

    sqlglot translates the functions it knows; a function it does not know (an
    `Anonymous` node) it would print unchanged, which the target may not have or may
    define otherwise (DuckDB's `strlen`). So compiling for another dialect, such a
    function is a ProjectError naming it, the target and the location, and so is any
    in `untranslatable`, known functions the target's generator cannot express. DuckDB's
    `date_part('unit', x)` is the exception: it becomes `extract(unit from x)`, which
    sqlglot translates (for PostgreSQL, seconds floored: its seconds keep a fraction).
    """
    if (
        written_in == target
        or expression.find(exp.Anonymous, exp.Extract, exp.Log, *untranslatable) is None
    ):
        return expression
    translated = expression.copy()
    if written_in.startswith("duckdb"):
        # DuckDB's one-argument log is base 10; elsewhere it may be ln (Spark,
        # BigQuery) or not exist (Trino): say the base.
        for log in list(translated.find_all(exp.Log)):
            if log.expression is None:
                log.set("expression", log.this)
                log.set("this", exp.Literal.number(10))
    for node in list(translated.find_all(exp.Anonymous, *untranslatable)):
        call = date_part_call(node)
        if call is None:
            raise _untranslatable(node, sql, location, written_in, target)
        extract = exp.Extract(this=exp.var(call[0]), expression=call[1])
        if node is translated:
            translated = extract
        else:
            node.replace(extract)
    if target.startswith("postgres") and not written_in.startswith("postgres"):
        for node in list(translated.find_all(exp.Extract)):
            if node.name.upper() not in _POSTGRES_FRACTIONAL_PARTS:
                continue
            # PostgreSQL's seconds keep their fraction; other engines' are whole.
            floored = exp.Floor(this=node.copy())
            if node is translated:
                return floored
            node.replace(floored)
    return translated


def _untranslatable(
    node: exp.Expr, sql: str, location: Location | None, written_in: str, target: str
) -> ProjectError:
    # An unknown function by the name it was written with, a known one by sqlglot's.
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
    elif isinstance(node, exp.Func):
        name = node.sql_name().lower()
    else:
        name = node.key
    form = _PORTABLE_FORMS.get(name)
    hint = (
        f"write {form}, which translates to every dialect"
        if form
        else "write it with functions that translate, e.g. extract(hour from ts) or "
        "date_part('hour', ts) for a date part"
    )
    return ProjectError(
        f"expression '{sql}' uses function '{name}', which cannot be translated from "
        f"{written_in} to {target}: it would fail when the query runs there",
        location=location,
        hint=f"{hint} (derived expressions are {written_in} SQL, the project's dialect)",
    )


def _infer_type(
    expression: exp.Expr,
    schema: Mapping[str, DataType | None],
    sql: str,
    location: Location | None,
    dialect: str,
) -> DataType | None:
    typed = expression.copy()
    for col in typed.find_all(exp.Column):
        col.set("table", exp.to_identifier(_ROW, quoted=True))
    columns = {
        name: _TO_SQLGLOT[dtype] if (dtype := schema.get(name)) else "UNKNOWN"
        for name in expression_columns(expression)
    }
    # The schema's type names are ours (`_TO_SQLGLOT`), whatever the expression's dialect.
    annotator_schema = MappingSchema({_ROW: columns}, dialect=_TYPE_DIALECT, normalize=False)
    select = exp.select(exp.alias_(typed, "value", quoted=True)).from_(
        exp.to_table(_ROW, quoted=True)
    )
    annotated = annotate_types(
        select, schema=annotator_schema, expression_metadata=_expression_metadata(dialect)
    )
    value = annotated.selects[0].this
    _check_types(value, sql, location, dialect)
    return from_sqlglot_type(value.type)


@dataclass(frozen=True)
class _Kind:
    name: str

    @staticmethod
    def of(node: exp.Expr) -> _Kind | None:
        dtype = node.type
        if dtype is None or dtype.this in (T.UNKNOWN, T.NULL) or isinstance(node, exp.Null):
            return None
        if dtype.this == T.BOOLEAN:
            return _Kind("boolean")
        if dtype.this in _NUMERIC:
            return _Kind("number")
        if dtype.this in _TEXT:
            return _Kind("string")
        if dtype.this in _TEMPORAL:
            return _Kind("temporal")
        return _Kind(dtype.sql(_TYPE_DIALECT).lower())

    def comparable(self, other: _Kind) -> bool:
        """Whether engines compare the two (numbers and booleans mix; else one kind)."""
        return self == other or {self.name, other.name} <= {"number", "boolean"}


@dataclass(frozen=True)
class _Checked:
    """The expression being checked, for messages: its text, location and dialect."""

    sql: str
    location: Location | None
    dialect: str


def _check_types(value: exp.Expr, sql: str, location: Location | None, dialect: str) -> None:
    checked = _Checked(sql, location, dialect)
    for node in value.walk():
        if isinstance(node, (*_ARITHMETIC, exp.Neg)):
            operands = [node.this] if isinstance(node, exp.Neg) else [node.this, node.expression]
            _expect(node, operands, {"number", "temporal"}, checked)
        elif isinstance(node, (exp.And, exp.Or)):
            _expect(node, [node.this, node.expression], {"boolean"}, checked)
        elif isinstance(node, exp.Not):
            _expect(node, [node.this], {"boolean"}, checked)
        elif isinstance(node, _COMPARISON):
            _expect_comparable(node, [node.this, node.expression], checked)
        elif isinstance(node, exp.In) and node.expressions:
            _expect_comparable(node, [node.this, *node.expressions], checked)
        elif isinstance(node, (exp.Coalesce, exp.Greatest, exp.Least)):
            _expect_one_type(node, [node.this, *node.expressions], checked)
        elif isinstance(node, exp.Nullif):
            _expect_one_type(node, [node.this, node.expression], checked)
        elif isinstance(node, exp.Case):
            results = [branch.args.get("true") for branch in node.args.get("ifs") or []]
            _expect_one_type(node, [*results, node.args.get("default")], checked)
        elif isinstance(node, exp.If) and not isinstance(node.parent, exp.Case):
            _expect_one_type(node, [node.args.get("true"), node.args.get("false")], checked)
        elif type(node) in _STRING_FUNCTIONS:
            _expect_text(node, _STRING_FUNCTIONS[type(node)], checked)
        elif type(node) in _TEMPORAL_FUNCTIONS:
            _expect_temporal(node, node.args.get(_TEMPORAL_FUNCTIONS[type(node)]), checked)
        elif (call := date_part_call(node)) is not None:
            _expect_temporal(node, call[1], checked)
        elif isinstance(node, exp.Between):
            _expect_comparable(node, [node.this, node.args["low"], node.args["high"]], checked)
        elif isinstance(node, _NUMERIC_FUNCTIONS) and not node.args.get("to"):
            # (`ceil(ts TO DAY)`, where a dialect has it, rounds a time.)
            _expect_numbers(node, checked)
        elif isinstance(node, exp.Cast):  # and TRY_CAST
            _expect_supported_cast(node, checked)


def _expect_supported_cast(node: exp.Cast, checked: _Checked) -> None:
    """A cast names one of aligned's types, as both engines read it (`literal_types`):
    `CAST(x AS UUID)`, `x::INT[]` or `CAST(x AS DECIMAL(99, 99))` would fail (or differ)
    only when the query runs."""
    to = node.to
    problem = unsupported_cast(to)
    if problem is None:
        return
    raise ProjectError(
        f"expression '{checked.sql}' casts to {to.sql(checked.dialect)}: {problem}",
        location=checked.location,
        hint=f"cast to a type aligned supports: {SUPPORTED_CASTS}",
    )


def _expect(node: exp.Expr, operands: list[exp.Expr], allowed: set[str], checked: _Checked) -> None:
    for operand in operands:
        kind = _Kind.of(operand)
        if kind is not None and kind.name not in allowed:
            raise _mismatch(node, operands, checked)


def _expect_numbers(node: exp.Func, checked: _Checked) -> None:
    """The arguments of a math function are numbers (or NULL, or of unknown type).

    A string literal is left alone: engines cast one where a single signature fits
    (`sqrt('4')`)."""
    arguments = [
        argument
        for name in _NUMERIC_ARGUMENTS
        if isinstance(argument := node.args.get(name), exp.Expr)
    ]
    for argument in arguments:
        kind = _Kind.of(argument)
        if kind is None or kind.name == "number":
            continue
        if kind.name == "string" and isinstance(argument, exp.Literal):
            continue
        name = node.sql_name()
        raise _mismatch(
            node,
            arguments,
            checked,
            hint=f"{name} takes numbers; cast the argument, e.g. CAST(x AS DOUBLE)",
        )


def _expect_text(node: exp.Expr, names: tuple[str, ...], checked: _Checked) -> None:
    """The text arguments of a string function are text (or NULL, or of unknown type).

    Engines do not cast a number, boolean or time to text for these functions
    (`lower(1.5)` fails when the query runs); `length` also takes a list."""
    arguments = [a for name in names if isinstance(a := node.args.get(name), exp.Expr)]
    for argument in arguments:
        kind = _Kind.of(argument)
        if kind is None or kind.name not in ("number", "boolean", "temporal"):
            continue
        raise _mismatch(
            node,
            arguments,
            checked,
            hint=f"{_function_name(node, checked.dialect)} takes text; "
            "cast the argument, e.g. CAST(x AS VARCHAR)",
        )


def _function_name(node: exp.Expr, dialect: str) -> str:
    """How a message names a function or operator, as the dialect spells it: `lower`,
    `strpos`, `date_part`, `like`."""
    spelled = re.match(r"([A-Za-z_][A-Za-z0-9_]*)\(", _display(node, dialect))
    return (spelled.group(1) if spelled else node.key).lower()


def _expect_temporal(node: exp.Expr, argument: exp.Expr | None, checked: _Checked) -> None:
    """The argument of a date function (`year`, `extract`, `date_part`, `date_trunc`,
    `strftime`) is a date or timestamp (or NULL, of unknown type, or a string literal,
    which engines read as one)."""
    if argument is None:
        return
    kind = _Kind.of(argument)
    if kind is None or kind.name == "temporal":
        return
    if kind.name == "string" and isinstance(argument, exp.Literal):
        return
    raise _mismatch(
        node,
        [argument],
        checked,
        hint=f"{_function_name(node, checked.dialect)} takes a date or timestamp; "
        "cast the argument, e.g. CAST(x AS TIMESTAMP)",
    )


def _expect_one_type(node: exp.Expr, operands: list[exp.Expr | None], checked: _Checked) -> None:
    """The values a CASE, IF, COALESCE, NULLIF, GREATEST or LEAST may give are of one
    kind: engines do not unify a number with text, or (PostgreSQL) with a boolean."""
    present = [o for o in operands if o is not None]
    clash = _first_clash(present, lambda a, b: a == b)
    if clash is not None:
        raise _mismatch(
            node,
            present if len(present) <= 3 else list(clash),
            checked,
            hint="every value it may give must have one type; cast one, "
            "e.g. CAST(x AS VARCHAR) or CAST(x AS DOUBLE)",
        )
    _expect_readable_texts(node, present, node.type, checked)
    if isinstance(node, exp.Coalesce):
        _expect_whole_fill(node, checked)


def _expect_comparable(node: exp.Expr, operands: list[exp.Expr], checked: _Checked) -> None:
    """Operands compared with each other (`=`, IN, BETWEEN, COALESCE) are of one kind."""
    clash = _first_clash(operands, lambda a, b: a.comparable(b))
    if clash is not None:
        raise _mismatch(node, operands if len(operands) <= 3 else list(clash), checked)
    typed = next((o for o in operands if _Kind.of(o) is not None and not _is_text(o)), None)
    if typed is not None:
        _expect_readable_texts(node, operands, typed.type, checked)


def _is_text(node: exp.Expr) -> bool:
    return isinstance(node, exp.Literal) and node.is_string


def _expect_readable_texts(
    node: exp.Expr, operands: list[exp.Expr], dtype: exp.DataType | None, checked: _Checked
) -> None:
    """Every string literal among `operands`, which engines read as a value of `dtype`
    (the others' type), is one both DuckDB and PostgreSQL can read so: `coalesce(age,
    'a')` or `ts > 'soon'` fails when the query runs (a fill value, `fill_na('a')`)."""
    if dtype is None or dtype.this in (T.UNKNOWN, T.NULL) or dtype.this in _TEXT:
        return
    for operand in operands:
        if not _is_text(operand) or text_fits(operand.name, dtype):
            continue
        fill = isinstance(node, exp.Coalesce) and operand is not node.this
        what = "fill value" if fill else "text"
        raise ProjectError(
            f"type mismatch in expression '{checked.sql}': {what} "
            f"{_display(operand, checked.dialect)} cannot be read as {_named_type(dtype)} "
            f"in '{_display(node, checked.dialect)}'",
            location=checked.location,
            hint=_literal_hint(dtype, fill, _in_python(checked)),
        )


def _expect_whole_fill(node: exp.Coalesce, checked: _Checked) -> None:
    """An integer's fill value is a whole number: `coalesce(n, 1.5)` (`n.fill_na(1.5)`)
    would make every value of the int feature a decimal on both engines."""
    first = node.this
    if first is None or first.type is None or first.type.this not in exp.DataType.INTEGER_TYPES:
        return
    for fill in node.expressions:
        number = fill.this if isinstance(fill, exp.Neg) else fill
        if not (isinstance(number, exp.Literal) and number.is_number):
            continue
        if float(number.name).is_integer():
            continue
        column, value = _display(first, checked.dialect), _display(fill, checked.dialect)
        # The hint's column as one would write it: `n`, not `"n"`.
        written = first.name if _is_plain_column(first) else column
        raise ProjectError(
            f"type mismatch in expression '{checked.sql}': fill value "
            f"{_display(fill, checked.dialect)} in '{_display(node, checked.dialect)}' is not "
            f"a whole number, but {column} is {_type_name(first)}",
            location=checked.location,
            hint=(
                f"fill with a whole number, e.g. .fill_na(0); for a float feature, cast "
                f'first: .transform_sql("coalesce(CAST({written} AS DOUBLE), {value})")'
                if _in_python(checked)
                else f"fill with a whole number, e.g. coalesce({written}, 0); for a float "
                f"feature, cast first: coalesce(CAST({written} AS DOUBLE), {value})"
            ),
        )


def _is_plain_column(node: exp.Expr) -> bool:
    return isinstance(node, exp.Column) and re.fullmatch(r"[a-z_][a-z0-9_]*", node.name) is not None


def _named_type(dtype: exp.DataType) -> str:
    ours = from_sqlglot_type(dtype)
    return ours.value if ours is not None else dtype.sql(_TYPE_DIALECT).lower()


def _in_python(checked: _Checked) -> bool:
    """Whether the expression was built by the Python DSL (`.fill_na(...)`)."""
    return checked.location is not None and checked.location.file.endswith(".py")


def _literal_hint(dtype: exp.DataType, fill: bool, python: bool) -> str:
    ours = from_sqlglot_type(dtype)
    if dtype.this == T.BOOLEAN:
        example = "true or false"
    elif ours is not None and ours in INTEGER_TYPES:
        example = "a whole number without quotes, e.g. 0"
    elif dtype.this in exp.DataType.REAL_TYPES:
        example = "a number without quotes, e.g. 0"
    elif dtype.this in _TEMPORAL:
        example = "an ISO 8601 date or time, e.g. '2024-01-31' or '2024-01-31 12:00:00'"
    elif dtype.this == T.ARRAY:
        example = "a list, e.g. [0.0, 0.0] (engines read a list's text differently)"
    else:
        example = f"a value of type {_named_type(dtype)}"
    what = "a fill value of the feature's type" if fill else "a value of the compared type"
    if fill and python:
        what = "a fill value of the feature's type (`.fill_na(value)`)"
    return f"write {what}: {example}"


def _first_clash(
    operands: list[exp.Expr], agree: Callable[[_Kind, _Kind], bool]
) -> tuple[exp.Expr, exp.Expr] | None:
    """The first typed operand and the first later one whose kind does not `agree` with
    it, or None. A string literal may stand for any type (engines cast it), so only
    typed, non-literal string operands count."""
    first: tuple[exp.Expr, _Kind] | None = None
    for operand in operands:
        kind = _Kind.of(operand)
        if kind is None or (kind.name == "string" and isinstance(operand, exp.Literal)):
            continue
        if first is None:
            first = (operand, kind)
        elif not agree(first[1], kind):
            return first[0], operand
    return None


def _mismatch(
    node: exp.Expr, operands: list[exp.Expr], checked: _Checked, hint: str | None = None
) -> ProjectError:
    described = ", ".join(
        f"{_display(operand, checked.dialect)} is {_type_name(operand)}" for operand in operands
    )
    return ProjectError(
        f"type mismatch in expression '{checked.sql}': "
        f"'{_display(node, checked.dialect)}' ({described})",
        location=checked.location,
        hint=hint or "cast one side, e.g. CAST(x AS DOUBLE), or compare values of the same type",
    )


def _type_name(node: exp.Expr) -> str:
    ours = from_sqlglot_type(node.type)
    if ours is not None:
        return ours.value
    return node.type.sql(_TYPE_DIALECT).lower() if node.type else "unknown"


def _display(node: exp.Expr, dialect: str) -> str:
    """SQL for messages, in the expression's own dialect: columns without the
    annotator's table name."""
    shown = node.copy()
    for part in shown.walk():
        # Untyped: some generators spell a typed argument with a cast (DuckDB's
        # `lower(x)` of a number prints as LOWER(CAST(x AS TEXT))).
        part.type = None
    for col in shown.find_all(exp.Column):
        col.set("table", None)
    return shown.sql(dialect)
