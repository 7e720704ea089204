"""`aligned lineage NODE`: what feeds a node and what it feeds, down to single features.

`--impact` answers the reviewer's question instead: which models and tests does a change
to NODE touch, and through which path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from aligned_cli.cli.app import cli, handle_errors
from aligned_cli.cli.options import LogFormat, ProjectDir, TargetPath, Vars

if TYPE_CHECKING:
    import networkx as nx
    from rich.tree import Tree


@cli.command("lineage")
@handle_errors
def lineage_command(
    node: Annotated[
        str, typer.Argument(help="A node: passenger:is_male, view:passenger, model:titanic...")
    ],
    output: Annotated[str, typer.Option("--output", help="text (a tree) or json.")] = "text",
    depth: Annotated[
        int | None, typer.Option("--depth", min=0, help="Levels to show each way (0 or more).")
    ] = None,
    impact: Annotated[
        bool,
        typer.Option(
            "--impact", help="List the downstream models and tests a change to NODE affects."
        ),
    ] = False,
    project_dir: ProjectDir = Path("."),
    target_path: TargetPath = None,
    vars: Vars = None,
    log_format: LogFormat = "text",
) -> None:
    """Show the upstream and downstream lineage of a node or a feature."""
    import networkx as nx

    from aligned_cli.cli.context import compiled_project
    from aligned_cli.cli.output import console
    from aligned_cli.errors import UsageError
    from aligned_cli.graph.selection import select_nodes

    if output not in ("text", "json"):
        raise UsageError(f"unknown --output '{output}'", hint="use text or json")
    compiled = compiled_project(
        project_dir,
        vars_text=vars,
        target_path=target_path,
        log_format=log_format,
        dialects=["duckdb"],
    )
    dag = compiled.dag
    uid = node if node in dag else None
    if uid is None:
        unmatched: list[str] = []
        matches = sorted(select_nodes(dag, [node], None, warnings=unmatched))
        if len(matches) != 1:
            raise UsageError(
                f"'{node}' names {len(matches)} nodes; lineage needs exactly one",
                hint="qualify it, e.g. view:passenger or passenger:is_male"
                + (f" (matches: {', '.join(matches[:5])})" if matches else "")
                + (f"; {unmatched[0]}" if unmatched else ""),
            )
        uid = matches[0]
    if impact:
        _print_impact(dag, uid, output)
        return
    upstream = _limited(dag.reverse(copy=False), uid, depth)
    downstream = _limited(dag, uid, depth)
    if output == "json":
        result: dict[str, Any] = {
            "unique_id": uid,
            "kind": dag.nodes[uid]["kind"],
            "name": dag.nodes[uid]["name"],
            "upstream": sorted(upstream),
            "downstream": sorted(downstream),
            "columns": compiled.lineage.get(uid, []),
        }
        typer.echo(json.dumps(result, indent=2))
        return
    out = console()
    out.print(_tree(dag.reverse(copy=False), uid, "upstream", depth))
    out.print(_tree(dag, uid, "downstream", depth))
    if uid in compiled.lineage:
        out.print("source columns: " + ", ".join(compiled.lineage[uid]))
    del nx


def _limited(graph: nx.DiGraph, start: str, depth: int | None) -> set[str]:
    import networkx as nx

    reached = nx.single_source_shortest_path_length(graph, start, cutoff=depth)
    return {n for n in reached if n != start}


def _label(graph: nx.DiGraph, uid: str) -> str:
    from rich.markup import escape

    data = graph.nodes[uid]
    return f"[bold]{data['kind']}[/bold] {escape(data['name'])}"


def _tree(graph: nx.DiGraph, root: str, title: str, depth: int | None) -> Tree:
    from rich.tree import Tree

    tree = Tree(f"{_label(graph, root)} [dim]{title}[/dim]")
    seen: set[str] = {root}

    def grow(branch: Tree, uid: str, level: int) -> None:
        if depth is not None and level >= depth:
            return
        for child in sorted(graph.successors(uid)):
            if child in seen:
                branch.add(f"{_label(graph, child)} [dim](shown above)[/dim]")
                continue
            seen.add(child)
            grow(branch.add(_label(graph, child)), child, level + 1)

    grow(tree, root, 0)
    return tree


def impact_of(graph: nx.DiGraph, start: str) -> dict[str, list[dict[str, Any]]]:
    """Downstream models and tests of `start`, each with one shortest path from it."""
    import networkx as nx

    paths = nx.single_source_shortest_path(graph, start)
    found: dict[str, list[dict[str, Any]]] = {"models": [], "tests": []}
    for uid in sorted(paths):
        kind = graph.nodes[uid]["kind"]
        if uid == start or kind not in ("model", "test"):
            continue
        found[f"{kind}s"].append(
            {"unique_id": uid, "name": graph.nodes[uid]["name"], "path": paths[uid]}
        )
    return found


def _print_impact(graph: nx.DiGraph, uid: str, output: str) -> None:
    from rich.markup import escape

    from aligned_cli.cli.output import console
    from aligned_cli.graph.ids import node_label

    found = impact_of(graph, uid)
    data = graph.nodes[uid]
    if output == "json":
        result = {"unique_id": uid, "kind": data["kind"], "name": data["name"], **found}
        typer.echo(json.dumps(result, indent=2))
        return

    def label(node: str) -> str:
        return escape(node_label(graph.nodes[node]["kind"], graph.nodes[node]["name"]))

    out = console()
    models, tests = found["models"], found["tests"]
    out.print(
        f"A change to [bold]{label(uid)}[/bold] affects {len(models)} model(s) "
        f"and {len(tests)} test(s)"
    )
    for group in (models, tests):
        for item in group:
            path = " -> ".join(label(step) for step in item["path"])
            out.print(f"  [bold]{label(item['unique_id'])}[/bold]  [dim]path:[/dim] {path}")
