"""Snowflake: point-in-time by a range join ranked with `ROW_NUMBER()`.

Snowflake's `ASOF JOIN ... MATCH_CONDITION` compares one column only, so it cannot
break ties on `created_timestamp` (SPEC §4); the union-window form needs a struct,
and Snowflake's OBJECT would turn every feature into VARIANT. The range join keeps
types and is exact; its cost grows with each entity's history (not measured on
Snowflake itself: no account here; compiled and re-parsed in tests).

Instants are TIMESTAMP_NTZ holding UTC: unlike TIMESTAMP_TZ/LTZ they never depend on
the session's TIMEZONE parameter. A file source is read from the table
`aligned_sources.<source>` (loaded by the user with the `mapping` applied).
"""

from __future__ import annotations

from sqlglot import exp

from aligned_cli.compile.dialects.base import (
    AttachedView,
    Dialect,
    TemporalJoin,
    ident,
    sql_type,
    time_kind,
)
from aligned_cli.compile.dialects.checked import (
    day_of_week_forms,
    number_rows_by_content,
    render_checked,
)
from aligned_cli.compile.dialects.pit_forms import range_join
from aligned_cli.core.ir import Source
from aligned_cli.core.types import DataType

STAGED_SCHEMA = "aligned_sources"

_TYPES = {
    DataType.BOOL: "BOOLEAN",
    DataType.INT8: "SMALLINT",
    DataType.INT16: "SMALLINT",
    DataType.INT32: "INT",
    DataType.INT64: "BIGINT",
    DataType.FLOAT: "DOUBLE",
    DataType.FLOAT32: "FLOAT",
    DataType.STRING: "VARCHAR",
    DataType.DATE: "DATE",
    DataType.TIMESTAMP: "TIMESTAMP_NTZ",
    DataType.JSON: "VARIANT",
    DataType.EMBEDDING: "ARRAY",
}


class SnowflakeDialect(Dialect):
    name = "snowflake"
    sqlglot_name = "snowflake"
    # Rendered through `render_checked`, which must see whole trees (no text pieces).
    composes_text = False
    materialized_ctes = False  # no `AS MATERIALIZED` in its grammar

    def derived_value(self, expression: exp.Expr) -> exp.Expr:
        # DAYOFWEEK and DATE_PART(DAYOFWEEK) depend on the session's WEEK_START;
        # DAYOFWEEKISO is always 1 = Monday .. 7 = Sunday.
        return day_of_week_forms(expression, iso=_iso_day)

    def file_scan(self, source: Source) -> exp.Expr:
        return exp.Table(this=ident(source.name), db=ident(STAGED_SCHEMA))

    def staged_file(self, source: Source) -> bool:
        return True

    def to_instant(
        self, value: exp.Expr, timezone: str | None, source_type: str | None = None
    ) -> exp.Expr:
        ntz = sql_type("TIMESTAMP_NTZ", "snowflake")
        if time_kind(source_type) == "aware":
            # An instant: its UTC wall clock, then the zone dropped.
            utc = exp.Anonymous(
                this="CONVERT_TIMEZONE", expressions=[exp.Literal.string("UTC"), value]
            )
            return exp.Cast(this=utc, to=ntz)
        naive = exp.Cast(this=value, to=ntz)
        if timezone is None:
            return naive  # naive values are UTC already
        return exp.Anonymous(
            this="CONVERT_TIMEZONE",
            expressions=[exp.Literal.string(timezone), exp.Literal.string("UTC"), naive],
        )

    def now(self) -> exp.Expr:
        return exp.Anonymous(this="SYSDATE", expressions=[])  # now, as UTC TIMESTAMP_NTZ

    def data_type(self, dtype: DataType) -> exp.DataType:
        return sql_type(_TYPES[dtype], "snowflake")

    def spine_record(self, source_alias: str, record: str) -> list[exp.Expr]:
        return []  # `* EXCLUDE (...)` drops our helper columns (`spine_star`)

    def spine_star(self, alias: str, record: str, internal: tuple[str, ...]) -> list[exp.Expr]:
        star = exp.Star(except_=[exp.Column(this=ident(c)) for c in internal])
        return [exp.Column(this=star, table=ident(alias))]

    def temporal_join(self, spec: TemporalJoin) -> AttachedView:
        return range_join(spec, seconds=self.seconds)

    def sql(self, expression: exp.Expr, pretty: bool = True, *, copy: bool = True) -> str:
        tree = expression.copy() if copy else expression
        # ROW_NUMBER needs an ORDER BY here; the spine's is its values.
        tree = number_rows_by_content(
            tree, self.name, self.ascending, whole_row=None, order_partitions=True
        )
        return render_checked(self.name, self.sqlglot_name, tree, pretty)


def _iso_day(value: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this="DAYOFWEEKISO", expressions=[value])
