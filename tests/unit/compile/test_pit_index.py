"""The Postgres point-in-time index matches the lookup's ORDER BY exactly."""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp

from aligned_cli.compile.dialects import get_dialect
from aligned_cli.compile.dialects.postgres import pit_order
from aligned_cli.compile.pit import pit_index_statement
from aligned_cli.core.ir import FeatureView, SourceRef


def _view(created: str | None) -> FeatureView:
    return FeatureView(
        name="trips",
        source=SourceRef(kind="source", name="s"),
        entities=["driver_id", "city"],
        event_timestamp="event_at",
        created_timestamp=created,
    )


def test_index_columns_equal_lookup_order() -> None:
    postgres = get_dialect("postgres")
    for created in ("loaded_at", None):
        table = exp.to_table("features.trips_rows", dialect="postgres")
        statement = pit_index_statement(_view(created), table, postgres)
        assert statement is not None
        text = postgres.sql(statement, pretty=False)
        order = exp.select("x").order_by(*pit_order("v", "event_at", created))
        order_text = postgres.sql(order, pretty=False).split("ORDER BY ")[1]
        index_cols = re.search(r"\((.*)\)$", text)
        assert index_cols is not None
        expected = '"driver_id", "city", ' + order_text.replace('"v".', "")
        assert index_cols.group(1) == expected, text
        assert sqlglot.parse_one(text, read="postgres") is not None


def test_no_index_for_duckdb_or_static_views() -> None:
    table = exp.to_table("t")
    assert pit_index_statement(_view("c"), table, get_dialect("duckdb")) is None
    static = FeatureView(name="v", source=SourceRef(kind="source", name="s"), entities=["k"])
    assert pit_index_statement(static, table, get_dialect("postgres")) is None
