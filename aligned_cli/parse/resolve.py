"""Merge declarations from every file into one Project and check its references.

Runs after every file is loaded: names are unique across YAML and Python, every
reference points at something that exists (else: the reference, where it was used,
and the closest names), and views built on views inherit what they don't restate.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from aligned_cli.core.digraph import DiGraph
from aligned_cli.core.inheritance import resolve_view_inheritance
from aligned_cli.core.ir import (
    CLASSIFICATION_METRICS,
    PROBABILITY_METRICS,
    REGRESSION_METRICS,
    Aggregation,
    Connection,
    Feature,
    FeatureRef,
    FeatureView,
    Model,
    Output,
    Project,
    Source,
)
from aligned_cli.core.location import Location
from aligned_cli.core.naming import STREAM_ID_COLUMN
from aligned_cli.errors import ProjectError, closest, did_you_mean

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_NAME_BYTES = 63  # PostgreSQL's identifier limit
T = TypeVar("T", Source, FeatureView, Model)


@dataclass
class Declarations:
    """Everything declared by the project's files, before merging."""

    sources: list[Source] = field(default_factory=list)
    views: list[FeatureView] = field(default_factory=list)
    models: list[Model] = field(default_factory=list)
    connections: list[Connection] = field(default_factory=list)
    # until the IR carries it on the view itself.


def check_name(name: str, what: str, location: Location | None) -> None:
    if not _NAME.match(name):
        raise ProjectError(
            f"{what} name '{name}' is not a valid name",
            location=location,
            hint="names start with a letter or _ and contain only letters, digits and _",
        )
    if len(name.encode()) > _MAX_NAME_BYTES:
        raise ProjectError(
            f"{what} name '{name}' is longer than {_MAX_NAME_BYTES} bytes",
            location=location,
            hint="PostgreSQL truncates longer identifiers; choose a shorter name",
        )


def _unique(items: Iterable[T], what: str) -> dict[str, T]:
    result: dict[str, T] = {}
    for item in items:
        check_name(item.name, what, item.location)
        if item.name in result:
            first = result[item.name].location
            raise ProjectError(
                f"{what} '{item.name}' is declared twice: at {first} and at {item.location}",
                location=item.location,
                hint="names are unique across YAML and Python files; rename or remove one",
            )
        result[item.name] = item
    return result


def merge(project: Project, declared: Declarations) -> Project:
    """The project with every declaration merged in, inherited and checked."""
    project.sources = _unique(declared.sources, "source")
    project.views = _unique(declared.views, "feature view")
    project.models = _unique(declared.models, "model")
    for view in project.views.values():
        for feature in view.features:
            check_name(feature.name, "feature", feature.location or view.location)
        for aggregation in view.aggregations:
            check_name(aggregation.name, "feature", aggregation.location or view.location)
        for test in view.tests:
            if test.name is not None:
                check_name(test.name, "test", test.location or view.location)
    for source in project.sources.values():
        for renamed in source.mapping.values():
            check_name(renamed, f"source '{source.name}' mapped column", source.location)
        _check_source(source)
        _check_connection(project, source.connection, f"source '{source.name}'", source.location)
    _check_view_sources(project)
    _inherit(project)
    for view in project.views.values():
        _check_view(project, view)
        _check_output(
            project, view.materialized_source, f"feature view '{view.name}'", view.location
        )
        _check_output(
            project, view.stream_sink, f"feature view '{view.name}' stream sink", view.location
        )
    _check_stream_sinks(project)
    for model in project.models.values():
        _check_model(project, model)
        _check_output(project, model.output, f"model '{model.name}'", model.location)
    return project


def _check_stream_sinks(project: Project) -> None:
    """Each view's stream sink is its own, and has room for the message id column: a
    sink de-duplicates re-delivered messages by id, and ids of two streams (or two
    views of one stream) coincide, so a shared sink would drop or delete rows."""
    owners: dict[tuple[str | None, ...], str] = {}
    for view in project.views.values():
        sink = view.stream_sink
        if sink is None:
            continue
        if STREAM_ID_COLUMN in view.feature_names or STREAM_ID_COLUMN in view.key_columns:
            raise ProjectError(
                f"feature view '{view.name}' has a column named '{STREAM_ID_COLUMN}', which "
                "its stream sink adds (the id of the message each row came from)",
                location=view.location,
                hint=f"rename the '{STREAM_ID_COLUMN}' column",
            )
        if sink.file is not None:
            where: tuple[str | None, ...] = ("file", posixpath.normpath(sink.file))
        else:
            connection = sink.connection or project.default_connection
            where = ("table", connection, sink.schema_name, sink.table)
        other = owners.setdefault(where, view.name)
        if other != view.name:
            raise ProjectError(
                f"feature views '{other}' and '{view.name}' write the same stream sink",
                location=view.location,
                hint="give each view a sink of its own: messages are told apart by their "
                "stream id, which two streams can share",
            )


def _check_connection(
    project: Project, name: str | None, owner: str, location: Location | None
) -> None:
    if name is not None and name not in project.connections:
        raise ProjectError(
            f"{owner} names connection '{name}', which aligned_project.yml does not declare",
            location=location,
            hint=did_you_mean(name, project.connections),
        )


# aligned's own bookkeeping tables live beside staged sources (e.g. `_aligned_files`).
RESERVED_PREFIX = "_aligned"


def _check_source(source: Source) -> None:
    if source.name.startswith(RESERVED_PREFIX):
        raise ProjectError(
            f"source name '{source.name}' is reserved: names starting with "
            f"'{RESERVED_PREFIX}' are aligned's own tables",
            location=source.location,
            hint="rename the source",
        )
    if source.timezone is not None and not _known_zone(source.timezone):
        near = closest(source.timezone, _zones())
        raise ProjectError(
            f"source '{source.name}' reads its times in unknown time zone '{source.timezone}'",
            location=source.location,
            hint=f"did you mean '{near[0]}'?"
            if near
            else "use an IANA zone name such as Europe/Oslo or America/New_York",
        )
    renamed: dict[str, str] = {}  # new name -> the raw column mapped onto it
    for raw, name in source.mapping.items():
        if name in renamed:
            raise ProjectError(
                f"source '{source.name}' maps both '{renamed[name]}' and '{raw}' to '{name}'",
                location=source.location,
                hint="each column needs a name of its own; map one of them to another name",
            )
        renamed[name] = raw
    if source.freshness is not None and not (source.loaded_at_field or source.event_timestamp):
        raise ProjectError(
            f"source '{source.name}' declares freshness but has no time column to measure it on",
            location=source.location,
            hint="add `loaded_at_field:` (or `event_timestamp:`) naming a timestamp column, "
            "or remove `freshness:`",
        )


def _zones() -> set[str]:
    import zoneinfo

    return zoneinfo.available_timezones()


def _known_zone(name: str) -> bool:
    """An IANA zone name (the engines read the same database); any name passes on a
    machine without a zone database, where nothing could be checked."""
    zones = _zones()
    return not zones or name in zones or name.upper() == "UTC"


def _check_output(
    project: Project, output: Output | None, owner: str, location: Location | None
) -> None:
    """Output tables are created by aligned, so their names follow the name rule
    (they are quoted identifiers either way, but `x; drop table y` is a mistake)."""
    if output is None:
        return
    _check_connection(project, output.connection, f"{owner} output", location)
    if output.table is not None:
        check_name(output.table, f"{owner} output table", location)
    if output.schema_name is not None:
        check_name(output.schema_name, f"{owner} output schema", location)


def _check_view_sources(project: Project) -> None:
    for view in project.views.values():
        ref = view.source
        pool = project.views if ref.kind == "view" else project.sources
        if ref.name not in pool:
            kind = "feature view" if ref.kind == "view" else "source"
            raise ProjectError(
                f"feature view '{view.name}' reads {kind} '{ref.name}', which does not exist",
                location=view.location,
                hint=did_you_mean(ref.name, pool),
            )


def _inherit(project: Project) -> None:
    """Views on views take entities, timestamps and ttl from their parent (SPEC §4)."""
    graph: DiGraph[str] = DiGraph()
    for view in project.views.values():
        graph.add_node(view.name)
        if view.source.kind == "view":
            graph.add_edge(view.source.name, view.name)
    cycle = []
    if not graph.is_acyclic():  # one cheap pass; a cycle is searched only then
        import networkx as nx

        cycle = nx.find_cycle(graph.to_networkx())
    if cycle:
        path = " -> ".join(f"view:{a}" for a, _ in cycle) + f" -> view:{cycle[0][0]}"
        raise ProjectError(
            f"feature views are built on each other in a cycle: {path}",
            location=project.views[cycle[0][0]].location,
            hint="a view may be built on another only if that one does not depend on it",
        )
    project.views = resolve_view_inheritance(project).views


def _check_view(project: Project, view: FeatureView) -> None:
    if not view.features and not view.aggregations:
        raise ProjectError(
            f"feature view '{view.name}' declares no features",
            location=view.location,
            hint="a view needs at least one feature or aggregation, e.g. "
            "`features: {age: {type: float}}`",
        )
    if view.freshness is not None and view.event_timestamp is None:
        raise ProjectError(
            f"feature view '{view.name}' declares freshness but has no event_timestamp",
            location=view.location,
            hint="freshness is measured on the newest event time; add `event_timestamp:` "
            "or remove `freshness:`",
        )
    if not view.entities:
        raise ProjectError(
            f"feature view '{view.name}' declares no entities",
            location=view.location,
            hint="add `entities: [your_key_column]`",
        )
    if view.ttl is not None and view.event_timestamp is None:
        raise ProjectError(
            f"feature view '{view.name}' has a ttl but no event_timestamp",
            location=view.location,
            hint="a ttl counts back from each row's event time; add `event_timestamp:` "
            "or remove `ttl:`",
        )
    if view.aggregations and view.event_timestamp is None:
        raise ProjectError(
            f"feature view '{view.name}' declares aggregations but no event_timestamp",
            location=view.aggregations[0].location or view.location,
            hint="window aggregations are computed over event time; add `event_timestamp:`",
        )
    for aggregation in view.aggregations:
        if aggregation.function != "count" and aggregation.of is None:
            raise ProjectError(
                f"aggregation '{aggregation.name}' ({aggregation.function}) needs `of:`",
                location=aggregation.location or view.location,
                hint="name the feature it aggregates, e.g. `of: fare`",
            )
        if aggregation.min_rows is not None and aggregation.min_rows < 1:
            raise ProjectError(
                f"aggregation '{view.name}:{aggregation.name}' has min_rows "
                f"{aggregation.min_rows}; it must be at least 1",
                location=aggregation.location or view.location,
                hint="min_rows is how many rows a window needs for a value; "
                "leave it out to need none",
            )
        _check_aggregated_column(project, view, aggregation)
    seen: set[str] = set()
    for feature in view.features:
        if feature.name in seen:
            raise ProjectError(
                f"feature '{feature.name}' is declared twice in view '{view.name}'",
                location=feature.location or view.location,
            )
        seen.add(feature.name)
    # An aggregation is a column of the view's rows too: `view:name` must name one thing.
    aggregated: set[str] = set()
    for aggregation in view.aggregations:
        name = aggregation.name
        clash = (
            "a feature" if name in seen
            else "another aggregation" if name in aggregated
            else "an entity key" if name in view.key_columns
            else None
        )  # fmt: skip
        if clash is not None:
            raise ProjectError(
                f"aggregation '{name}' of view '{view.name}' has the name of {clash} of the view",
                location=aggregation.location or view.location,
                hint=f"give it a name of its own, e.g. '{name}_{aggregation.function}'",
            )
        aggregated.add(name)
    constrained: list[Feature | Aggregation] = [*view.features, *view.aggregations]
    for declared in constrained:
        for constraint in declared.constraints:
            if constraint.kind == "relationships":
                target = (constraint.value or {}).get("to")
                if target not in project.views:
                    raise ProjectError(
                        f"relationships test on '{view.name}:{declared.name}' points at "
                        f"view '{target}', which does not exist",
                        location=constraint.location or declared.location,
                        hint=did_you_mean(str(target), project.views),
                    )


def _check_aggregated_column(project: Project, view: FeatureView, aggregation: Aggregation) -> None:
    """`of` names a feature or key of the view, or a column of what the view reads.

    What a view reads is known here for a view on a view (the parent's outputs) and
    for a source whose `columns` are already known; a file source's columns are read
    from its header at compile time, where `compile.views.check_aggregation_inputs`
    repeats this check. Otherwise `of` may be any raw column of the source.
    """
    of = aggregation.of
    if of is None or of in view.key_columns or view.feature(of) is not None:
        return
    readable: list[str] | None = None
    if view.source.kind == "view":
        parent = project.views[view.source.name]
        readable = [*parent.key_columns, *(f.name for f in parent.features)]
    else:
        columns = project.sources[view.source.name].columns
        readable = list(columns) if columns is not None else None
    if view.aggregation(of) is not None:
        readable = []  # an aggregation of an aggregation is never readable
    if readable is None or of in readable:
        return
    raise ProjectError(
        f"aggregation '{view.name}:{aggregation.name}' reads unknown column '{of}'",
        location=aggregation.location or view.location,
        hint=did_you_mean(of, [*view.key_columns, *(f.name for f in view.features), *readable])
        or "`of` names a feature of the view or a column of its source",
    )


def _check_model(project: Project, model: Model) -> None:
    if not model.features:
        raise ProjectError(
            f"model '{model.name}' lists no features",
            location=model.location,
            hint="add `features: [view:feature, ...]`",
        )
    seen: set[FeatureRef] = set()
    for ref in model.features:
        if ref in seen:
            raise ProjectError(
                f"model '{model.name}' lists feature '{ref}' twice",
                location=model.location,
                hint="each feature appears once in a model's `features`; remove the repeat",
            )
        seen.add(ref)
    refs = list(model.features)
    if model.target is not None and model.target.feature is not None:
        refs.append(model.target.feature)
    for ref in refs:
        _check_feature_ref(project, ref, f"model '{model.name}'", model.location)
    # A default may name the dataset column, `view:feature` or the bare feature.
    columns = {
        n for ref in model.features for n in (ref.feature, str(ref), f"{ref.view}__{ref.feature}")
    }
    for key in model.defaults:
        if key not in columns:
            raise ProjectError(
                f"model '{model.name}' has a default for '{key}', which is not one of its features",
                location=model.location,
                hint=did_you_mean(key, [ref.feature for ref in model.features]),
            )
    _check_alerts(model)
    if model.spine is not None and model.spine.source not in project.sources:
        raise ProjectError(
            f"model '{model.name}' uses spine '{model.spine.source}', which is not a source",
            location=model.location,
            hint=did_you_mean(model.spine.source, project.sources),
        )


def _check_alerts(model: Model) -> None:
    """An alert on a metric `aligned monitor` never computes for this model would
    never fire: a regression metric on a classifier, log-loss without probabilities."""
    kind = model.target.kind if model.target is not None else None
    for metric, alert in model.alerts.items():
        if alert.min is None and alert.max is None:
            raise ProjectError(
                f"model '{model.name}' has an alert on '{metric}' with no bound",
                location=model.location,
                hint=f"give it a `min:` or a `max:`, e.g. `{metric}: {{max: 0.2}}`",
            )
        if alert.min is not None and alert.max is not None and alert.min > alert.max:
            raise ProjectError(
                f"model '{model.name}' has an alert on '{metric}' whose min {alert.min} "
                f"is above its max {alert.max}",
                location=model.location,
                hint="no value could pass it; swap the bounds",
            )
    for metric in model.alerts:
        if kind == "classification" and metric in REGRESSION_METRICS:
            problem = "a regression metric, and the model is a classifier"
        elif kind == "regression" and metric in CLASSIFICATION_METRICS:
            problem = "a classification metric, and the model is a regression"
        elif metric in PROBABILITY_METRICS and (
            model.predictions is None or model.predictions.probability is None
        ):
            problem = "computed from predicted probabilities, and `predictions:` names none"
        else:
            continue
        if metric in PROBABILITY_METRICS and kind != "regression":
            hint = "add `probability: <column>` to `predictions:`, or remove the alert"
        else:
            own = CLASSIFICATION_METRICS if kind == "classification" else REGRESSION_METRICS
            hint = f"alert on one of {', '.join(own)}, count, psi or prediction_psi"
        raise ProjectError(
            f"model '{model.name}' has an alert on '{metric}', {problem}",
            location=model.location,
            hint=hint,
        )


def _check_feature_ref(
    project: Project, ref: FeatureRef, used_by: str, location: Location | None
) -> None:
    view = project.views.get(ref.view)
    if view is None:
        raise ProjectError(
            f"{used_by} uses '{ref}', but there is no feature view '{ref.view}'",
            location=location,
            hint=did_you_mean(ref.view, project.views),
        )
    if ref.feature not in view.feature_names:
        raise ProjectError(
            f"{used_by} uses '{ref}', but view '{ref.view}' has no feature '{ref.feature}'",
            location=location,
            hint=did_you_mean(ref.feature, view.feature_names),
        )
