"""`aligned ls`: list the selected nodes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from aligned_cli.cli.app import cli, handle_errors
from aligned_cli.cli.options import Exclude, LogFormat, ProjectDir, Select, State, TargetPath, Vars

_KINDS = ("source", "view", "feature", "model", "test")


@cli.command("ls")
@handle_errors
def ls_command(
    select: Select = None,
    exclude: Exclude = None,
    resource_type: Annotated[
        list[str] | None,
        typer.Option(
            "--resource-type", help="Only these kinds: source, view, feature, model, test."
        ),
    ] = None,
    output: Annotated[str, typer.Option("--output", help="text or json.")] = "text",
    state: State = None,
    project_dir: ProjectDir = Path("."),
    target_path: TargetPath = None,
    vars: Vars = None,
    log_format: LogFormat = "text",
) -> None:
    """List nodes: `aligned ls --select view:passenger+ --output json`."""
    from aligned_cli.cli.context import compiled_project, selection_args
    from aligned_cli.cli.selection import resolve_selection
    from aligned_cli.errors import UsageError

    kinds = resource_type or []
    for kind in kinds:
        if kind not in _KINDS:
            raise UsageError(
                f"unknown --resource-type '{kind}'", hint=f"use one of {', '.join(_KINDS)}"
            )
    if output not in ("text", "json"):
        raise UsageError(f"unknown --output '{output}'", hint="use text or json")
    compiled = compiled_project(
        project_dir,
        vars_text=vars,
        target_path=target_path,
        log_format=log_format,
        dialects=["duckdb"],
    )
    selected = resolve_selection(
        compiled, selection_args(select), selection_args(exclude), state, indirect_tests=False
    )
    nodes = compiled.graph.nodes
    rows = [
        {"unique_id": uid, "kind": nodes[uid]["kind"], "name": nodes[uid]["name"]}
        for uid in sorted(selected)
        if not kinds or nodes[uid]["kind"] in kinds
    ]
    if output == "json":
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        # SPEC §5: an empty selection prints `[]`; the warning goes to stderr so that
        # stdout stays machine-readable.
        from aligned_cli.cli.selection import print_selection_warnings

        typer.echo("[]")
        print_selection_warnings(["nothing selected"])  # a JSON line with --log-format json
        return
    for row in rows:
        typer.echo(row["unique_id"])
