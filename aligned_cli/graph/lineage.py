"""Feature-level lineage: the raw source columns each feature is computed from.

Keys are feature unique ids; values are sorted raw-column ids
`source.<project>.<source>.<raw column>` (`graph.ids.column_id`), where the raw
column is the name stored in the file or table, before `mapping` renames it. Lineage
follows derived expressions, aggregations' `of`, and view-on-view chains; a `count`
aggregation reads no column and has an empty lineage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aligned_cli.core.digraph import DiGraph
from aligned_cli.core.ir import Project
from aligned_cli.graph import ids
from aligned_cli.graph.columns import (
    ColumnInput,
    FeatureInput,
    FeatureInputs,
    RawInput,
    feature_inputs,
    resolve_column,
)
from aligned_cli.graph.snapshot import DagSnapshot

if TYPE_CHECKING:
    import networkx as nx


def feature_lineage(
    project: Project,
    dag: nx.DiGraph | DiGraph[str] | DagSnapshot,
    *,
    inputs: FeatureInputs | None = None,
) -> dict[str, list[str]]:
    """{feature unique id: sorted raw-column ids}, for every feature of `dag`;
    `inputs`: the features' `feature_inputs` where known (`build_graph` collects them)."""
    found: dict[str, frozenset[str]] = {}
    # Topological order: a feature's input features are done before it is.
    order: Any
    if isinstance(dag, DagSnapshot):
        order = dag.order
    elif isinstance(dag, DiGraph):
        order = dag.topological_order()
    else:
        import networkx as nx

        order = nx.topological_sort(dag)
    nodes = dag.nodes
    for uid in order:
        attrs = nodes[uid]
        if attrs["kind"] != "feature":
            continue
        view = project.views[attrs["view"]]
        feature = attrs["obj"]
        known = inputs.get((view.name, feature.name)) if inputs is not None else None
        columns: set[str] = set()
        for source in known if known is not None else feature_inputs(project, view, feature):
            columns |= _raw_columns(project, source, found)
        found[uid] = frozenset(columns)
    return {uid: sorted(columns) for uid, columns in sorted(found.items())}


def _raw_columns(
    project: Project, source: ColumnInput, found: dict[str, frozenset[str]]
) -> frozenset[str]:
    if isinstance(source, RawInput):
        return frozenset({ids.column_id(project.name, source.source, source.column)})
    if isinstance(source, FeatureInput):
        return found[ids.feature_id(project.name, source.view, source.feature)]
    # An upstream view's key column: follow it up that view's own source.
    upstream = project.views[source.view]
    return _raw_columns(project, resolve_column(project, upstream, source.column, None), found)
