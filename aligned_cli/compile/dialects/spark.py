"""Apache Spark SQL: point-in-time by one window over the union of spine and view rows.

Spark has no ASOF join and no LATERAL top-1 that it can run set-based: a range join
with `row_number()` shuffles every (spine row, older event) pair, so its cost grows
with each entity's history. The union window (`pit_forms.union_window_join`) sorts
spine and event rows together once per entity, and each spine row takes the last
non-NULL struct of the view's row before it: O(n log n), one shuffle per view.

File sources are read through temporary views the Spark adapter registers per source
(`source_view_name`): CSVs are parsed by DuckDB (the same values as a DuckDB run) and
staged as parquet, parquet files are read in place, and the source's `mapping` is
applied in the view (so compiled SQL never re-maps them).

Timestamps are Spark `TIMESTAMP` (an instant shown in the session time zone); the
compiled SQL assumes `spark.sql.session.timeZone=UTC` (the adapter sets it; set it
too when running the SQL with `spark-submit`), so naive values read as UTC.
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
from aligned_cli.compile.dialects.checked import render_checked
from aligned_cli.compile.dialects.pit_forms import union_window_join
from aligned_cli.core.ir import Source
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


def source_view_name(source_name: str) -> str:
    """The temporary view a file source is read through on Spark."""
    return f"aligned_source__{source_name}"


class SparkDialect(Dialect):
    name = "spark"
    sqlglot_name = "spark"
    # Rendered through `render_checked`, which must see whole trees (no text pieces).
    composes_text = False

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
        return union_window_join(spec, record=_struct, field=_field, seconds=self.seconds)

    def sql(self, expression: exp.Expr, pretty: bool = True, *, copy: bool = True) -> str:
        tree = expression.copy() if copy else expression
        tree = tree.transform(_latest_by, copy=False).transform(_ordered_row_number, copy=False)
        return render_checked(self.name, self.sqlglot_name, tree, pretty)


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
