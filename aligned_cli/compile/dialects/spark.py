"""Apache Spark SQL: point-in-time by one window over the union of spine and view rows.

Spark has no ASOF join and no LATERAL top-1 that it can run set-based: a range join
with `row_number()` shuffles every (spine row, older event) pair, so its cost grows
with each entity's history. The union window (`pit_forms.union_window_join`) sorts
spine and event rows together once per entity, and each spine row takes the last
non-NULL struct of the view's row before it: O(n log n).

When rendering, `sql` shapes the dataset query for Spark's planner (measured at 10M
feature rows, `benchmarks/spark_bench.py`):

- the windows of all views sharing the entity keys are fused into one (one record
  column per view): one shuffle and one sort for all of them, not one per view;
- the spine's rows ride through the first such window whole (a struct) and come out
  as the dataset's FROM: that window's views need no join back on the row number;
- the stream is distributed by the keys and sorted by `xxhash64(keys)` before the
  window, which is partitioned by (that hash, keys): see `union_window_join`;
- a round-robin `REPARTITION` hint under the final ORDER BY (its sampling job would
  otherwise compute the window a second time);
- no `AS MATERIALIZED` (not Spark SQL; see `sql`).

File sources are read through temporary views the Spark adapter registers per source
(`source_view_name`): CSVs are parsed by DuckDB (the same values as a DuckDB run) and
staged as parquet, parquet files are read in place, and the source's `mapping` is
applied in the view (so compiled SQL never re-maps them).

Timestamps are Spark `TIMESTAMP` (an instant shown in the session time zone); the
compiled SQL assumes `spark.sql.session.timeZone=UTC` (the adapter sets it; set it
too when running the SQL with `spark-submit`), so naive values read as UTC. Point-in-
time joins compare `TIMESTAMP_NTZ` values holding the UTC wall time (`pit_instant`):
a naive parquet timestamp, read by Spark as `TIMESTAMP_NTZ`, is compared as it is.
"""

from __future__ import annotations

from sqlglot import exp

from aligned_cli.compile.dialects.base import (
    AttachedView,
    Dialect,
    TemporalJoin,
    column,
    ident,
    sql_type,
    time_kind,
)
from aligned_cli.compile.dialects.checked import day_of_week_forms, render_checked
from aligned_cli.compile.dialects.pit_forms import (
    fuse_union_windows,
    has_union_window_join,
    union_window_join,
)
from aligned_cli.compile.dialects.real_math import real_math
from aligned_cli.core.ir import Source
from aligned_cli.core.naming import source_view_name
from aligned_cli.core.types import DataType

_TYPES = {
    DataType.BOOL: "BOOLEAN",
    DataType.INT8: "TINYINT",
    DataType.INT16: "SMALLINT",
    DataType.INT32: "INT",
    DataType.INT64: "BIGINT",
    DataType.FLOAT: "DOUBLE",
    DataType.FLOAT32: "FLOAT",
    DataType.STRING: "STRING",
    DataType.DATE: "DATE",
    DataType.TIMESTAMP: "TIMESTAMP",
    DataType.JSON: "STRING",
    DataType.EMBEDDING: "ARRAY<DOUBLE>",
}


_DOUBLE = exp.DataType.build("DOUBLE", dialect="spark")
_REWRITTEN = (exp.Week, exp.Ln, exp.Log, exp.Sqrt, exp.Trunc)


def _iso_day(ts: exp.Expr) -> exp.Expr:
    """1 = Monday .. 7 = Sunday from Spark's WEEKDAY (0 = Monday): Spark's DAYOFWEEK and
    EXTRACT(DOW) count Sunday as 1, and sqlglot's ISO day built on them is off by one."""
    weekday = exp.Anonymous(this="WEEKDAY", expressions=[ts])
    return exp.Add(this=weekday, expression=exp.Literal.number(1))


def _spark_form(node: exp.Expr) -> exp.Expr:
    """A DuckDB function Spark spells or computes otherwise, as Spark computes the same:
    DuckDB's `week` is the ISO week (Spark's WEEKOFYEAR), sqlglot's TRUNC is a CAST to
    BIGINT, and logarithms of 0 and below are NULL in Spark."""
    if isinstance(node, exp.Week) and not node.args.get("mode"):
        return exp.Anonymous(this="WEEKOFYEAR", expressions=[node.this])
    if isinstance(node, exp.Trunc) and not node.args.get("decimals"):
        # The CAST overflows (an error in ANSI mode) past 9.2e18; minus the remainder
        # by 1 truncates a double in place.
        value = exp.paren(node.this.copy())
        remainder = exp.Mod(this=value.copy(), expression=exp.Literal.number(1))
        return exp.paren(exp.Sub(this=value, expression=remainder))
    if isinstance(node, exp.Ln | exp.Log | exp.Sqrt):
        ten = exp.Literal.number(10)
        return real_math(node, _DOUBLE, base_ten=lambda x: exp.Log(this=ten, expression=x))
    return node


class SparkDialect(Dialect):
    name = "spark"
    sqlglot_name = "spark"
    # Rendered through `render_checked`, which must see whole trees (no text pieces).
    composes_text = False
    # Point-in-time joins compare TIMESTAMP_NTZ values holding UTC wall times (see
    # `pit_instant`), not TIMESTAMPs.
    separate_pit_times = True

    def derived_value(self, expression: exp.Expr) -> exp.Expr:
        expression = day_of_week_forms(expression, iso=_iso_day)
        if expression.find(*_REWRITTEN) is None:
            return expression
        return expression.transform(_spark_form)

    def file_scan(self, source: Source) -> exp.Expr:
        return exp.Table(this=ident(source_view_name(source.name)))

    def staged_file(self, source: Source) -> bool:
        return True  # the adapter's view applies the mapping

    def to_instant(
        self, value: exp.Expr, timezone: str | None, source_type: str | None = None
    ) -> exp.Expr:
        # With the session zone UTC, CAST(... AS TIMESTAMP) reads a naive value
        # (TIMESTAMP_NTZ, or a string without offset) as UTC and keeps an instant
        # (TIMESTAMP, or a string with an offset) as it is.
        as_instant = exp.Cast(this=value.copy(), to=sql_type("TIMESTAMP", "spark"))
        if timezone is None:
            return as_instant
        # A declared zone: shift the naive wall-clock value (read as UTC) to that zone.
        naive = exp.Anonymous(
            this="to_utc_timestamp",
            expressions=[as_instant.copy(), exp.Literal.string(timezone)],
        )
        kind = time_kind(source_type)
        if kind == "naive":
            return naive
        if kind == "aware":
            return as_instant
        typeof = exp.Anonymous(this="typeof", expressions=[value.copy()])
        aware = exp.EQ(this=typeof, expression=exp.Literal.string("timestamp"))
        return exp.Case(ifs=[exp.If(this=aware, true=as_instant)], default=naive)

    def pit_instant(
        self, value: exp.Expr, timezone: str | None, source_type: str | None = None
    ) -> exp.Expr:
        # Spark reads a naive parquet timestamp as TIMESTAMP_NTZ; with the session in
        # UTC its wall time is its instant's, so it is compared as it is. A CAST to
        # TIMESTAMP would convert every value (measured: ~10% of a 10M-row join).
        if timezone is None and time_kind(source_type) == "naive":
            return exp.Cast(this=value, to=sql_type("TIMESTAMP_NTZ", "spark"))
        return self.pit_from_instant(self.to_instant(value, timezone, source_type))

    def pit_from_instant(self, instant: exp.Expr) -> exp.Expr:
        # The instant's wall time in the session zone, UTC. A relation handed in with
        # instants (TIMESTAMP) compares right too: Spark widens TIMESTAMP_NTZ to
        # TIMESTAMP in the session zone.
        return exp.Cast(this=instant, to=sql_type("TIMESTAMP_NTZ", "spark"))

    def pit_now(self) -> exp.Expr:
        return self.pit_from_instant(self.now())

    def data_type(self, dtype: DataType) -> exp.DataType:
        return sql_type(_TYPES[dtype], "spark")

    def seconds(self, seconds: int) -> exp.Expr:
        # A day-time interval of seconds only: a fixed length, never calendar days.
        return exp.Anonymous(
            this="make_dt_interval",
            expressions=[
                exp.Literal.number(0),
                exp.Literal.number(0),
                exp.Literal.number(0),
                exp.Literal.number(seconds),
            ],
        )

    def spine_record(self, source_alias: str, record: str) -> list[exp.Expr]:
        # Spark has no `* EXCEPT`: keep the spine's row as one struct to expand later.
        star = exp.Column(this=exp.Star(), table=ident(source_alias))
        return [exp.alias_(exp.Struct(expressions=[star]), ident(record))]

    def spine_star(self, alias: str, record: str, internal: tuple[str, ...]) -> list[exp.Expr]:
        return [exp.Dot(this=column(record, alias), expression=exp.Star())]

    def temporal_join(self, spec: TemporalJoin) -> AttachedView:
        return union_window_join(
            spec, record=_struct, field=_field, seconds=self.seconds, cluster=_key_hash
        )

    def sql(self, expression: exp.Expr, pretty: bool = True, *, copy: bool = True) -> str:
        tree = expression.copy() if copy else expression
        tree = fuse_union_windows(tree, cluster=_key_hash, ride=True)
        tree = tree.transform(_latest_by, copy=False).transform(_ordered_row_number, copy=False)
        tree = tree.transform(_repartition_before_order, copy=False)
        for cte in tree.find_all(exp.CTE):
            # Spark SQL has no `AS MATERIALIZED` (a syntax error), and needs none: a CTE
            # with a non-deterministic expression (the spine's row id) read more than
            # once is never inlined; Spark computes it once and reuses its shuffle.
            cte.set("materialized", None)
        return render_checked(self.name, self.sqlglot_name, tree, pretty)


def _key_hash(keys: list[exp.Expr]) -> exp.Expr:
    """One long per entity (`union_window_join`'s `cluster`): Spark's `xxhash64`."""
    return exp.Anonymous(this="xxhash64", expressions=keys)


def _repartition_before_order(node: exp.Expr) -> exp.Expr:
    """A round-robin `REPARTITION` under the ORDER BY of a point-in-time dataset.

    The ORDER BY range-partitions its input, and Spark samples that input with a job
    of its own: without a shuffle in between, the sampling job computes the stage
    before it (the window, or the joins back to the spine) a second time. After a
    round-robin shuffle of the one row per spine row, it reads shuffle files instead.
    """
    if (
        isinstance(node, exp.Select)
        and node.args.get("order")
        and not node.args.get("hint")
        and has_union_window_join(node)
    ):
        node.set("hint", exp.Hint(expressions=[exp.var("REPARTITION")]))
    return node


def _struct(fields: list[tuple[str, exp.Expr]]) -> exp.Expr:
    return exp.Struct(expressions=[exp.PropertyEQ(this=ident(n), expression=v) for n, v in fields])


def _field(record: exp.Expr, name: str) -> exp.Expr:
    return exp.Dot(this=record, expression=ident(name))


def _latest_by(node: exp.Expr) -> exp.Expr:
    """`(ARRAY_AGG(v ORDER BY e DESC) FILTER (WHERE c))[0]` as `MAX_BY(v, e) FILTER (WHERE c)`.

    Spark's `collect_list` has no ORDER BY (sqlglot would silently drop it); the
    latest value by a unique event time is exactly `max_by`.
    """
    if not (isinstance(node, exp.Bracket) and isinstance(node.this, exp.Paren)):
        return node
    inner = node.this.this
    index = node.expressions
    if not (
        isinstance(inner, exp.Filter)
        and isinstance(inner.this, exp.ArrayAgg)
        and isinstance(inner.this.this, exp.Order)
        and len(index) == 1
        and index[0] == exp.Literal.number(0)
    ):
        return node
    order = inner.this.this
    keys = order.expressions
    if len(keys) != 1 or not keys[0].args.get("desc"):
        return node
    latest = exp.ArgMax(this=order.this.copy(), expression=keys[0].this.copy())
    return exp.Filter(this=latest, expression=inner.expression.copy())


def _ordered_row_number(node: exp.Expr) -> exp.Expr:
    """`ROW_NUMBER() OVER (...)` without ORDER BY, ordered by the rows' scan order.

    Spark refuses an unordered `row_number()`. Where the compiler numbers rows
    without an order (the spine: its file order; one row per duplicate key: any),
    `monotonically_increasing_id()` is the order the rows were read in; the spine's
    number is that id itself.
    """
    unordered = isinstance(node, exp.Window) and node.args.get("order") is None
    if unordered and isinstance(node.this, exp.RowNumber):
        scan_order = exp.Anonymous(this="monotonically_increasing_id", expressions=[])
        if not node.args.get("partition_by"):
            # Numbering the whole spine needs no window at all: the id increases in
            # scan order and is unique, which is all its row number is used for. A
            # window with no partition would run on one task (measured: most of a
            # 1M-row spine's time on Spark).
            return scan_order
        node.set("order", exp.Order(expressions=[exp.Ordered(this=scan_order)]))
    return node
