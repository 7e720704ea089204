"""Google BigQuery: point-in-time by one window over the union of spine and view rows.

BigQuery has no ASOF join, and a range join with `ROW_NUMBER()` multiplies each spine
row by the entity's older events (slot time grows with history); the union window
(`pit_forms.union_window_join`) sorts spine and event rows together once and takes
`LAST_VALUE(STRUCT(...) IGNORE NULLS)`: typed STRUCTs keep the selected row whole.
Not measured on BigQuery itself (no account here); compiled and re-parsed in tests.

BigQuery reads no local files: a file source is read from the table
`aligned_sources.<source>` (a native or external table the user defines over the
files, its columns already named as the source's `mapping` says).
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
from aligned_cli.compile.dialects.checked import (
    day_of_week_forms,
    number_rows_by_content,
    render_checked,
)
from aligned_cli.compile.dialects.pit_forms import union_window_join
from aligned_cli.core.ir import Source
from aligned_cli.core.types import DataType

STAGED_DATASET = "aligned_sources"

_TYPES = {
    DataType.BOOL: "BOOL",
    DataType.INT8: "INT64",  # BigQuery has one integer type
    DataType.INT16: "INT64",
    DataType.INT32: "INT64",
    DataType.INT64: "INT64",
    DataType.FLOAT: "FLOAT64",
    DataType.FLOAT32: "FLOAT64",
    DataType.STRING: "STRING",
    DataType.DATE: "DATE",
    DataType.TIMESTAMP: "TIMESTAMP",
    DataType.JSON: "JSON",
    DataType.EMBEDDING: "ARRAY<FLOAT64>",
}


class BigQueryDialect(Dialect):
    name = "bigquery"
    sqlglot_name = "bigquery"
    # Rendered through `render_checked`, which must see whole trees (no text pieces).
    composes_text = False
    materialized_ctes = False  # no `AS MATERIALIZED` in its grammar

    def derived_value(self, expression: exp.Expr) -> exp.Expr:
        # EXTRACT(DAYOFWEEK) counts 1 = Sunday .. 7 = Saturday; `%` is MOD here.
        return day_of_week_forms(expression, sunday_zero=_sunday_zero, iso=_iso_day)

    def file_scan(self, source: Source) -> exp.Expr:
        return exp.Table(this=ident(source.name), db=ident(STAGED_DATASET))

    def staged_file(self, source: Source) -> bool:
        return True

    def to_instant(
        self, value: exp.Expr, timezone: str | None, source_type: str | None = None
    ) -> exp.Expr:
        # TIMESTAMP is an instant; CAST reads a DATETIME or a string without offset
        # as UTC (whatever the session) and keeps a string's explicit offset.
        aware = time_kind(source_type) == "aware"
        if timezone is None or aware:
            return exp.Cast(this=value, to=sql_type("TIMESTAMP", "bigquery"))
        # A declared zone: the values are naive wall-clock times in that zone.
        naive = exp.Cast(this=value, to=sql_type("DATETIME", "bigquery"))
        return exp.Anonymous(this="TIMESTAMP", expressions=[naive, exp.Literal.string(timezone)])

    def data_type(self, dtype: DataType) -> exp.DataType:
        return sql_type(_TYPES[dtype], "bigquery")

    def spine_record(self, source_alias: str, record: str) -> list[exp.Expr]:
        return []  # `* EXCEPT (...)` drops our helper columns (`spine_star`)

    def spine_star(self, alias: str, record: str, internal: tuple[str, ...]) -> list[exp.Expr]:
        star = exp.Star(except_=[exp.Column(this=ident(c)) for c in internal])
        return [exp.Column(this=star, table=ident(alias))]

    def temporal_join(self, spec: TemporalJoin) -> AttachedView:
        return union_window_join(
            spec,
            record=lambda fields: exp.Struct(
                expressions=[exp.alias_(v, ident(n), copy=False) for n, v in fields]
            ),
            field=lambda record, name: exp.Dot(this=record, expression=ident(name)),
            seconds=self.seconds,
        )

    def sql(self, expression: exp.Expr, pretty: bool = True, *, copy: bool = True) -> str:
        tree = expression.copy() if copy else expression
        # A CTE read twice is evaluated twice: number the spine by its values.
        tree = number_rows_by_content(tree, self.name, self.ascending, whole_row=_row_text)
        return render_checked(self.name, self.sqlglot_name, tree, pretty)


def _row_text(alias: str) -> exp.Expr:
    """A table alias's whole row as JSON text: equal text, equal rows."""
    return exp.Anonymous(this="TO_JSON_STRING", expressions=[exp.Column(this=ident(alias))])


def _day_of_week(value: exp.Expr) -> exp.Expr:
    return exp.Extract(this=exp.var("DAYOFWEEK"), expression=value)


def _sunday_zero(value: exp.Expr) -> exp.Expr:
    return exp.Sub(this=_day_of_week(value), expression=exp.Literal.number(1))


def _iso_day(value: exp.Expr) -> exp.Expr:
    # Sunday 1 -> 7, Monday 2 -> 1, ..., Saturday 7 -> 6.
    shifted = exp.Add(this=_day_of_week(value), expression=exp.Literal.number(5))
    monday_zero = exp.Anonymous(this="MOD", expressions=[shifted, exp.Literal.number(7)])
    return exp.Add(this=monday_zero, expression=exp.Literal.number(1))


__all__ = ["STAGED_DATASET", "BigQueryDialect", "column"]
