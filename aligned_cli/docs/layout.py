"""The overview graph of the docs site: sources, views and models, laid out in layers.

Features and tests are folded into their view so a 500-view project stays readable;
the page expands a view's features when it is focused. Layout is computed here (not in
the browser) so it is deterministic and costs the page nothing at load time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aligned_cli.artifacts.manifest import Manifest

OVERVIEW_KINDS = ("source", "view", "model")
NODE_WIDTH = 200
NODE_HEIGHT = 34
COLUMN_GAP = 90
ROW_GAP = 14
# A layer taller than this wraps into several sub-columns, so 400 sibling views make a
# block instead of a 15 000-pixel-high column.
MAX_ROWS = 40
SWEEPS = 4


def overview_graph(manifest: Manifest) -> dict[str, Any]:
    """{"nodes": [{id, kind, name, x, y}], "edges": [[from, to]], "width", "height"}."""
    import networkx as nx

    graph = nx.DiGraph()
    for uid, node in manifest.nodes.items():
        if node.kind in OVERVIEW_KINDS:
            graph.add_node(uid, kind=node.kind, name=node.name)
    for parent, children in manifest.child_map.items():
        for child in children:
            a, b = _owner(manifest, parent), _owner(manifest, child)
            if a is not None and b is not None and a != b:
                graph.add_edge(a, b)
    layers = [sorted(layer) for layer in nx.topological_generations(graph)]
    _order_by_barycenter(graph, layers)
    nodes: list[dict[str, Any]] = []
    x = 0
    height = 0
    for layer in layers:
        columns = [layer[i : i + MAX_ROWS] for i in range(0, len(layer), MAX_ROWS)]
        for column in columns:
            for row, uid in enumerate(column):
                y = row * (NODE_HEIGHT + ROW_GAP)
                data = graph.nodes[uid]
                nodes.append(
                    {"id": uid, "kind": data["kind"], "name": data["name"], "x": x, "y": y}
                )
                height = max(height, y + NODE_HEIGHT)
            x += NODE_WIDTH + COLUMN_GAP // (2 if column is not columns[-1] else 1)
    return {
        "nodes": nodes,
        "edges": sorted([a, b] for a, b in graph.edges),
        "width": max(x - COLUMN_GAP, NODE_WIDTH),
        "height": height,
        "node_width": NODE_WIDTH,
        "node_height": NODE_HEIGHT,
    }


def _owner(manifest: Manifest, uid: str) -> str | None:
    """The overview node standing for `uid`: itself, a feature's view, or none (tests)."""
    node = manifest.nodes.get(uid)
    if node is None or node.kind == "test":
        return None
    if node.kind == "feature":
        project, view = uid.split(".")[1:3]
        return f"view.{project}.{view}"
    return uid


def _order_by_barycenter(graph: Any, layers: list[list[str]]) -> None:
    """Reorder each layer by the mean position of its neighbours (fewer edge crossings)."""
    for sweep in range(SWEEPS):
        downward = sweep % 2 == 0
        sequence = range(1, len(layers)) if downward else range(len(layers) - 2, -1, -1)
        for index in sequence:
            reference = layers[index - 1] if downward else layers[index + 1]
            neighbours = graph.predecessors if downward else graph.successors
            layers[index].sort(key=_barycenter(layers[index], reference, neighbours))


def _barycenter(
    layer: list[str], reference: list[str], neighbours: Any
) -> Callable[[str], tuple[float, str]]:
    position = {uid: i for i, uid in enumerate(reference)}
    current = {uid: i for i, uid in enumerate(layer)}

    def key(uid: str) -> tuple[float, str]:
        seen = [position[n] for n in neighbours(uid) if n in position]
        return (sum(seen) / len(seen) if seen else float(current[uid]), uid)

    return key
