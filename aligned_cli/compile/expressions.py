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

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.expressions import DType as T
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.schema import MappingSchema

from aligned_cli.core.location import Location
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
    T.TIMESTAMPTZ: DataType.TIMESTAMP,
    T.JSON: DataType.JSON,
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
        col.replace(exp.Column(this=exp.to_identifier(found, quoted=True)))
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
    """
    if expression.find(*_DIVISIONS) is None:
        return expression
    rewritten = expression.copy()
    # Innermost first: an outer division is rebuilt from already rewritten operands.
    for node in reversed(list(rewritten.find_all(*_DIVISIONS))):
        operands = (node.this, node.expression)
        integers = all(
            infer_type(o, schema, sql, location, dialect=dialect) in INTEGER_TYPES for o in operands
        )
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
        elif divisor is not node.expression:
            node.set("expression", divisor)
    return rewritten


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
    annotated = annotate_types(select, schema=annotator_schema, dialect=dialect)
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
        elif isinstance(node, exp.Coalesce) or (isinstance(node, exp.In) and node.expressions):
            _expect_comparable(node, [node.this, *node.expressions], checked)
        elif isinstance(node, exp.Between):
            _expect_comparable(node, [node.this, node.args["low"], node.args["high"]], checked)
        elif isinstance(node, _NUMERIC_FUNCTIONS) and not node.args.get("to"):
            # (`ceil(ts TO DAY)`, where a dialect has it, rounds a time.)
            _expect_numbers(node, checked)


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


def _expect_comparable(node: exp.Expr, operands: list[exp.Expr], checked: _Checked) -> None:
    """Operands compared with each other (`=`, IN, BETWEEN, COALESCE) are of one kind.

    A string literal may stand for any type (DuckDB casts it), so only typed,
    non-literal string operands count. A long list names the first two that clash."""
    first: tuple[exp.Expr, _Kind] | None = None
    for operand in operands:
        kind = _Kind.of(operand)
        if kind is None or (kind.name == "string" and isinstance(operand, exp.Literal)):
            continue
        if first is None:
            first = (operand, kind)
        elif not first[1].comparable(kind):
            named = operands if len(operands) <= 3 else [first[0], operand]
            raise _mismatch(node, named, checked)


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


def parse_message(error: ParseError | TokenError) -> str:
    """sqlglot's description and position in words a user reads, not its internals
    ("Required keyword: 'this' missing for <class Where>" means the SQL stops early)."""
    details = getattr(error, "errors", None) or []
    if details:
        first = details[0]
        text = str(first.get("description") or "syntax error")
        if text.startswith("Required keyword") or "missing for <class" in text:
            text = "the SQL is incomplete"
        near = str(first.get("highlight") or "").strip()
        if near:
            text += f" near '{near}'"
        if first.get("line") is not None and first.get("col") is not None:
            text += f" (line {first['line']}, column {first['col']})"
        elif first.get("col") is not None:
            text += f" at column {first['col']}"
        return text
    return str(error).strip().splitlines()[0] if str(error).strip() else "syntax error"


def _display(node: exp.Expr, dialect: str) -> str:
    """SQL for messages, in the expression's own dialect: columns without the
    annotator's table name."""
    shown = node.copy()
    for col in shown.find_all(exp.Column):
        col.set("table", None)
    return shown.sql(dialect)
