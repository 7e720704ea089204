"""The lineage DAG: sources, views, features, models and tests (SPEC §5).

Node ids are unique ids (`graph.ids`). Every node carries:
  kind      source | view | feature | model | test
  name      the display name (`view:feature` for features)
  file/line where it was declared (features and tests fall back to their view's)
  tags      its own tags; features and tests carry their view's
  obj       the IR object (Source, FeatureView, Feature/Aggregation, Model, DataTest)
  checksum  `graph.checksums.node_checksum` of `obj`
Features and tests also carry `view` (their view's name). The graph itself carries
`project` (the project name) and `root` (its directory).

The DAG is built as a plain-dict graph (`core.digraph`, no networkx import: a tenth
of a big compile); `build_dag` hands it over as networkx, edge for edge the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from pydantic import BaseModel

from aligned_cli.core.digraph import DiGraph
from aligned_cli.core.ir import Aggregation, Feature, FeatureRef, FeatureView, Model, Project
from aligned_cli.core.location import Location
from aligned_cli.core.tests import DataTest
from aligned_cli.errors import ProjectError, did_you_mean
from aligned_cli.graph import ids
from aligned_cli.graph.checksums import CanonicalMemo, node_checksum
from aligned_cli.graph.columns import FeatureInput, FeatureInputs, feature_inputs
from aligned_cli.graph.cycles import check_acyclic
from aligned_cli.graph.lineage import feature_lineage

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["build_dag", "build_graph", "feature_lineage"]


def build_dag(project: Project, tests: list[DataTest]) -> nx.DiGraph:
    """The project's DAG as networkx; ProjectError on an unknown reference or a cycle."""
    return build_graph(project, tests).to_networkx()


def build_graph(
    project: Project, tests: list[DataTest], *, inputs: FeatureInputs | None = None
) -> DiGraph[str]:
    """The project's DAG (see `build_dag`), without networkx. `inputs`, when given,
    receives every feature's `feature_inputs` (for `feature_lineage`)."""
    dag: DiGraph[str] = DiGraph(project=project.name, root=project.root)
    # Checksums of views cover their features, which are nodes too: dump each once.
    memo: CanonicalMemo = {}
    _add_sources(dag, project, memo)
    _add_views(dag, project, memo)
    check_acyclic(dag)  # view cycles first: they are the root cause of any feature cycle
    _add_features(dag, project, memo, {} if inputs is None else inputs)
    _add_models(dag, project, memo)
    _add_tests(dag, project, tests, memo)
    check_acyclic(dag)
    return dag


def _add_node(
    dag: DiGraph[str],
    project: Project,
    uid: str,
    obj: BaseModel,
    memo: CanonicalMemo,
    *,
    location: Location | None,
    tags: Iterable[str],
    **extra: str,
) -> None:
    kind, name = ids.kind_and_name(uid)
    dag.add_node(
        uid,
        kind=kind,
        name=name,
        file=location.file if location else None,
        line=location.line if location else None,
        tags=list(dict.fromkeys(tags)),  # de-duplicated, declaration order kept
        obj=obj,
        checksum=node_checksum(obj, dialect=project.dialect, memo=memo),
        **extra,
    )


def _add_sources(dag: DiGraph[str], project: Project, memo: CanonicalMemo) -> None:
    for source in project.sources.values():
        uid = ids.source_id(project.name, source.name)
        _add_node(dag, project, uid, source, memo, location=source.location, tags=source.tags)


def _add_views(dag: DiGraph[str], project: Project, memo: CanonicalMemo) -> None:
    for view in project.views.values():
        uid = ids.view_id(project.name, view.name)
        _add_node(dag, project, uid, view, memo, location=view.location, tags=view.tags)
    for view in project.views.values():
        dag.add_edge(_view_source_id(project, view), ids.view_id(project.name, view.name))


def _view_source_id(project: Project, view: FeatureView) -> str:
    """The node a view reads; ProjectError naming the closest names when unknown."""
    ref = view.source
    if ref.kind == "view":
        if ref.name not in project.views:
            raise ProjectError(
                f"view '{view.name}' is built on unknown view '{ref.name}'",
                location=view.location,
                hint=did_you_mean(ref.name, project.views),
            )
        return ids.view_id(project.name, ref.name)
    if ref.name not in project.sources:
        hint = did_you_mean(ref.name, project.sources)
        if ref.name in project.views:
            hint = f"'{ref.name}' is a view; to build on it write `source: view:{ref.name}`"
        raise ProjectError(
            f"view '{view.name}' reads unknown source '{ref.name}'",
            location=view.location,
            hint=hint,
        )
    return ids.source_id(project.name, ref.name)


def _add_features(
    dag: DiGraph[str], project: Project, memo: CanonicalMemo, inputs: FeatureInputs
) -> None:
    for view in project.views.values():
        vid = ids.view_id(project.name, view.name)
        members: list[Feature | Aggregation] = [*view.features, *view.aggregations]
        for feature in members:
            fid = ids.feature_id(project.name, view.name, feature.name)
            location = feature.location or view.location
            _add_node(
                dag, project, fid, feature, memo, location=location, tags=view.tags, view=view.name
            )
            dag.add_edge(vid, fid)
    # Feature -> feature edges once every feature node exists (inputs may be upstream).
    for view in project.views.values():
        members = [*view.features, *view.aggregations]
        for feature in members:
            fid = ids.feature_id(project.name, view.name, feature.name)
            found = inputs[view.name, feature.name] = feature_inputs(project, view, feature)
            for source in found:
                if isinstance(source, FeatureInput):
                    dag.add_edge(ids.feature_id(project.name, source.view, source.feature), fid)


def _add_models(dag: DiGraph[str], project: Project, memo: CanonicalMemo) -> None:
    for model in project.models.values():
        mid = ids.model_id(project.name, model.name)
        _add_node(dag, project, mid, model, memo, location=model.location, tags=model.tags)
        refs = list(model.features)
        if model.target is not None and model.target.feature is not None:
            refs.append(model.target.feature)
        for ref in refs:
            dag.add_edge(_model_feature_id(project, model, ref), mid)
        if model.spine is not None:
            if model.spine.source not in project.sources:
                raise ProjectError(
                    f"model '{model.name}' has unknown spine source '{model.spine.source}'",
                    location=model.location,
                    hint=did_you_mean(model.spine.source, project.sources),
                )
            dag.add_edge(ids.source_id(project.name, model.spine.source), mid)


def _model_feature_id(project: Project, model: Model, ref: FeatureRef) -> str:
    view = project.views.get(ref.view)
    if view is None:
        raise ProjectError(
            f"model '{model.name}' uses '{ref}', but there is no view '{ref.view}'",
            location=model.location,
            hint=did_you_mean(ref.view, project.views),
        )
    if ref.feature not in view.feature_names:
        everything = [f"{v.name}:{f}" for v in project.views.values() for f in v.feature_names]
        raise ProjectError(
            f"model '{model.name}' uses '{ref}', but view '{ref.view}' has no feature "
            f"'{ref.feature}'",
            location=model.location,
            hint=did_you_mean(str(ref), everything),
        )
    return ids.feature_id(project.name, ref.view, ref.feature)


def _add_tests(
    dag: DiGraph[str], project: Project, tests: list[DataTest], memo: CanonicalMemo
) -> None:
    for test in tests:
        view = project.views.get(test.view)
        if view is None:
            raise ProjectError(
                f"test '{test.name}' is on unknown view '{test.view}'",
                location=test.location,
                hint=did_you_mean(test.view, project.views),
            )
        if test.kind == "relationships":
            _check_relationship(project, view, test)
        tid = ids.test_id(project.name, test.name)
        location = test.location or view.location
        tags = [*view.tags, *test.tags]
        _add_node(dag, project, tid, test, memo, location=location, tags=tags, view=view.name)
        if test.feature is None:
            dag.add_edge(ids.view_id(project.name, view.name), tid)
        elif test.feature in view.feature_names:
            dag.add_edge(ids.feature_id(project.name, view.name, test.feature), tid)
        else:
            raise ProjectError(
                f"test '{test.name}' is on unknown feature '{view.name}:{test.feature}'",
                location=test.location or view.location,
                hint=did_you_mean(test.feature, view.feature_names),
            )


def _check_relationship(project: Project, view: FeatureView, test: DataTest) -> None:
    """A relationships test must point at an existing view (and column, when named)."""
    value = test.value if isinstance(test.value, dict) else {"to": test.value}
    target = str(value.get("to") or "").removeprefix("view:")
    location = test.location or view.location
    other = project.views.get(target)
    if other is None:
        raise ProjectError(
            f"relationships test '{test.name}' points to unknown view '{target}'",
            location=location,
            hint=did_you_mean(target, project.views),
        )
    field = value.get("field")
    columns = other.feature_names + other.key_columns
    if field is not None and field not in columns:
        raise ProjectError(
            f"relationships test '{test.name}' points to unknown column '{field}' "
            f"of view '{target}'",
            location=location,
            hint=did_you_mean(str(field), columns),
        )
