"""A feature view's rows: keys, instants, typed features and derived features.

`resolve_view_inheritance` and `resolve_derived_features` are pure functions over the
IR the loader runs once (`resolve_project` does both); `view_query` then compiles
one view to a SELECT for a dialect.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from aligned_cli.compile.dialects.base import Dialect, column, ident
from aligned_cli.compile.expressions import (
    expression_columns,
    infer_type,
    parse_expression,
    resolve_columns,
)
from aligned_cli.compile.relations import known_source_columns, source_query
from aligned_cli.core.ir import Feature, FeatureView, Project
from aligned_cli.core.types import DataType
from aligned_cli.errors import ProjectError, did_you_mean

ROW_ALIAS = "row"
SOURCE_ALIAS = "source"


# --- inheritance (SPEC §4, last bullet) ------------------------------------------


def resolve_view_inheritance(project: Project) -> Project:
    """A copy where views built on views carry their parent's entities, timestamps,
    ttl (unless restated) and the types of passed-through features."""
    resolved: dict[str, FeatureView] = {}
    for name in project.views:
        _inherit(project, name, resolved, [])
    return project.model_copy(update={"views": {n: resolved[n] for n in project.views}})


def _inherit(
    project: Project, name: str, done: dict[str, FeatureView], stack: list[str]
) -> FeatureView:
    if name in done:
        return done[name]
    view = project.views[name]
    if name in stack:
        cycle = " -> ".join([*stack[stack.index(name) :], name])
        raise ProjectError(
            f"views are built on each other in a cycle: {cycle}", location=view.location
        )
    if view.source.kind == "source":
        if view.source.name not in project.sources:
            raise ProjectError(
                f"view '{name}' reads unknown source '{view.source.name}'",
                location=view.location,
                hint=did_you_mean(view.source.name, project.sources),
            )
        done[name] = view
        return view
    if view.source.name not in project.views:
        raise ProjectError(
            f"view '{name}' is built on unknown view '{view.source.name}'",
            location=view.location,
            hint=did_you_mean(view.source.name, project.views),
        )
    parent = _inherit(project, view.source.name, done, [*stack, name])
    features = [_inherit_feature(feature, parent) for feature in view.features]
    child = view.model_copy(
        update={
            "entities": view.entities or list(parent.entities),
            "event_timestamp": view.event_timestamp or parent.event_timestamp,
            "created_timestamp": view.created_timestamp or parent.created_timestamp,
            "ttl": view.ttl if view.ttl is not None else parent.ttl,
            "features": features,
        }
    )
    done[name] = child
    return child


def _inherit_feature(feature: Feature, parent: FeatureView) -> Feature:
    if feature.is_derived or feature.dtype is not None:
        return feature
    upstream = parent.feature(feature.name)
    if upstream is None or upstream.dtype is None:
        return feature
    return feature.model_copy(update={"dtype": upstream.dtype})


# --- schema and derived features ---------------------------------------------------


def input_schema(project: Project, view: FeatureView) -> dict[str, DataType | None]:
    """The columns a view's expressions may read, with their types where known.

    A view on a view reads its parent's output columns; a view on a source reads the
    source's mapped columns (types unknown) plus its own declared columns.
    """
    schema: dict[str, DataType | None] = {}
    if view.source.kind == "view":
        parent = project.views[view.source.name]
        schema.update(output_types(project, parent))
    else:
        source = project.sources[view.source.name]
        for name in known_source_columns(source) or []:
            schema[name] = None
    for name in view.key_columns:
        schema.setdefault(name, None)
    for col in (view.event_timestamp, view.created_timestamp):
        if col:
            schema[col] = DataType.TIMESTAMP
    for feature in view.features:
        if not feature.is_derived:
            schema[feature.name] = feature.dtype or schema.get(feature.name)
    return schema


def output_types(project: Project, view: FeatureView) -> dict[str, DataType | None]:
    """The view's output columns (see `output_columns`) and their types."""
    types: dict[str, DataType | None] = {}
    for name in output_columns(view):
        feature = view.feature(name)
        if name in (view.event_timestamp, view.created_timestamp):
            types[name] = DataType.TIMESTAMP
        else:
            types[name] = feature.dtype if feature else None
    return types


def output_columns(view: FeatureView) -> list[str]:
    """Entities, event and created timestamps, then features in declared order."""
    return list(dict.fromkeys([*view.key_columns, *(f.name for f in view.features)]))


@dataclass(frozen=True)
class DerivedFeature:
    feature: Feature
    expression: exp.Expr  # columns resolved (quoted), other derived not inlined
    dtype: DataType | None
    reads: list[str]


def resolve_derived_features(project: Project, view: FeatureView) -> dict[str, DerivedFeature]:
    """The view's derived features in dependency order, types inferred.

    A derived feature may read other derived features of the same view; a cycle
    among them is a ProjectError naming it.
    """
    schema = input_schema(project, view)
    derived = {f.name: f for f in view.features if f.is_derived}
    for name in derived:
        schema.pop(name, None)
    readable: dict[str, DataType | None] = {**schema, **{n: None for n in derived}}
    parsed: dict[str, exp.Expr] = {}
    for name, feature in derived.items():
        sql = feature.expression or ""
        tree = parse_expression(sql, feature.location)
        parsed[name] = resolve_columns(tree, readable, sql, feature.location)
    order = _dependency_order(view, derived, parsed)
    result: dict[str, DerivedFeature] = {}
    typed_schema = dict(schema)
    for name in order:
        feature = derived[name]
        sql = feature.expression or ""
        inferred = infer_type(parsed[name], typed_schema, sql, feature.location)
        dtype = feature.dtype or inferred
        typed_schema[name] = dtype
        result[name] = DerivedFeature(
            feature, parsed[name], dtype, expression_columns(parsed[name])
        )
    return result


def _dependency_order(
    view: FeatureView, derived: dict[str, Feature], parsed: dict[str, exp.Expr]
) -> list[str]:
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = " -> ".join([*path[path.index(name) :], name])
            raise ProjectError(
                f"derived features of view '{view.name}' depend on each other in a cycle: {cycle}",
                location=derived[name].location,
            )
        state[name] = "visiting"
        for dep in expression_columns(parsed[name]):
            if dep in derived:
                visit(dep, [*path, name])
        state[name] = "done"
        order.append(name)

    for name in derived:
        visit(name, [])
    return order


def resolve_derived_types(project: Project) -> Project:
    """A copy where every derived feature without a declared type has its inferred one."""
    views: dict[str, FeatureView] = {}
    for name, view in project.views.items():
        # Parents first would matter for types of view-on-view; resolve in place
        # on the partially updated project so parents' inferred types are visible.
        current = project.model_copy(update={"views": {**project.views, **views}})
        views[name] = _with_derived_types(current, view)
    return project.model_copy(update={"views": views})


def _with_derived_types(project: Project, view: FeatureView) -> FeatureView:
    if view.source.kind == "view" and view.source.name in project.views:
        parent = project.views[view.source.name]
        project = project.model_copy(
            update={
                "views": {**project.views, view.source.name: _with_derived_types(project, parent)}
            }
        )
    derived = resolve_derived_features(project, view)
    features = [
        f.model_copy(update={"dtype": derived[f.name].dtype}) if f.name in derived else f
        for f in view.features
    ]
    return view.model_copy(update={"features": features})


def check_view(view: FeatureView) -> None:
    """Declarations that cannot compile whatever the data: ttl without a timestamp."""
    if view.ttl is not None and not view.event_timestamp:
        raise ProjectError(
            f"view '{view.name}' declares ttl but no event_timestamp",
            location=view.location,
            hint="ttl counts back from each spine timestamp; add event_timestamp or drop ttl",
        )
    if not view.entities:
        raise ProjectError(f"view '{view.name}' declares no entities", location=view.location)


def resolve_project(project: Project) -> Project:
    """Inheritance, then derived feature types; checks every view. Pure."""
    inherited = resolve_view_inheritance(project)
    for view in inherited.views.values():
        check_view(view)
    return resolve_derived_types(inherited)


# --- compiling a view ---------------------------------------------------------------


def view_query(project: Project, view_name: str, dialect: Dialect) -> exp.Select:
    """Every row of the view: keys, instants, then every feature in declared order."""
    _get_view(project, view_name)
    return resolved_view_query(resolve_view_inheritance(project), view_name, dialect)


def resolved_view_query(project: Project, view_name: str, dialect: Dialect) -> exp.Select:
    """`view_query` for a project whose view inheritance is already resolved."""
    view = _get_view(project, view_name)
    check_view(view)
    derived = resolve_derived_features(project, view)
    typed = _typed_row(project, view, derived, dialect)
    inlined = _inline(derived)
    selected: list[exp.Expr] = []
    for name in output_columns(view):
        feature = view.feature(name)
        if feature is not None and name in derived:
            value = inlined[name]
            dtype = derived[name].dtype
            if dtype is not None:
                # The manifest's type is the column's type on every engine.
                value = exp.Cast(this=value, to=dialect.data_type(dtype))
            selected.append(exp.alias_(value, ident(name)))
        else:
            selected.append(column(name, ROW_ALIAS))
    return exp.select(*selected).from_(
        exp.Subquery(this=typed, alias=exp.TableAlias(this=ident(ROW_ALIAS)))
    )


def _typed_row(
    project: Project, view: FeatureView, derived: dict[str, DerivedFeature], dialect: Dialect
) -> exp.Select:
    """Keys and pass-through features cast to their types, plus raw columns that
    derived features read; the layer derived expressions are computed over."""
    if view.source.kind == "view":
        upstream = resolved_view_query(project, view.source.name, dialect)
        timezone = None
        from_view = True
    else:
        source = project.sources[view.source.name]
        upstream = source_query(project, source, dialect)
        timezone = source.timezone
        from_view = False
    columns: dict[str, exp.Expr] = {}
    for name in view.key_columns:
        raw = column(name, SOURCE_ALIAS)
        if name in (view.event_timestamp, view.created_timestamp):
            columns[name] = raw if from_view else dialect.to_instant(raw, timezone)
        else:
            feature = view.feature(name)
            columns[name] = _cast(
                raw, feature.dtype if feature else None, dialect, timezone, from_view
            )
    for feature in view.features:
        if feature.name in columns or feature.name in derived:
            continue
        raw = column(feature.name, SOURCE_ALIAS)
        columns[feature.name] = _cast(raw, feature.dtype, dialect, timezone, from_view)
    for item in derived.values():
        for name in item.reads:
            if name not in columns and name not in derived:
                columns[name] = column(name, SOURCE_ALIAS)
    return exp.select(*(exp.alias_(value, ident(name)) for name, value in columns.items())).from_(
        exp.Subquery(this=upstream, alias=exp.TableAlias(this=ident(SOURCE_ALIAS)))
    )


def _cast(
    value: exp.Expr,
    dtype: DataType | None,
    dialect: Dialect,
    timezone: str | None,
    from_view: bool,
) -> exp.Expr:
    if dtype is None:
        return value
    if from_view:  # the parent already holds instants; only the type may change
        return exp.Cast(this=value, to=dialect.data_type(dtype))
    return dialect.cast(value, dtype, timezone)


def _inline(derived: dict[str, DerivedFeature]) -> dict[str, exp.Expr]:
    """Each derived expression over the typed row only: derived inputs substituted."""
    inlined: dict[str, exp.Expr] = {}

    def expand(name: str) -> exp.Expr:
        if name not in inlined:
            tree = derived[name].expression.copy()
            for col in list(tree.find_all(exp.Column)):
                if col.name in derived:
                    col.replace(exp.Paren(this=expand(col.name).copy()))
                else:
                    col.set("table", ident(ROW_ALIAS))
            inlined[name] = tree
        return inlined[name]

    for name in derived:
        expand(name)
    return inlined


def _get_view(project: Project, name: str) -> FeatureView:
    view = project.views.get(name)
    if view is None:
        raise ProjectError(f"unknown feature view '{name}'", hint=did_you_mean(name, project.views))
    return view
