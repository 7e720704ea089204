"""Spine keys whose type cannot match the view's key, caught at compile time.

A spine read from a file has known column types. Joining its `id` VARCHAR to a view's
`id` int32 works on DuckDB only by an implicit cast (and fails there on the first value
that is not a number) and is an error on PostgreSQL: the same project would behave
differently per engine. Comparable types (any two numbers, a date and a timestamp) pass.
"""

from __future__ import annotations

from aligned_cli.compile.expressions import duckdb_type
from aligned_cli.compile.views import output_types
from aligned_cli.core.ir import FeatureView, Model, Project
from aligned_cli.core.types import NUMERIC_TYPES, DataType
from aligned_cli.errors import ProjectError

_FAMILIES = {
    **{t: "number" for t in NUMERIC_TYPES},
    DataType.DATE: "time",
    DataType.TIMESTAMP: "time",
}


def check_spine_keys(project: Project) -> None:
    """Raise a located ProjectError for the first model whose spine holds an entity
    key of another kind of type than the key of a view the model reads."""
    keys_of: dict[str, dict[str, DataType | None]] = {}  # view -> its columns' types
    for model in project.models.values():
        if model.spine is None:
            continue
        source = project.sources.get(model.spine.source)
        if source is None or source.columns is None:
            continue  # unknown spine (reported by the DAG) or columns known only at run time
        spine = {name: duckdb_type(text) for name, text in source.columns.items()}
        for view_name in _views_read(model):
            view = project.views.get(view_name)
            if view is None:
                continue
            for key in view.entities:
                ours, theirs = spine.get(key), _key_type(project, view, key, keys_of)
                if ours is None or theirs is None or _family(ours) == _family(theirs):
                    continue
                raise ProjectError(
                    f"model '{model.name}': spine '{source.name}' holds entity key '{key}' as "
                    f"{ours}, but view '{view.name}' has it as {theirs}",
                    location=model.location,
                    hint=f"give '{key}' one type in both: fix the spine's file, or declare "
                    f"the view's key as `{key}: {{type: {ours}}}`",
                )


def _key_type(
    project: Project, view: FeatureView, key: str, known: dict[str, dict[str, DataType | None]]
) -> DataType | None:
    """The key's declared type, else the type the view's query gives it."""
    feature = view.feature(key)
    if feature is not None and feature.dtype is not None:
        return feature.dtype
    if view.name not in known:
        known[view.name] = output_types(project, view)
    return known[view.name].get(key)


def _views_read(model: Model) -> list[str]:
    refs = list(model.features)
    if model.target is not None and model.target.feature is not None:
        refs.append(model.target.feature)
    return list(dict.fromkeys(ref.view for ref in refs))


def _family(dtype: DataType) -> str:
    return _FAMILIES.get(dtype, str(dtype))
