"""Portable point-in-time forms for engines without DuckDB's struct-key ASOF join.

Both forms read the numbered spine CTE again (`TemporalJoin.spine_relation`) and
join their one-row-per-spine-row result back on the spine's row number, so they
need nothing but standard SQL windows. Both implement SPEC §4 exactly: the latest
event `<= t` per entity, ties on the event time broken by the greatest created
(a NULL created loses), TTL inclusive, NULL keys and NULL spine times match nothing,
a NULL in the selected row stays NULL.

- `union_window_join`: spine rows and view rows in one stream, sorted per entity by
  time; each spine row takes the last non-NULL *record* of the view's row before it
  (`LAST_VALUE(record) IGNORE NULLS`). One sort, O(n log n) whatever the history's
  length: the form for distributed engines (Spark, BigQuery). A record (struct) keeps
  the selected row whole, so a NULL feature never falls back to an older row.
- `range_join`: every qualifying event per spine row, ranked with `ROW_NUMBER()`;
  cost grows with the events per entity, but needs no struct type (Snowflake's
  OBJECT would lose the features' types; Trino's ROW fields are positional).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from aligned_cli.compile.dialects.base import AttachedView, TemporalJoin, column, ident

# Internal column names of the forms' subqueries (never output).
TIME = "__aligned_t"
IS_SPINE = "__aligned_is_spine"
CREATED = "__aligned_c"
RECORD = "__aligned_rec"
RECORD_EVENT = "__aligned_event"
RANK = "__aligned_rank"

Seconds = Callable[[int], exp.Expr]
Field = Callable[[exp.Expr, str], exp.Expr]


def _times(spec: TemporalJoin) -> tuple[exp.Expr, exp.Expr | None]:
    """The view's event and created columns in the point-in-time representation."""
    event = column(spec.pit_event or spec.event_timestamp)
    created_name = spec.pit_created or spec.created_timestamp
    return event, column(created_name) if spec.created_timestamp and created_name else None


def _spine(spec: TemporalJoin) -> tuple[str, str]:
    if spec.spine_relation is None or spec.spine_row is None:
        raise ValueError("this point-in-time form needs the numbered spine (spine_relation)")
    return spec.spine_relation, spec.spine_row


def _present(*values: exp.Expr) -> exp.Expr:
    """All of `values` non-NULL: NULL keys and times match nothing."""
    return exp.and_(
        *(exp.Not(this=exp.Is(this=v.copy(), expression=exp.Null())) for v in values), copy=False
    )


def _subquery(query: exp.Expr, alias: str) -> exp.Subquery:
    return exp.Subquery(this=query, alias=exp.TableAlias(this=ident(alias)))


def _join_back(query: exp.Query, spec: TemporalJoin, row: str) -> exp.Join:
    return exp.Join(
        this=_subquery(query, spec.alias),
        side="LEFT",
        on=exp.EQ(this=column(row, spec.alias), expression=column(row, spec.spine_alias)),
    )


def _fresh(event: exp.Expr, spec: TemporalJoin, seconds: Seconds) -> exp.Expr:
    """The inclusive TTL bound `event >= t - ttl` against the outer spine row."""
    assert spec.ttl_seconds is not None
    spine_t = column(spec.spine_time, spec.spine_alias)
    return exp.GTE(
        this=event, expression=exp.Sub(this=spine_t, expression=seconds(spec.ttl_seconds))
    )


def union_window_join(
    spec: TemporalJoin,
    *,
    record: Callable[[list[tuple[str, exp.Expr]]], exp.Expr],
    field: Field,
    seconds: Seconds,
) -> AttachedView:
    """Last non-NULL record per entity over the time-sorted union of spine and view.

    `record(fields)` builds the dialect's struct of named values; `field(record,
    name)` reads one back. Within one entity the stream is sorted by time, then view
    rows before spine rows (an event at exactly `t` qualifies), then created
    ascending with NULL first, so the last record before a spine row is the greatest
    created among the latest events.
    """
    spine_name, row = _spine(spec)
    event, created = _times(spec)
    fields = [(RECORD_EVENT, event.copy())] + [(f, column(f)) for f in spec.features]
    keys = [column(k) for k in spec.entities]
    # The view's part comes first: its column types are the union's.
    events = (
        exp.select(
            *keys,
            exp.alias_(event.copy(), ident(TIME)),
            exp.alias_(exp.Literal.number(0), ident(IS_SPINE)),
            exp.alias_(created.copy() if created is not None else exp.Null(), ident(CREATED)),
            exp.alias_(exp.Null(), ident(row)),
            exp.alias_(record(fields), ident(RECORD)),
            copy=False,
        )
        .from_(_subquery(spec.view, "v"), copy=False)
        .where(_present(*keys, event), copy=False)
    )
    spine_keys = [column(k) for k in spec.entities]
    lookups = (
        exp.select(
            *spine_keys,
            exp.alias_(column(spec.spine_time), ident(TIME)),
            exp.alias_(exp.Literal.number(1), ident(IS_SPINE)),
            exp.alias_(exp.Null(), ident(CREATED)),
            exp.alias_(column(row), ident(row)),
            exp.alias_(exp.Null(), ident(RECORD)),
            copy=False,
        )
        .from_(exp.Table(this=ident(spine_name)), copy=False)
        .where(_present(*spine_keys, column(spec.spine_time)), copy=False)
    )
    stream = exp.union(events, lookups, distinct=False, copy=False)
    latest = exp.Window(
        this=exp.IgnoreNulls(this=exp.LastValue(this=column(RECORD))),
        partition_by=[column(k) for k in spec.entities],
        order=exp.Order(
            expressions=[
                exp.Ordered(this=column(TIME), nulls_first=False),
                exp.Ordered(this=column(IS_SPINE), nulls_first=False),
                exp.Ordered(this=column(CREATED), nulls_first=True),
            ]
        ),
        spec=exp.WindowSpec(
            kind="ROWS",
            start="UNBOUNDED",
            start_side="PRECEDING",
            end="CURRENT ROW",
        ),
    )
    windowed = exp.select(
        column(row), column(IS_SPINE), exp.alias_(latest, ident(RECORD)), copy=False
    ).from_(_subquery(stream, "u"), copy=False)
    matched = (
        exp.select(column(row), column(RECORD), copy=False)
        .from_(_subquery(windowed, "w"), copy=False)
        .where(exp.EQ(this=column(IS_SPINE), expression=exp.Literal.number(1)), copy=False)
    )
    rec = column(RECORD, spec.alias)
    values: dict[str, exp.Expr] = {}
    for feature in spec.features:
        value = field(rec.copy(), feature)
        if spec.ttl_seconds is not None:
            fresh = _fresh(field(rec.copy(), RECORD_EVENT), spec, seconds)
            value = exp.Case(ifs=[exp.If(this=fresh, true=value)])
        values[feature] = value
    return AttachedView(join=_join_back(matched, spec, row), values=values)


def range_join(spec: TemporalJoin, *, seconds: Seconds) -> AttachedView:
    """Every event `<= t` (and `>= t - ttl`) of the entity, the best ranked first."""
    spine_name, row = _spine(spec)
    event, created = _times(spec)
    view_event = column(event.name, "v")
    spine_t = column(spec.spine_time, "p")
    conditions: list[exp.Expr] = [
        exp.EQ(this=column(k, "v"), expression=column(k, "p")) for k in spec.entities
    ]
    conditions.append(exp.LTE(this=view_event.copy(), expression=spine_t.copy()))
    if spec.ttl_seconds is not None:
        conditions.append(
            exp.GTE(
                this=view_event.copy(),
                expression=exp.Sub(this=spine_t.copy(), expression=seconds(spec.ttl_seconds)),
            )
        )
    order = [exp.Ordered(this=view_event.copy(), desc=True, nulls_first=False)]
    if created is not None:
        # A NULL created_timestamp loses to any non-NULL one.
        order.append(exp.Ordered(this=column(created.name, "v"), desc=True, nulls_first=False))
    rank = exp.Window(
        this=exp.RowNumber(),
        partition_by=[column(row, "p")],
        order=exp.Order(expressions=order),
    )
    # Equality on a NULL key or time is never true: NULLs match nothing.
    ranked = (
        exp.select(
            column(row, "p"),
            *(column(f, "v") for f in spec.features),
            exp.alias_(rank, ident(RANK)),
            copy=False,
        )
        .from_(exp.Table(this=ident(spine_name), alias=exp.TableAlias(this=ident("p"))), copy=False)
        .join(_subquery(spec.view, "v"), on=exp.and_(*conditions, copy=False), copy=False)
    )
    best = (
        exp.select(column(row), *(column(f) for f in spec.features), copy=False)
        .from_(_subquery(ranked, "r"), copy=False)
        .where(exp.EQ(this=column(RANK), expression=exp.Literal.number(1)), copy=False)
    )
    values: dict[str, exp.Expr] = {f: column(f, spec.alias) for f in spec.features}
    return AttachedView(join=_join_back(best, spec, row), values=values)
