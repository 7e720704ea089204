"""`aligned monitor`: logged predictions against ground truth, and drift, per window."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aligned_cli.cli.app import cli, handle_errors
from aligned_cli.cli.options import Exclude, LogFormat, ProjectDir, Select, Target, TargetPath, Vars


@cli.command("monitor")
@handle_errors
def monitor_command(
    select: Select = None,
    exclude: Exclude = None,
    window: Annotated[
        str, typer.Option("--window", help="Length of each time window, e.g. 1d, 6h, 1w.")
    ] = "1d",
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only predictions newer than this, e.g. 30d (default: all)."),
    ] = None,
    target: Target = None,
    project_dir: ProjectDir = Path("."),
    target_path: TargetPath = None,
    vars: Vars = None,
    log_format: LogFormat = "text",
) -> None:
    """Model performance and feature drift of logged predictions (monitoring.json);
    exits 1 when an `alerts:` bound of severity error is crossed."""
    from aligned_cli.cli.context import compiled_project, selection_args
    from aligned_cli.cli.execution import target_connection
    from aligned_cli.cli.monitoring_run import MonitorArgs, run_monitor
    from aligned_cli.cli.selection import resolve_selection

    compiled = compiled_project(
        project_dir, vars_text=vars, target_path=target_path, log_format=log_format
    )
    connection = target_connection(compiled, target)
    selected = resolve_selection(
        compiled, selection_args(select), selection_args(exclude), None, indirect_tests=False
    )
    args = MonitorArgs.parse(window, since, explicit_selection=bool(select))
    raise typer.Exit(
        run_monitor(
            compiled,
            connection,
            selected,
            args,
            raw_args={
                "select": select,
                "exclude": exclude,
                "window": window,
                "since": since,
                "target": target,
            },
        )
    )
