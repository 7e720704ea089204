"""The dialect interface: every difference between engines lives behind it.

The compiler builds dialect-neutral sqlglot ASTs and asks the dialect only for the
pieces that differ: how to scan a file, how to turn a timestamp column into an
instant, how to write types, durations and infinities, and how to attach one
feature view to a spine point-in-time (the join strategy differs per engine,
chosen by measurement; see `duckdb.py` and `postgres.py`).
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cache
from typing import Self

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect as SqlglotDialect

from aligned_cli.core.ir import Source
from aligned_cli.core.types import DataType


def ident(name: str) -> exp.Identifier:
    """A quoted identifier: user names are never pasted into SQL text."""
    if type(name) is str:  # what `to_identifier` builds, minus its checks (hot path)
        return exp.Identifier(this=name, quoted=True)
    return exp.to_identifier(name, quoted=True)


def column(name: str, table: str | None = None) -> exp.Column:
    return exp.Column(this=ident(name), table=ident(table) if table else None)


def sql_type(text: str, dialect: str | None = None) -> exp.DataType:
    """`exp.DataType.build(text)`, parsed once per type (parsing dominates compiling)."""
    parsed, flat = _parsed_type(text, dialect)
    if flat:
        # A type without child nodes (INT, TIMESTAMPTZ) is rebuilt from its args:
        # compiling casts thousands of columns, and a deep copy costs several times more.
        return exp.DataType(**parsed.args)
    return parsed.copy()


@cache
def sqlglot_dialect(name: str) -> SqlglotDialect:
    """sqlglot's dialect `name`, made once: `sql(dialect="duckdb")` makes one per call
    (a tenth of rendering a big project's SQL). Generators are made per call still."""
    return SqlglotDialect.get_or_raise(name)


@cache
def _parsed_type(text: str, dialect: str | None) -> tuple[exp.DataType, bool]:
    """The parsed type, and whether it has no child nodes, comments or metadata."""
    parsed = exp.DataType.build(text, dialect=dialect)
    children = any(isinstance(v, exp.Expr | list) and v for v in parsed.args.values())
    return parsed, not (children or parsed.comments or parsed.meta)


# Source column types are DuckDB's names (compile time reads file headers with DuckDB),
# whichever engine the SQL is for.
_AWARE_TIME_TYPES = frozenset({"TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"})
_NAIVE_TIME_TYPES = frozenset(
    {"TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "DATETIME", "DATE"}
)


def time_kind(source_type: str | None) -> str | None:
    """A source column type's kind: naive, aware, or None (not a timestamp type, or
    unknown: then decided per value at run time)."""
    if source_type is None:
        return None
    upper = source_type.upper()
    if upper in _AWARE_TIME_TYPES:
        return "aware"
    if upper in _NAIVE_TIME_TYPES:
        return "naive"
    return None


@dataclass(frozen=True)
class TemporalJoin:
    """One feature view attached to the spine point-in-time (SPEC §4).

    `view` is a relation with the view's rows (entity keys, `event_timestamp`,
    `created_timestamp`, features); `spine_alias` exposes the entity keys and the
    instant column `spine_time`. The dialect returns the join and, per feature, the
    expression that reads the matched value (NULL where no row qualifies).
    """

    view: exp.Expr
    alias: str
    spine_alias: str
    spine_time: str
    entities: tuple[str, ...]
    event_timestamp: str
    created_timestamp: str | None
    ttl_seconds: int | None
    features: tuple[str, ...]
    # Columns of `view` already holding the event/created times in the dialect's
    # point-in-time representation (`Dialect.pit_instant`); None: convert them.
    pit_event: str | None = None
    pit_created: str | None = None
    # The numbered spine CTE and its unique row column, for strategies that read the
    # spine again and join their result back by row (union windows, range joins).
    spine_relation: str | None = None
    spine_row: str | None = None


@dataclass(frozen=True)
class AttachedView:
    join: exp.Join
    values: dict[str, exp.Expr]  # feature name -> expression reading it


class Dialect(ABC):
    """What the compiler needs to know about one engine."""

    name: str
    sqlglot_name: str
    # True when point-in-time joins compare instants in a representation other than
    # the view's output type (then views also expose `pit_instant` columns).
    separate_pit_times: bool = False
    # True when `sql` renders a tree as sqlglot does, each node's text on its own: a
    # compile session may then render a recurring piece once and embed its text.
    composes_text: bool = True
    # True when a window can be framed by a time offset (`window_frame_offset`): then
    # long-window count/sum/mean aggregate RANGE frames, else running sums.
    frames_by_time: bool = False
    # True when the engine accepts `WITH x AS MATERIALIZED (...)` (PostgreSQL, DuckDB):
    # then a CTE read more than once whose rows must not change between reads is
    # marked so. BigQuery, Snowflake and Trino have no such syntax; their spine
    # numbering is deterministic instead (`checked.number_rows_by_content`).
    materialized_ctes: bool = True
    # Functions sqlglot knows but prints for this engine as a function it does not have
    # (`split`, `levenshtein` on PostgreSQL): a derived expression written in another
    # dialect that uses one is a compile error (`compile.expressions.translate_expression`).
    untranslatable: tuple[type[exp.Expr], ...] = ()
    # The project being compiled, for dialects that name aligned's own objects per
    # project (PostgreSQL's staged file sources); set through `for_project`.
    project_name: str | None = None

    def for_project(self, name: str) -> Self:
        """This dialect compiling project `name`: a copy, `self` is left unchanged."""
        if self.project_name == name:
            return self
        other = copy.copy(self)
        other.project_name = name
        return other

    @abstractmethod
    def file_scan(self, source: Source) -> exp.Expr:
        """A table expression reading a file source's raw rows."""

    @abstractmethod
    def staged_file(self, source: Source) -> bool:
        """True when file sources are staged into a table (columns already mapped)."""

    @abstractmethod
    def to_instant(
        self, value: exp.Expr, timezone: str | None, source_type: str | None = None
    ) -> exp.Expr:
        """`value` as an absolute instant; naive values are read in `timezone` (UTC).

        `source_type` is the column's DuckDB type when known (`Source.columns`)."""

    def pit_instant(
        self, value: exp.Expr, timezone: str | None, source_type: str | None = None
    ) -> exp.Expr:
        """`value` as the instant point-in-time joins compare (see `to_instant`)."""
        return self.to_instant(value, timezone, source_type)

    def pit_from_instant(self, instant: exp.Expr) -> exp.Expr:
        """An instant (`to_instant`'s type) in the point-in-time representation."""
        return instant

    def pit_now(self) -> exp.Expr:
        return self.now()

    def pit_infinity(self, positive: bool) -> exp.Expr:
        return self.infinity(positive)

    @abstractmethod
    def data_type(self, dtype: DataType) -> exp.DataType:
        """The engine's column type for one of our types."""

    @abstractmethod
    def temporal_join(self, spec: TemporalJoin) -> AttachedView:
        """Join the latest qualifying row of a view to every spine row."""

    def spine_record(self, source_alias: str, record: str) -> list[exp.Expr]:
        """Extra columns the numbered spine keeps when the spine's columns are unknown
        at compile time, so that `spine_star` can output exactly the spine's own columns.

        Default: the whole row as one record (PostgreSQL's `alias` as a row value)."""
        return [exp.alias_(exp.Column(this=ident(source_alias)), ident(record))]

    def spine_star(self, alias: str, record: str, internal: tuple[str, ...]) -> list[exp.Expr]:
        """The spine's own columns (not `internal`) when unknown at compile time."""
        del internal
        return [exp.Dot(this=exp.Paren(this=column(record, alias)), expression=exp.Star())]

    def cast(
        self,
        value: exp.Expr,
        dtype: DataType,
        timezone: str | None,
        source_type: str | None = None,
    ) -> exp.Expr:
        """A pass-through column cast to its declared type (timestamps to instants)."""
        if dtype is DataType.TIMESTAMP:
            return self.to_instant(value, timezone, source_type)
        return exp.Cast(this=value, to=self.data_type(dtype))

    def seconds(self, seconds: int) -> exp.Expr:
        """A fixed-length duration: an interval of seconds, never calendar days."""
        return exp.Interval(this=exp.Literal.string(str(seconds)), unit=exp.var("SECOND"))

    def ascending(self, value: exp.Expr) -> exp.Ordered:
        """`value` ascending, for a value that is never NULL: with the engine's own NULL
        placement, so no NULLS FIRST/LAST is written (BigQuery rejects one in windows)."""
        ordering = sqlglot_dialect(self.sqlglot_name).NULL_ORDERING
        return exp.Ordered(this=value, nulls_first=ordering == "nulls_are_small")

    def window_frame_offset(self, seconds: int) -> exp.Expr:
        """`RANGE BETWEEN <this> PRECEDING AND CURRENT ROW` over a view's event times
        covering exactly `t - seconds < event <= t`: one microsecond less than the
        window (times are microsecond instants). Only where `frames_by_time`."""
        raise NotImplementedError(f"{self.name} does not frame windows by time")

    def infinity(self, positive: bool) -> exp.Expr:
        text = "infinity" if positive else "-infinity"
        return exp.Cast(this=exp.Literal.string(text), to=sql_type("TIMESTAMPTZ"))

    def now(self) -> exp.Expr:
        return exp.CurrentTimestamp()

    def derived_value(self, expression: exp.Expr) -> exp.Expr:
        """A derived feature's expression as this engine must spell it to compute what
        DuckDB computes (the expressions are DuckDB SQL); a copy when it changes."""
        return expression

    def sql(self, expression: exp.Expr, pretty: bool = True, *, copy: bool = True) -> str:
        """SQL text; `copy=False` (a tree the caller discards) skips the generator's copy."""
        return expression.sql(dialect=sqlglot_dialect(self.sqlglot_name), pretty=pretty, copy=copy)
