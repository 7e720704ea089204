"""Trino: point-in-time by a range join ranked with `ROW_NUMBER()`.

Trino has no ASOF join; its ROW type could carry the union-window form's record, but
only with every feature's type spelled out in a CAST. The range join is exact and
plain SQL; its cost grows with each entity's history (not measured on Trino itself:
no cluster here; compiled and re-parsed in tests).

Instants are `TIMESTAMP WITH TIME ZONE`; `with_timezone` reads naive values in UTC
(or the source's zone) whatever the session zone. A file source is read from the
table `aligned_sources.<source>` (e.g. a Hive or Iceberg table over the files).
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
    unsupported,
)
from aligned_cli.compile.dialects.pit_forms import range_join
from aligned_cli.core.ir import Source
from aligned_cli.core.types import DataType

STAGED_SCHEMA = "aligned_sources"

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
    DataType.TIMESTAMP: "TIMESTAMP(6) WITH TIME ZONE",
    DataType.JSON: "JSON",
    DataType.EMBEDDING: "ARRAY(DOUBLE)",
}


class TrinoDialect(Dialect):
    name = "trino"
    sqlglot_name = "trino"
    # Rendered through `render_checked`, which must see whole trees (no text pieces).
    composes_text = False
    materialized_ctes = False  # no `AS MATERIALIZED` in its grammar

    def derived_value(self, expression: exp.Expr) -> exp.Expr:
        # day_of_week (and EXTRACT(DOW)) is ISO here: 1 = Monday .. 7 = Sunday.
        return day_of_week_forms(expression, iso=_iso_day)

    def file_scan(self, source: Source) -> exp.Expr:
        return exp.Table(this=ident(source.name), db=ident(STAGED_SCHEMA))

    def staged_file(self, source: Source) -> bool:
        return True

    def to_instant(
        self, value: exp.Expr, timezone: str | None, source_type: str | None = None
    ) -> exp.Expr:
        if time_kind(source_type) == "aware":
            return exp.Cast(this=value, to=self.data_type(DataType.TIMESTAMP))
        naive = exp.Cast(this=value, to=sql_type("TIMESTAMP(6)", "trino"))
        return exp.Anonymous(
            this="with_timezone", expressions=[naive, exp.Literal.string(timezone or "UTC")]
        )

    def data_type(self, dtype: DataType) -> exp.DataType:
        return sql_type(_TYPES[dtype], "trino")

    def seconds(self, seconds: int) -> exp.Expr:
        # A day-to-second interval: a fixed length, never calendar days.
        one = exp.Interval(this=exp.Literal.string("1"), unit=exp.var("SECOND"))
        return exp.Paren(this=exp.Mul(this=exp.Literal.number(seconds), expression=one))

    def spine_record(self, source_alias: str, record: str) -> list[exp.Expr]:
        # Trino has neither `* EXCEPT` nor a table alias as a row value, so a spine
        # whose columns compile time cannot know would output our helper columns.
        raise unsupported(
            self.name,
            "a spine whose columns are unknown at compile time (a table or query spine;"
            " use a file spine, whose header is read when compiling)",
        )

    def temporal_join(self, spec: TemporalJoin) -> AttachedView:
        return range_join(spec, seconds=self.seconds)

    def sql(self, expression: exp.Expr, pretty: bool = True, *, copy: bool = True) -> str:
        tree = expression.copy() if copy else expression
        # A WITH query is inlined at each reference: number the spine by its values.
        tree = number_rows_by_content(tree, self.name, self.ascending, whole_row=None)
        return render_checked(self.name, self.sqlglot_name, tree, pretty)


def _iso_day(value: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this="day_of_week", expressions=[value])
