"""DuckDB: files read in place, point-in-time by one ASOF join per view.

Measured on this project's benchmark (10M feature rows, 1M spine rows): an ASOF
LEFT JOIN on the entity keys plus a STRUCT key `{t, +inf} >= {event, created}`
takes ~2.1 s and breaks ties on `created_timestamp` in the same pass; the forms
that deduplicate first take 4+ s and range joins with row_number 6-30 s. A plain
ASOF on the event timestamp alone is wrong on ties, so the struct is essential.
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
from aligned_cli.core.ir import Source
from aligned_cli.core.types import DataType

_TYPES = {
    DataType.BOOL: "BOOLEAN",
    DataType.INT8: "TINYINT",
    DataType.INT16: "SMALLINT",
    DataType.INT32: "INTEGER",
    DataType.INT64: "BIGINT",
    DataType.FLOAT: "DOUBLE",
    DataType.FLOAT32: "REAL",
    DataType.STRING: "VARCHAR",
    DataType.DATE: "DATE",
    DataType.TIMESTAMP: "TIMESTAMPTZ",
    DataType.JSON: "JSON",
    DataType.EMBEDDING: "DOUBLE[]",
}


# Internal columns of the point-in-time join's view subquery.
PIT_EVENT = "__aligned_event"
PIT_KEY = "__aligned_key"


class DuckDBDialect(Dialect):
    name = "duckdb"
    sqlglot_name = "duckdb"
    # Point-in-time joins compare naive UTC TIMESTAMPs: on the benchmark (1M rows,
    # 100k spine) struct keys of TIMESTAMPTZ, and the ICU `timezone()` calls that
    # make them, cost ~40% more CPU than naive ones. Outputs stay TIMESTAMPTZ.
    separate_pit_times = True
    frames_by_time = True  # segment-tree RANGE frames: see compile/aggregations.py

    def file_scan(self, source: Source) -> exp.Expr:
        # The path stays exactly as declared: the adapter sets `file_search_path`
        # to the project root, so relative paths and globs resolve there.
        reader = "read_parquet" if source.file_format == "parquet" else "read_csv"
        return exp.Anonymous(this=reader, expressions=[exp.Literal.string(source.file or "")])

    def staged_file(self, source: Source) -> bool:
        return False

    def to_instant(
        self, value: exp.Expr, timezone: str | None, source_type: str | None = None
    ) -> exp.Expr:
        # `timezone(zone, naive)` does not depend on the session's TimeZone, so a
        # naive value reads as UTC (or the source's zone) whatever the machine says.
        # An aware value (or a string with an offset) is already an instant.
        kind = time_kind(source_type)
        if kind == "aware":
            return exp.Cast(this=value, to=sql_type("TIMESTAMPTZ"))
        naive = _timezone(timezone or "UTC", exp.Cast(this=value.copy(), to=sql_type("TIMESTAMP")))
        if kind == "naive":
            return naive
        aware = ["TIMESTAMP WITH TIME ZONE"] + (["VARCHAR"] if timezone is None else [])
        typeof = exp.Anonymous(this="typeof", expressions=[value.copy()])
        return exp.Case(
            ifs=[
                exp.If(
                    this=exp.In(this=typeof, expressions=[exp.Literal.string(a) for a in aware]),
                    true=exp.Cast(this=value.copy(), to=sql_type("TIMESTAMPTZ")),
                )
            ],
            default=naive,
        )

    def pit_instant(
        self, value: exp.Expr, timezone: str | None, source_type: str | None = None
    ) -> exp.Expr:
        if timezone is None and time_kind(source_type) == "naive":
            return exp.Cast(this=value, to=sql_type("TIMESTAMP"))  # already naive UTC
        return self.pit_from_instant(self.to_instant(value, timezone, source_type))

    def pit_from_instant(self, instant: exp.Expr) -> exp.Expr:
        # The cast is a no-op on TIMESTAMPTZ (a view's instants); it guards relations
        # handed in by callers (our adapters' session TimeZone is UTC).
        return _timezone("UTC", exp.Cast(this=instant, to=sql_type("TIMESTAMPTZ")))

    def pit_now(self) -> exp.Expr:
        return _timezone("UTC", exp.CurrentTimestamp())

    def pit_infinity(self, positive: bool) -> exp.Expr:
        text = "infinity" if positive else "-infinity"
        return exp.Cast(this=exp.Literal.string(text), to=sql_type("TIMESTAMP"))

    def data_type(self, dtype: DataType) -> exp.DataType:
        return sql_type(_TYPES[dtype], "duckdb")

    def spine_record(self, source_alias: str, record: str) -> list[exp.Expr]:
        return []  # `* EXCLUDE` drops our helper columns instead (`spine_star`)

    def spine_star(self, alias: str, record: str, internal: tuple[str, ...]) -> list[exp.Expr]:
        star = exp.Star(except_=[exp.Column(this=ident(c)) for c in internal])
        return [exp.Column(this=star, table=ident(alias))]

    def seconds(self, seconds: int) -> exp.Expr:
        # Microseconds only (no day or month part): a fixed length across DST.
        return exp.Anonymous(
            this="to_microseconds", expressions=[exp.Literal.number(seconds * 1_000_000)]
        )

    def window_frame_offset(self, seconds: int) -> exp.Expr:
        return exp.Anonymous(
            this="to_microseconds", expressions=[exp.Literal.number(seconds * 1_000_000 - 1)]
        )

    def temporal_join(self, spec: TemporalJoin) -> AttachedView:
        event = (
            column(spec.pit_event)
            if spec.pit_event
            else self.pit_from_instant(column(spec.event_timestamp))
        )
        created: exp.Expr = self.pit_infinity(False)
        if spec.created_timestamp:
            # A NULL created_timestamp loses to any non-NULL one.
            raw = (
                column(spec.pit_created)
                if spec.pit_created
                else self.pit_from_instant(column(spec.created_timestamp))
            )
            created = exp.Coalesce(this=raw, expressions=[created])
        # The struct key is computed in the view's subquery, not in the ON clause.
        view_key = exp.Struct(
            expressions=[
                exp.PropertyEQ(this=exp.to_identifier("t"), expression=event.copy()),
                exp.PropertyEQ(this=exp.to_identifier("c"), expression=created),
            ]
        )
        selected: list[exp.Expr] = [
            column(c) for c in dict.fromkeys([*spec.entities, *spec.features])
        ]
        if spec.ttl_seconds is not None:
            selected.append(exp.alias_(event.copy(), ident(PIT_EVENT), copy=False))
        selected.append(exp.alias_(view_key, ident(PIT_KEY), copy=False))
        # Rows without an event timestamp never qualify (and would sort last).
        rows = (
            exp.select(*selected, copy=False)
            .from_(exp.Subquery(this=spec.view, alias=exp.TableAlias(this=ident("v"))), copy=False)
            .where(exp.Not(this=exp.Is(this=event, expression=exp.Null())), copy=False)
        )
        spine_t = column(spec.spine_time, spec.spine_alias)
        # A NULL spine time must match nothing. Neither a struct holding NULL (it
        # sorts last, so it matches the newest row) nor a NULL key (DuckDB 2.0.1's
        # ASOF LEFT JOIN then corrupts the spine's columns) works, so the time is
        # -infinity in the key and the values are nulled below.
        spine_key = exp.Struct(
            expressions=[
                exp.PropertyEQ(
                    this=exp.to_identifier("t"),
                    expression=exp.Coalesce(
                        this=spine_t.copy(), expressions=[self.pit_infinity(False)]
                    ),
                ),
                exp.PropertyEQ(this=exp.to_identifier("c"), expression=self.pit_infinity(True)),
            ]
        )
        conditions: list[exp.Expr] = [
            exp.EQ(this=column(k, spec.spine_alias), expression=column(k, spec.alias))
            for k in spec.entities
        ]
        conditions.append(exp.GTE(this=spine_key, expression=column(PIT_KEY, spec.alias)))
        join = exp.Join(
            this=exp.Subquery(this=rows, alias=exp.TableAlias(this=ident(spec.alias))),
            method="ASOF",
            side="LEFT",
            on=exp.and_(*conditions, copy=False),
        )
        qualifies: exp.Expr = exp.Not(this=exp.Is(this=spine_t.copy(), expression=exp.Null()))
        if spec.ttl_seconds is not None:
            # The ASOF match is the latest row <= t; it qualifies only when it is no
            # older than t - ttl (inclusive bound).
            fresh = exp.GTE(
                this=column(PIT_EVENT, spec.alias),
                expression=exp.Sub(this=spine_t.copy(), expression=self.seconds(spec.ttl_seconds)),
            )
            qualifies = exp.and_(qualifies, fresh, copy=False)
        values: dict[str, exp.Expr] = {
            feature: exp.Case(ifs=[exp.If(this=qualifies.copy(), true=column(feature, spec.alias))])
            for feature in spec.features
        }
        return AttachedView(join=join, values=values)


def _timezone(zone: str, value: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this="timezone", expressions=[exp.Literal.string(zone), value])
