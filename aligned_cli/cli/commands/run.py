"""`aligned run`: build the selected views and model datasets, in DAG order."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aligned_cli.cli.app import cli, handle_errors
from aligned_cli.cli.options import (
    Exclude,
    LogFormat,
    ProjectDir,
    Select,
    State,
    Target,
    TargetPath,
    Vars,
)


@cli.command("run")
@handle_errors
def run_command(
    select: Select = None,
    exclude: Exclude = None,
    target: Target = None,
    full_refresh: Annotated[
        bool,
        typer.Option(
            "--full-refresh",
            help="Reload staged file sources even when unchanged (outputs are always rebuilt).",
        ),
    ] = False,
    fail_fast: Annotated[
        bool, typer.Option("--fail-fast", help="Stop at the first failure.")
    ] = False,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads",
            min=1,
            help="Worker threads per query (DuckDB threads; PostgreSQL: parallel workers "
            "+ 1). Default: the engine's own (DuckDB uses every core).",
        ),
    ] = None,
    state: State = None,
    openlineage_file: Annotated[
        Path | None,
        typer.Option("--openlineage-file", help="Append OpenLineage run events (JSON lines) here."),
    ] = None,
    openlineage_url: Annotated[
        str | None,
        typer.Option("--openlineage-url", help="Send OpenLineage run events to this API."),
    ] = None,
    project_dir: ProjectDir = Path("."),
    target_path: TargetPath = None,
    vars: Vars = None,
    log_format: LogFormat = "text",
) -> None:
    """Execute selected nodes: materialize views, build model datasets (run_results.json).

    Exit 0 when every node succeeded, 1 when a node errored or failed (also when the
    target could not be reached: every node is then `error` with the cause), 2 for
    a usage or project error.
    """
    from aligned_cli.cli.context import compiled_project, selection_args
    from aligned_cli.cli.execution import execute, exit_code, target_connection
    from aligned_cli.cli.selection import resolve_selection
    from aligned_cli.pipeline import build_manifest, write_compiled

    compiled = compiled_project(
        project_dir,
        vars_text=vars,
        target_path=target_path,
        log_format=log_format,
    )
    target_connection(compiled, target)  # fail early on an unknown --target
    manifest = build_manifest(compiled)
    try:
        # Selected before this compile's manifest is written: `--state` may name this
        # very target folder, whose manifest is the older one to compare with.
        selected = resolve_selection(
            compiled, selection_args(select), selection_args(exclude), state, indirect_tests=True
        )
    finally:
        write_compiled(compiled, manifest)
    results = execute(
        compiled,
        selected,
        command="run",
        target=target,
        fail_fast=fail_fast,
        full_refresh=full_refresh,
        threads=threads,
        args={
            "select": select,
            "exclude": exclude,
            "target": target,
            "full_refresh": full_refresh,
            "fail_fast": fail_fast,
            "threads": threads,
        },
    )
    if openlineage_file or openlineage_url:
        from aligned_cli.openlineage import emit_run_events

        emit_run_events(
            manifest,
            results,
            project_dir=Path(compiled.project.root),
            url=openlineage_url,
            file=openlineage_file,
        )
    raise typer.Exit(exit_code(results))
