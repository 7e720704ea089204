"""The SQL of `materialize`: the latest row per entity of one view, as a sqlglot AST.

Per entity: greatest event timestamp within the bounds, ties by the greatest created
timestamp (NULL created last), as SPEC §4 defines "latest". A static view gives one
row per key. Works on every dialect (a ranked subquery rather than QUALIFY).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlglot import exp

from aligned_cli.compile.dialects.base import Dialect, column, ident
from aligned_cli.compile.views import output_columns
from aligned_cli.core.ir import FeatureView

RANK = "__aligned_rank"
ROWS = "__aligned_rows"
RANKED = "__aligned_ranked"


@dataclass(frozen=True)
class Bounds:
    """Which rows qualify: `after < event_timestamp <= end`, `event_timestamp >= since`.

    `after` is the watermark (exclusive) or `--start` (then `start_inclusive`),
    `since` is `now - ttl` (inclusive, SPEC §4)."""

    end: datetime | None = None
    after: datetime | None = None
    start_inclusive: bool = False
    since: datetime | None = None


def latest_rows_query(
    view: FeatureView, rows: exp.Query, bounds: Bounds, dialect: Dialect
) -> exp.Select:
    """`rows` is the view's compiled query (`view_query`)."""
    del dialect  # the AST is dialect-neutral; kept for symmetry with the compiler
    columns = output_columns(view)
    conditions: list[exp.Expr] = [
        exp.Not(this=exp.Is(this=column(name), expression=exp.Null())) for name in view.entities
    ]
    order: list[exp.Ordered] = []
    if view.event_timestamp:
        ts = column(view.event_timestamp)
        conditions.append(exp.Not(this=exp.Is(this=ts.copy(), expression=exp.Null())))
        if bounds.end is not None:
            conditions.append(exp.LTE(this=ts.copy(), expression=_instant(bounds.end)))
        if bounds.after is not None:
            compare = exp.GTE if bounds.start_inclusive else exp.GT
            conditions.append(compare(this=ts.copy(), expression=_instant(bounds.after)))
        if bounds.since is not None:
            conditions.append(exp.GTE(this=ts.copy(), expression=_instant(bounds.since)))
        order.append(exp.Ordered(this=ts.copy(), desc=True, nulls_first=False))
        if view.created_timestamp:
            created = column(view.created_timestamp)
            order.append(exp.Ordered(this=created, desc=True, nulls_first=False))
    rank = exp.Window(
        this=exp.RowNumber(),
        partition_by=[column(name) for name in view.entities],
        order=exp.Order(expressions=order) if order else None,
    )
    ranked = (
        exp.select(*(column(name) for name in columns), exp.alias_(rank, ident(RANK)))
        .from_(exp.Subquery(this=rows, alias=exp.TableAlias(this=ident(ROWS))))
        .where(exp.and_(*conditions))
    )
    return (
        exp.select(*(column(name) for name in columns))
        .from_(exp.Subquery(this=ranked, alias=exp.TableAlias(this=ident(RANKED))))
        .where(exp.EQ(this=column(RANK), expression=exp.Literal.number(1)))
    )


def _instant(value: datetime) -> exp.Expr:
    return exp.Cast(
        this=exp.Literal.string(value.isoformat()), to=exp.DataType.build("TIMESTAMPTZ")
    )
