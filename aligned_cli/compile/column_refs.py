"""Columns that views and models name, checked against their sources' known columns.

Loading checks every reference between declarations; the columns of a file source
are only known once the compile has read its header (`Source.columns`, after
`mapping`). A misspelt column would otherwise compile and fail at run time inside
the engine ("Binder Error"): here it is a ProjectError at the declaration, with the
closest column names. Sources whose columns are unknown (tables, queries) are
checked by the engine when they run.
"""

from __future__ import annotations

from collections.abc import Iterator

from aligned_cli.core.ir import FeatureView, Model, Project
from aligned_cli.core.location import Location
from aligned_cli.errors import ProjectError, did_you_mean


def check_column_refs(project: Project) -> None:
    for view in project.views.values():
        _check_view(project, view)
    for model in project.models.values():
        _check_model(project, model)


def _check_view(project: Project, view: FeatureView) -> None:
    if view.source.kind != "source":
        return  # a view on a view reads its parent's features, checked with the parent
    source = project.sources[view.source.name]
    if source.columns is None:
        return
    for column, role, location in _view_columns(view):
        if column not in source.columns:
            raise ProjectError(
                f"feature view '{view.name}' {role} '{column}', but source '{source.name}' "
                "has no such column",
                location=location or view.location,
                hint=did_you_mean(column, source.columns),
            )


def _view_columns(view: FeatureView) -> Iterator[tuple[str, str, Location | None]]:
    """(column, what the view does with it, where) for each source column it names."""
    for entity in view.entities:
        yield entity, "has entity", view.location
    if view.event_timestamp:
        yield view.event_timestamp, "has event_timestamp", view.location
    if view.created_timestamp:
        yield view.created_timestamp, "has created_timestamp", view.location
    for feature in view.features:
        if not feature.is_derived:
            yield feature.name, "declares feature", feature.location


def _check_model(project: Project, model: Model) -> None:
    if model.spine is None:
        return
    spine = project.sources[model.spine.source]
    if spine.columns is None:
        return
    named = [
        (model.spine.event_timestamp, "reads its spine's event_timestamp"),
        (model.target.column if model.target else None, "has target column"),
    ]
    for column, role in named:
        if column is not None and column not in spine.columns:
            raise ProjectError(
                f"model '{model.name}' {role} '{column}', but spine source '{spine.name}' "
                "has no such column",
                location=model.location,
                hint=did_you_mean(column, spine.columns),
            )
