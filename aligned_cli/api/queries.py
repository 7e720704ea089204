"""The SQL of each retrieval, built as sqlglot ASTs by the compiler.

Entity loads are the compiler's point-in-time join (`features_query`) over the
registered entity frame; each view used also contributes one hidden "row found"
column (a constant TRUE selected from the view side, NULL where no row qualified)
so `.validate()` can tell missing history from a NULL value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlglot import exp

from aligned_cli.api.engine import ENTITIES
from aligned_cli.api.validation import FeatureCheck, constrained, window_found
from aligned_cli.compile.dialects.base import Dialect, column, ident
from aligned_cli.compile.pit import OutputFeature, features_query
from aligned_cli.compile.relations import source_query
from aligned_cli.compile.views import view_query
from aligned_cli.core.inheritance import resolve_view_inheritance
from aligned_cli.core.ir import Feature, FeatureRef, FeatureView, Project, Source
from aligned_cli.core.types import DataType
from aligned_cli.errors import UsageError

FOUND_PREFIX = "__aligned_found_"
ROWS_ALIAS = "__aligned_rows"


@dataclass(frozen=True)
class EntityQuery:
    query: exp.Query
    checks: tuple[FeatureCheck, ...]
    hidden: tuple[str, ...]  # columns to drop before returning


def entity_query(
    project: Project,
    outputs: Sequence[OutputFeature],
    entity_columns: Sequence[str],
    timestamp: str | None,
    dialect: Dialect,
    defaults: Mapping[str, Any] | None = None,
    timestamp_type: str | None = None,
) -> EntityQuery:
    """Features of `outputs` for every row of the registered entity frame."""
    resolved = resolve_view_inheritance(project)
    view_names = list(dict.fromkeys(o.ref.view for o in outputs))
    found = {name: f"{FOUND_PREFIX}{index}" for index, name in enumerate(view_names)}
    # The found column rides along as a derived feature `TRUE` of each view: it is
    # TRUE exactly where the join found a qualifying row, NULL where it did not, and
    # the view keeps the compiler's fast point-in-time path.
    views = dict(resolved.views)
    for name in view_names:
        flag = Feature(name=found[name], dtype=DataType.BOOL, expression="TRUE")
        views[name] = views[name].model_copy(update={"features": [*views[name].features, flag]})
    hidden = [OutputFeature(FeatureRef(view=n, feature=found[n]), found[n]) for n in view_names]
    # A required aggregation is found where its window holds a row (see validation).
    windows: dict[str, str] = {}  # output column -> its window's hidden count
    for output in outputs:
        view = views[output.ref.view]
        aggregation = view.aggregation(output.ref.feature)
        name = f"{found[view.name]}_w{aggregation.window}" if aggregation else ""
        count = window_found(name, aggregation) if aggregation else None
        if count is None:
            continue
        windows[output.name] = name
        if view.aggregation(name) is None:
            views[view.name] = view.model_copy(update={"aggregations": [*view.aggregations, count]})
            hidden.append(OutputFeature(FeatureRef(view=view.name, feature=name), name))
    marked = resolved.model_copy(update={"views": views})
    query = features_query(
        marked,
        [*outputs, *hidden],
        exp.select(exp.Star()).from_(exp.Table(this=ident(ENTITIES))),
        list(entity_columns),
        timestamp,
        dialect,
        defaults=defaults,
        spine_timestamp_type=timestamp_type,
    )
    checks = tuple(
        FeatureCheck(o.name, feature, windows.get(o.name, found[o.ref.view]))
        for o in outputs
        if (feature := constrained(resolved.views[o.ref.view], o.ref.feature)) is not None
    )
    return EntityQuery(query, checks, tuple(o.name for o in hidden))


def view_rows_query(
    project: Project,
    view: FeatureView,
    dialect: Dialect,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int | None = None,
) -> exp.Select:
    """The view's rows (keys, timestamps, features), optionally with
    `start <= event_timestamp <= end` and at most `limit` of them."""
    query = exp.select(exp.Star()).from_(_subquery(view_query(project, view.name, dialect)))
    if start is not None or end is not None:
        timestamp = _event_timestamp(view)
        if start is not None:
            query = query.where(exp.GTE(this=column(timestamp), expression=instant(start)))
        if end is not None:
            query = query.where(exp.LTE(this=column(timestamp), expression=instant(end)))
    if limit is not None:
        query = query.limit(exp.Literal.number(limit))
    return query


def view_checks(view: FeatureView) -> tuple[FeatureCheck, ...]:
    """Constraint checks over a view's own rows: every row is a found row."""
    return tuple(FeatureCheck(f.name, f) for f in view.features if f.constraints)


def freshness_query(project: Project, view: FeatureView, dialect: Dialect) -> exp.Select:
    """`max(loaded_at_field)` of the view's source where declared, else the
    greatest event timestamp of its rows."""
    source = root_source(project, view)
    if source is not None and source.loaded_at_field:
        loaded = dialect.to_instant(column(source.loaded_at_field, ROWS_ALIAS), source.timezone)
        return exp.select(exp.Max(this=loaded)).from_(
            _subquery(source_query(project, source, dialect))
        )
    timestamp = _event_timestamp(view)
    return exp.select(exp.Max(this=column(timestamp, ROWS_ALIAS))).from_(
        _subquery(view_query(project, view.name, dialect))
    )


def root_source(project: Project, view: FeatureView) -> Source | None:
    """The source at the bottom of a chain of views built on views (None if unknown)."""
    seen: set[str] = set()
    current: FeatureView | None = view
    while current is not None and current.name not in seen:
        seen.add(current.name)
        if current.source.kind == "source":
            return project.sources.get(current.source.name)
        current = project.views.get(current.source.name)
    return None


def instant(value: datetime) -> exp.Expr:
    """A timestamp literal; a naive datetime is read as UTC (SPEC §4)."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    text = aware.astimezone(UTC).isoformat()
    return exp.Cast(this=exp.Literal.string(text), to=exp.DataType.build("TIMESTAMPTZ"))


def _event_timestamp(view: FeatureView) -> str:
    if not view.event_timestamp:
        raise UsageError(
            f"feature view '{view.name}' has no event_timestamp, so its rows have no time",
            location=view.location,
            hint="use .all() to read a static view",
        )
    return view.event_timestamp


def _subquery(query: exp.Query) -> exp.Subquery:
    return exp.Subquery(this=query, alias=exp.TableAlias(this=ident(ROWS_ALIAS)))
