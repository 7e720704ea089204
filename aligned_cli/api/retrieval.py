"""Building the jobs every store hands out: entity loads and view reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aligned_cli.api.engine import Engine, Plan, sources_read
from aligned_cli.api.entities import (
    EVENT_TIMESTAMP,
    Entities,
    check_entity_columns,
    entities_table,
    key_types,
    typed_keys,
)
from aligned_cli.api.job import RetrievalJob
from aligned_cli.api.queries import entity_query, view_checks, view_rows_query
from aligned_cli.compile.pit import output_features
from aligned_cli.core.ir import FeatureRef

if TYPE_CHECKING:
    import pyarrow as pa

ENTITY_ROW = "__aligned_entity_row"


def entity_job(
    engine: Engine,
    entities: Entities,
    refs: Sequence[FeatureRef],
    *,
    target: FeatureRef | None = None,
    target_name: str | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> RetrievalJob:
    """The features `refs` (then `target`) for every entity row, point-in-time when
    the rows have an `event_timestamp`; named as in SPEC §4 (`view__feature` where
    two views share a name or an entity column has it)."""
    table = entities_table(entities)
    columns = table.column_names
    outputs = output_features(refs, columns, target, target_name)
    project = engine.project
    view_names = list(dict.fromkeys(o.ref.view for o in outputs))
    views = [project.views[n] for n in view_names]
    check_entity_columns(columns, views)
    table = typed_keys(table, key_types(views))
    timestamp = EVENT_TIMESTAMP if EVENT_TIMESTAMP in columns else None
    dialect = engine.dialect
    # Row order is the contract: number the rows ourselves and sort the result by
    # that number, rather than trust the engine to scan the frame in order.
    numbered = table.append_column(ENTITY_ROW, _row_numbers(table.num_rows))
    timestamp_type = _duckdb_type(table.schema.field(timestamp).type) if timestamp else None
    built = entity_query(
        project, outputs, [*columns, ENTITY_ROW], timestamp, dialect, defaults, timestamp_type
    )
    plan = Plan(dialect.sql(built.query), sources_read(project, view_names), numbered)
    return RetrievalJob(
        engine, plan, built.checks, (*built.hidden, ENTITY_ROW), order_by=ENTITY_ROW
    )


def _duckdb_type(arrow_type: pa.DataType) -> str | None:
    """The DuckDB type of an entity frame's timestamp column, so the join reads it
    without a per-row type check (naive timestamps are UTC)."""
    import pyarrow as pa

    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMP WITH TIME ZONE" if arrow_type.tz else "TIMESTAMP"
    if pa.types.is_date(arrow_type):
        return "DATE"
    return None


def _row_numbers(count: int) -> pa.Array:
    import numpy as np
    import pyarrow as pa

    return pa.array(np.arange(count, dtype=np.int64))  # ~15x faster than from a range


def view_rows_job(
    engine: Engine,
    view_name: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int | None = None,
) -> RetrievalJob:
    project = engine.project
    view = project.views[view_name]
    dialect = engine.dialect
    query = view_rows_query(project, view, dialect, start=start, end=end, limit=limit)
    plan = Plan(dialect.sql(query), sources_read(project, [view_name]))
    return RetrievalJob(engine, plan, view_checks(view))
