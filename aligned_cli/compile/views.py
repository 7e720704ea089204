"""A feature view's rows: keys, instants, typed features and derived features.

`resolve_view_inheritance` and `resolve_derived_features` are pure functions over the
IR the loader runs once (`resolve_project` does both); `view_query` then compiles
one view to a SELECT for a dialect (the SQL itself is built in `session.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from aligned_cli.compile.dialects.base import Dialect
from aligned_cli.compile.expressions import (
    duckdb_type,
    infer_type,
    portable_arithmetic,
    shared_resolved,
    widen_small_integers,
)
from aligned_cli.compile.relations import known_source_columns
from aligned_cli.core.inheritance import inherit_feature_type, resolve_view_inheritance
from aligned_cli.core.ir import Aggregation, Feature, FeatureView, Project
from aligned_cli.core.types import NUMERIC_TYPES, DataType
from aligned_cli.errors import ProjectError, did_you_mean

# --- inheritance (SPEC §4, last bullet) ------------------------------------------


# --- schema and derived features ---------------------------------------------------


def input_schema(project: Project, view: FeatureView) -> dict[str, DataType | None]:
    """The columns a view's expressions may read, with their types where known.

    A view on a view reads its parent's output columns; a view on a source reads the
    source's columns (types known when read from its file) plus its own declared columns.
    """
    schema: dict[str, DataType | None] = {}
    if view.source.kind == "view":
        parent = project.views[view.source.name]
        schema.update(output_types(project, parent))
    else:
        source = project.sources[view.source.name]
        for name in known_source_columns(source) or []:
            schema[name] = duckdb_type(source.columns[name]) if source.columns else None
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
    # Columns resolved (quoted), other derived not inlined. Shared by every view with
    # the same expression over the same columns: copy it before changing it.
    expression: exp.Expr
    dtype: DataType | None
    reads: list[str]


def resolve_derived_features(project: Project, view: FeatureView) -> dict[str, DerivedFeature]:
    """The view's derived features in dependency order, types inferred.

    A derived feature may read other derived features of the same view; a cycle
    among them is a ProjectError naming it. Expressions are read in the project's
    dialect (SPEC §3.1).
    """
    dialect = project.dialect
    schema = input_schema(project, view)
    derived = {f.name: f for f in view.features if f.is_derived}
    for name in derived:
        schema.pop(name, None)
    readable: dict[str, DataType | None] = {**schema, **{n: None for n in derived}}
    parsed: dict[str, exp.Expr] = {}
    reads: dict[str, list[str]] = {}
    for name, feature in derived.items():
        sql = feature.expression or ""
        parsed[name], reads[name] = shared_resolved(
            sql, readable, feature.location, dialect=dialect
        )
    order = _dependency_order(view, derived, reads)
    result: dict[str, DerivedFeature] = {}
    typed_schema = dict(schema)
    for name in order:
        feature = derived[name]
        sql = feature.expression or ""
        # Type errors are reported against the expression as written.
        inferred = infer_type(
            parsed[name], typed_schema, sql, feature.location, reads[name], dialect=dialect
        )
        widened = widen_small_integers(parsed[name], typed_schema)
        if widened is not parsed[name]:
            inferred = infer_type(
                widened, typed_schema, sql, feature.location, reads[name], dialect=dialect
            )
        dtype = feature.dtype or inferred
        portable = portable_arithmetic(
            widened, typed_schema, sql, feature.location, dialect=dialect
        )
        typed_schema[name] = dtype
        result[name] = DerivedFeature(feature, portable, dtype, list(reads[name]))
    return result


def _dependency_order(
    view: FeatureView, derived: dict[str, Feature], reads: dict[str, list[str]]
) -> list[str]:
    order: list[str] = []
    state: dict[str, str] = {}
    for name in derived:
        _visit(name, [], view, derived, reads, state, order)
    return order


def _visit(
    name: str,
    path: list[str],
    view: FeatureView,
    derived: dict[str, Feature],
    reads: dict[str, list[str]],
    state: dict[str, str],
    order: list[str],
) -> None:
    # A function of its own, not a closure calling itself (a reference cycle).
    if state.get(name) == "done":
        return
    if state.get(name) == "visiting":
        cycle = " -> ".join([*path[path.index(name) :], name])
        raise ProjectError(
            f"derived features of view '{view.name}' depend on each other in a cycle: {cycle}",
            location=derived[name].location,
        )
    state[name] = "visiting"
    for dep in reads[name]:
        if dep in derived:
            _visit(dep, [*path, name], view, derived, reads, state, order)
    state[name] = "done"
    order.append(name)


def resolve_derived_types(project: Project) -> Project:
    """A copy where every derived feature without a declared type has its inferred one."""
    views = dict(project.views)
    # Lookups during resolution see parents already typed (a view on a view reads
    # its parent's inferred types); `views` is filled in as views resolve.
    working = project.model_copy(update={"views": views})
    done: set[str] = set()
    for name in project.views:
        _resolve_types(name, views, working, done)
    return project.model_copy(update={"views": {n: views[n] for n in project.views}})


def _resolve_types(
    name: str, views: dict[str, FeatureView], working: Project, done: set[str]
) -> None:
    """Type view `name`'s derived features and aggregations (its parent's first).

    A function of its own, not a closure calling itself: that would be a reference
    cycle keeping every intermediate view alive until the collector runs."""
    if name in done:
        return
    done.add(name)
    view = views[name]
    if view.source.kind == "view" and view.source.name in views:
        _resolve_types(view.source.name, views, working, done)
        # A feature passed through from the parent takes its type, which for the
        # parent's derived features is known only now.
        parent = views[view.source.name]
        features = [inherit_feature_type(f, parent) for f in view.features]
        view = views[name] = view.model_copy(update={"features": features})
    derived = resolve_derived_features(working, view)
    if derived:
        features = [
            f.model_copy(update={"dtype": derived[f.name].dtype}) if f.name in derived else f
            for f in view.features
        ]
        view = views[name] = view.model_copy(update={"features": features})
    if view.aggregations:
        check_aggregation_types(view, aggregation_input_types(view, input_schema(working, view)))
    if any(a.dtype is None for a in view.aggregations):
        views[name] = view.model_copy(update={"aggregations": _typed_aggregations(working, view)})


# Aggregation functions of numbers: DuckDB and PostgreSQL have no sum, avg or stddev of
# text, times or (PostgreSQL) booleans. min, max, last and the counts take any type.
_NUMERIC_AGGREGATIONS = frozenset({"sum", "mean", "stddev"})


def check_aggregation_types(view: FeatureView, of_types: dict[str, DataType | None]) -> None:
    """Every sum, mean and stddev reads a number, where its type is known; otherwise
    the dataset would fail only when `aligned run` builds it."""
    for aggregation in view.aggregations:
        if aggregation.function not in _NUMERIC_AGGREGATIONS or aggregation.of is None:
            continue
        of_type = of_types.get(aggregation.of)
        if of_type is None or of_type in NUMERIC_TYPES:
            continue
        raise ProjectError(
            f"type mismatch in aggregation '{view.name}:{aggregation.name}': "
            f"{aggregation.function} of '{aggregation.of}', which is {of_type.value}; "
            f"{aggregation.function} takes a number",
            location=aggregation.location or view.location,
            hint=f"aggregate a number (e.g. a derived feature CAST({aggregation.of} AS DOUBLE)), "
            "or use min, max, last, count or count_distinct, which take any type",
        )


def _typed_aggregations(project: Project, view: FeatureView) -> list[Aggregation]:
    """The view's aggregations, each with the type of its output (`output_type`), so
    the manifest and the runtime API show it like a feature's."""
    from aligned_cli.compile.aggregations import output_type

    of_types = aggregation_input_types(view, input_schema(project, view))
    typed: list[Aggregation] = []
    for agg in view.aggregations:
        dtype = output_type(agg, of_types.get(agg.of or ""))
        typed.append(agg if dtype is None else agg.model_copy(update={"dtype": dtype}))
    return typed


def aggregation_input_types(
    view: FeatureView,
    schema: dict[str, DataType | None],
    derived: dict[str, DerivedFeature] | None = None,
) -> dict[str, DataType | None]:
    """The type of every column the view's aggregations read (`of`), where known: a
    derived feature's inferred type, a feature's declared one, else the view's input
    schema's."""
    types: dict[str, DataType | None] = {}
    for agg in view.aggregations:
        if agg.of is None:
            continue
        feature = view.feature(agg.of)
        if derived and agg.of in derived:
            types[agg.of] = derived[agg.of].dtype
        elif feature is not None and feature.dtype is not None:
            types[agg.of] = feature.dtype
        else:
            types[agg.of] = schema.get(agg.of)
    return types


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


def check_aggregation_inputs(project: Project, view: FeatureView) -> None:
    """Every `of` is a column the view can read, where compile time knows them all.

    The load-time check (`parse.resolve`) cannot see a file source's columns; they
    are known here (`Source.columns`, read from the file's header). Without this, an
    unknown `of` would surface only as an engine error when a dataset is built.
    """
    if not view.aggregations:
        return
    if view.source.kind == "source" and project.sources[view.source.name].columns is None:
        return  # a table or query source: any raw column may be named
    readable = input_schema(project, view)
    for aggregation in view.aggregations:
        of = aggregation.of
        if of is None or of in readable or view.feature(of) is not None:
            continue
        raise ProjectError(
            f"aggregation '{view.name}:{aggregation.name}' reads unknown column '{of}'",
            location=aggregation.location or view.location,
            hint=did_you_mean(of, [*readable, *(f.name for f in view.features)]),
        )


def resolve_project(project: Project) -> Project:
    """Inheritance, then derived feature types; checks every view. Pure."""
    inherited = resolve_view_inheritance(project)
    for view in inherited.views.values():
        check_view(view)
        check_aggregation_inputs(inherited, view)
    return resolve_derived_types(inherited)


# --- compiling a view (see `session.py`) ---------------------------------------------


def view_query(project: Project, view_name: str, dialect: Dialect) -> exp.Select:
    """Every row of the view: keys, instants, then every feature in declared order."""
    _get_view(project, view_name)
    from aligned_cli.compile.session import CompileSession

    return CompileSession(project, dialect).view_query(view_name)


def resolved_view_query(project: Project, view_name: str, dialect: Dialect) -> exp.Select:
    """`view_query` for a project whose view inheritance is already resolved."""
    from aligned_cli.compile.session import CompileSession

    return CompileSession(project, dialect, inherited=True).view_query(view_name)


def _get_view(project: Project, name: str) -> FeatureView:
    view = project.views.get(name)
    if view is None:
        raise ProjectError(f"unknown feature view '{name}'", hint=did_you_mean(name, project.views))
    return view
