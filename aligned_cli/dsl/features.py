"""Features of the Python DSL: typed declarations and derived features.

A derived feature is a small recipe that builds a sqlglot expression once the view
is decorated and every feature knows its name: each input is rendered by the
view (a named feature becomes its column, an unnamed intermediate is inlined).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, Self

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from aligned_cli.core.sql_errors import parse_message
from aligned_cli.core.statements import holds_statement
from aligned_cli.core.types import DataType
from aligned_cli.dsl import sql
from aligned_cli.dsl.callsite import CallSite, user_call_site
from aligned_cli.dsl.constraints import Constrained
from aligned_cli.errors import ProjectError

if TYPE_CHECKING:
    from aligned_cli.dsl.aggregations import AggregateBuilder
    from aligned_cli.dsl.targets import TargetDecl

# Renders an input of a derived feature as SQL (given by the view being built).
Render = Callable[["FeatureFactory"], exp.Expr]
Build = Callable[[Render], exp.Expr]

# date_part names -> the EXTRACT unit sqlglot understands in every dialect.
_DATE_PARTS = {
    "year": "YEAR",
    "quarter": "QUARTER",
    "month": "MONTH",
    "week": "WEEK",
    "day": "DAY",
    "hour": "HOUR",
    "minute": "MINUTE",
    "second": "SECOND",
    "day_of_week": "DOW",
    "dow": "DOW",
    "day_of_year": "DOY",
    "doy": "DOY",
    "epoch": "EPOCH",
}
_DATE_PART_FUNCTION_UNITS = frozenset({"DOW", "DOY"})


def _operand(value: object) -> Build:
    if isinstance(value, FeatureFactory):
        return lambda render: render(value)
    node = sql.literal(value)  # raises at the user's line for unusable values
    return lambda _render: node.copy()


class FeatureFactory(Constrained):
    """A feature in a view class body: typed column, derived feature, or both.

    Only its subclasses are instantiated, and none derives from another: Python
    tries a right operand's reflected comparison first when its class derives from
    the left one's, which would print `b < a` for `a > b`.
    """

    _default_dtype: DataType | None = None

    def __init__(self) -> None:
        super().__init__()
        self._dtype: DataType | None = self._default_dtype
        self._build: Build | None = None
        self._optional = False
        self._is_entity = False
        self._site: CallSite = user_call_site()
        self._bound: tuple[str, str] | None = None  # (view, feature) once decorated

    # -- declaration ------------------------------------------------------------

    @property
    def dtype(self) -> DataType | None:
        return self._dtype

    @property
    def is_derived(self) -> bool:
        return self._build is not None

    def is_optional(self) -> Self:
        self._optional = True
        return self

    def as_entity(self) -> Self:
        self._is_entity = True
        return self

    def as_classification_target(self) -> TargetDecl:
        from aligned_cli.dsl.targets import TargetDecl

        return TargetDecl(self, "classification")

    def as_regression_target(self) -> TargetDecl:
        from aligned_cli.dsl.targets import TargetDecl

        return TargetDecl(self, "regression")

    def aggregate(self) -> AggregateBuilder:
        """Start a window aggregation: `fare.aggregate().sum().over(days=30)`."""
        from aligned_cli.dsl.aggregations import AggregateBuilder

        return AggregateBuilder(self)

    def transform_sql(self, text: str) -> FeatureFactory:
        """A feature of this one's type computed by a SQL expression over the view."""
        return sql_feature(text, self._dtype)

    def expression(self, render: Render) -> exp.Expr | None:
        """This feature's SQL, its inputs rendered by `render`; None for a column."""
        return self._build(render) if self._build is not None else None

    # -- derived features -------------------------------------------------------

    @staticmethod
    def _derived(build: Build) -> FeatureFactory:
        feature = DerivedFeature()
        feature._build = build
        return feature

    def _binary(self, kind: type[exp.Binary], other: object, *, reverse: bool = False) -> Any:
        mine, theirs = _operand(self), _operand(other)
        if reverse:
            mine, theirs = theirs, mine
        return self._derived(lambda r: sql.binary(kind, mine(r), theirs(r)))

    def _call(self, build: Callable[[exp.Expr], exp.Expr]) -> FeatureFactory:
        return self._derived(lambda r: build(r(self)))

    def __add__(self, other: object) -> FeatureFactory:
        return self._binary(exp.Add, other)  # type: ignore[no-any-return]

    def __radd__(self, other: object) -> FeatureFactory:
        return self._binary(exp.Add, other, reverse=True)  # type: ignore[no-any-return]

    def __sub__(self, other: object) -> FeatureFactory:
        return self._binary(exp.Sub, other)  # type: ignore[no-any-return]

    def __rsub__(self, other: object) -> FeatureFactory:
        return self._binary(exp.Sub, other, reverse=True)  # type: ignore[no-any-return]

    def __mul__(self, other: object) -> FeatureFactory:
        return self._binary(exp.Mul, other)  # type: ignore[no-any-return]

    def __rmul__(self, other: object) -> FeatureFactory:
        return self._binary(exp.Mul, other, reverse=True)  # type: ignore[no-any-return]

    def __truediv__(self, other: object) -> FeatureFactory:
        return self._binary(exp.Div, other)  # type: ignore[no-any-return]

    def __rtruediv__(self, other: object) -> FeatureFactory:
        return self._binary(exp.Div, other, reverse=True)  # type: ignore[no-any-return]

    def __floordiv__(self, other: object) -> FeatureFactory:
        return self._binary(exp.IntDiv, other)  # type: ignore[no-any-return]

    def __rfloordiv__(self, other: object) -> FeatureFactory:
        return self._binary(exp.IntDiv, other, reverse=True)  # type: ignore[no-any-return]

    def __mod__(self, other: object) -> FeatureFactory:
        return self._binary(exp.Mod, other)  # type: ignore[no-any-return]

    def __rmod__(self, other: object) -> FeatureFactory:
        return self._binary(exp.Mod, other, reverse=True)  # type: ignore[no-any-return]

    def __gt__(self, other: object) -> FeatureFactory:
        return self._binary(exp.GT, other)  # type: ignore[no-any-return]

    def __ge__(self, other: object) -> FeatureFactory:
        return self._binary(exp.GTE, other)  # type: ignore[no-any-return]

    def __lt__(self, other: object) -> FeatureFactory:
        return self._binary(exp.LT, other)  # type: ignore[no-any-return]

    def __le__(self, other: object) -> FeatureFactory:
        return self._binary(exp.LTE, other)  # type: ignore[no-any-return]

    def __eq__(self, other: object) -> FeatureFactory:  # type: ignore[override]
        if other is None:  # `x == None` would always be NULL in SQL
            return self.is_null()
        return self._binary(exp.EQ, other)  # type: ignore[no-any-return]

    def __ne__(self, other: object) -> FeatureFactory:  # type: ignore[override]
        if other is None:
            return self.not_null()
        return self._binary(exp.NEQ, other)  # type: ignore[no-any-return]

    __hash__ = object.__hash__  # features are used by identity

    def __and__(self, other: object) -> FeatureFactory:
        return self._binary(exp.And, other)  # type: ignore[no-any-return]

    def __rand__(self, other: object) -> FeatureFactory:
        return self._binary(exp.And, other, reverse=True)  # type: ignore[no-any-return]

    def __or__(self, other: object) -> FeatureFactory:
        return self._binary(exp.Or, other)  # type: ignore[no-any-return]

    def __ror__(self, other: object) -> FeatureFactory:
        return self._binary(exp.Or, other, reverse=True)  # type: ignore[no-any-return]

    def __invert__(self) -> FeatureFactory:
        return self._call(sql.negate)

    def __neg__(self) -> FeatureFactory:
        return self._call(sql.minus)

    def __abs__(self) -> FeatureFactory:
        return self.abs()

    def __bool__(self) -> bool:
        raise TypeError(
            "a feature has no truth value while declaring it: use & | ~ instead of "
            "and / or / not, and .is_null() instead of `is None`"
        )

    def fill_na(self, value: object) -> FeatureFactory:
        fill = _operand(value)
        return self._derived(lambda r: exp.Coalesce(this=r(self), expressions=[fill(r)]))

    def is_null(self) -> FeatureFactory:
        return self._call(lambda node: exp.Is(this=node, expression=exp.null()))

    def not_null(self) -> FeatureFactory:
        return self._call(lambda node: sql.negate(exp.Is(this=node, expression=exp.null())))

    def one_hot_encode(self, values: Sequence[object]) -> tuple[FeatureFactory, ...]:
        """One bool feature per value: `is_male, is_female = sex.one_hot_encode([...])`."""
        return tuple(self == value for value in values)

    def ordinal_categories(self, values: Sequence[object]) -> FeatureFactory:
        """The position of the value in `values` (0-based); NULL for any other value."""
        options = [(sql.literal(v), index) for index, v in enumerate(values)]

        def build(render: Render) -> exp.Expr:
            this = render(self)
            case = exp.Case()
            for value, index in options:
                case = case.when(
                    sql.binary(exp.EQ, this.copy(), value.copy()), exp.Literal.number(index)
                )
            return case

        return self._derived(build)

    def contains(self, text: str) -> FeatureFactory:
        # STRPOS transpiles to every dialect (PostgreSQL: POSITION(... IN ...)).
        needle = sql.literal(text)
        return self._call(
            lambda node: sql.binary(
                exp.GT, exp.StrPosition(this=node, substr=needle.copy()), exp.Literal.number(0)
            )
        )

    def clip(self, lower: object = None, upper: object = None) -> FeatureFactory:
        """Bound the value; NULL stays NULL (GREATEST/LEAST would turn it into a bound)."""
        low = _operand(lower) if lower is not None else None
        high = _operand(upper) if upper is not None else None

        def build(render: Render) -> exp.Expr:
            this = render(self)
            case = exp.Case()
            if low is not None:
                case = case.when(sql.binary(exp.LT, this.copy(), low(render)), low(render))
            if high is not None:
                case = case.when(sql.binary(exp.GT, this.copy(), high(render)), high(render))
            return case.else_(this.copy()) if case.args.get("ifs") else this

        return self._derived(build)

    def log1p(self) -> FeatureFactory:
        return self._call(
            lambda node: exp.Ln(this=sql.binary(exp.Add, exp.Literal.number(1), node))
        )

    def floor(self) -> FeatureFactory:
        return self._call(lambda node: exp.Floor(this=node))

    def ceil(self) -> FeatureFactory:
        return self._call(lambda node: exp.Ceil(this=node))

    def round(self, ndigits: int = 0) -> FeatureFactory:
        digits = exp.Literal.number(ndigits) if ndigits else None
        return self._call(lambda node: exp.Round(this=node, decimals=digits))

    def abs(self) -> FeatureFactory:
        return self._call(lambda node: exp.Abs(this=node))

    def lower(self) -> FeatureFactory:
        return self._call(lambda node: exp.Lower(this=node))

    def upper(self) -> FeatureFactory:
        return self._call(lambda node: exp.Upper(this=node))

    def str_len(self) -> FeatureFactory:
        return self._call(lambda node: exp.Length(this=node))

    def date_part(self, part: str) -> FeatureFactory:
        unit = _DATE_PARTS.get(part.lower())
        if unit is None:
            raise ProjectError(
                f"unknown date part '{part}'",
                hint="use one of " + ", ".join(sorted(_DATE_PARTS)),
            )
        if unit in _DATE_PART_FUNCTION_UNITS:
            # sqlglot prints EXTRACT(DOW ...) as DuckDB's DAYOFWEEK, which PostgreSQL
            # rejects; DATE_PART('dow', x) means the same on both.
            part_name = exp.Literal.string(unit.lower())
            return self._call(
                lambda node: exp.Anonymous(this="DATE_PART", expressions=[part_name.copy(), node])
            )
        return self._call(lambda node: exp.Extract(this=exp.var(unit), expression=node))

    def year(self) -> FeatureFactory:
        return self.date_part("year")

    def month(self) -> FeatureFactory:
        return self.date_part("month")

    def day(self) -> FeatureFactory:
        return self.date_part("day")

    def hour(self) -> FeatureFactory:
        return self.date_part("hour")

    def day_of_week(self) -> FeatureFactory:
        """0 = Sunday ... 6 = Saturday (DuckDB and PostgreSQL agree)."""
        return self.date_part("day_of_week")


def sql_feature(text: str, dtype: DataType | None = None) -> FeatureFactory:
    """A derived feature written as SQL over the view's columns, in the project's
    dialect (DuckDB unless it declares another)."""
    try:
        parsed = sqlglot.parse_one(text, read=sql.dialect())
    except (ParseError, TokenError) as error:
        raise ProjectError(
            f"transform_sql({text!r}) is not a valid SQL expression: {parse_message(error)}",
            hint='write what goes in a SELECT list, e.g. "sibsp + parch + 1"',
        ) from None
    if isinstance(parsed, exp.Query) or holds_statement(parsed):
        raise ProjectError(
            f"transform_sql({text!r}) must be one expression, not a query or statement",
            hint='write what goes in a SELECT list, e.g. "sibsp + parch + 1"',
        )
    feature = DerivedFeature._derived(lambda _render: parsed.copy())
    feature._dtype = dtype
    return feature


def transform_sql(text: str, dtype: FeatureFactory | None = None) -> FeatureFactory:
    """`family_size = transform_sql("sibsp + parch + 1")`; pass `Int32()` to type it."""
    return sql_feature(text, dtype.dtype if dtype is not None else None)


TimestampRole = Literal["event_timestamp", "created_timestamp"]


class DerivedFeature(FeatureFactory):
    """A feature computed from others (its type is inferred later unless given)."""


class Bool(FeatureFactory):
    _default_dtype = DataType.BOOL


class Int8(FeatureFactory):
    _default_dtype = DataType.INT8


class Int16(FeatureFactory):
    _default_dtype = DataType.INT16


class Int32(FeatureFactory):
    _default_dtype = DataType.INT32


class Int64(FeatureFactory):
    _default_dtype = DataType.INT64


class Float(FeatureFactory):
    _default_dtype = DataType.FLOAT


class Float32(FeatureFactory):
    _default_dtype = DataType.FLOAT32


class String(FeatureFactory):
    _default_dtype = DataType.STRING


class Date(FeatureFactory):
    _default_dtype = DataType.DATE


class Timestamp(FeatureFactory):
    _default_dtype = DataType.TIMESTAMP


class Json(FeatureFactory):
    _default_dtype = DataType.JSON


class Embedding(FeatureFactory):
    _default_dtype = DataType.EMBEDDING


class EventTimestamp(FeatureFactory):
    """The view's event time column (not listed among its features)."""

    _default_dtype = DataType.TIMESTAMP
    role: TimestampRole = "event_timestamp"


class CreatedTimestamp(FeatureFactory):
    """The view's tie-breaker column for equal event times (not a feature)."""

    _default_dtype = DataType.TIMESTAMP
    role: TimestampRole = "created_timestamp"
