"""Freshness queries: the newest load or event time of a source or view (SPEC §5, §6)."""

from __future__ import annotations

from sqlglot import exp

from aligned_cli.compile.dialects import get_dialect
from aligned_cli.compile.dialects.base import column, ident
from aligned_cli.compile.relations import source_query
from aligned_cli.compile.views import view_query
from aligned_cli.core.ir import FeatureView, Project, Source
from aligned_cli.errors import ProjectError

LATEST = "latest"


def freshness_column(node: Source | FeatureView) -> str:
    """The column freshness is measured on: loaded_at_field, else the event timestamp."""
    if isinstance(node, Source):
        found = node.loaded_at_field or node.event_timestamp
        what = f"source '{node.name}'"
    else:
        found = node.event_timestamp
        what = f"feature view '{node.name}'"
    if not found:
        raise ProjectError(
            f"{what} declares freshness but has no time column to measure it on",
            location=node.location,
            hint="add `loaded_at_field:` to the source (or `event_timestamp:` to the view)",
        )
    return found


def freshness_query(
    project: Project, node: Source | FeatureView, dialect: str, *, at_origin: bool = False
) -> exp.Query:
    """`SELECT max(<time column as an instant>) AS latest FROM <rows of node>`
    (`at_origin`: a source read on its own connection; see `source_query`)."""
    engine = get_dialect(dialect)
    name = freshness_column(node)
    if isinstance(node, Source):
        rows: exp.Query = source_query(project, node, engine, at_origin=at_origin)
        value = engine.to_instant(column(name), node.timezone)
    else:
        rows = view_query(project, node.name, engine)
        value = column(name)  # a view's event timestamp is already an instant
    latest = exp.alias_(exp.Max(this=value), ident(LATEST))
    return exp.select(latest).from_(rows.subquery("rows"))


def view_source(project: Project, view: FeatureView) -> Source:
    """The source a view ultimately reads (through view-on-view chains)."""
    while view.source.kind == "view":
        view = project.views[view.source.name]
    return project.sources[view.source.name]
