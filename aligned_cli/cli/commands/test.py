"""`aligned test`: run the data-quality tests of the selected nodes."""

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


@cli.command("test")
@handle_errors
def test_command(
    select: Select = None,
    exclude: Exclude = None,
    target: Target = None,
    fail_fast: Annotated[
        bool, typer.Option("--fail-fast", help="Stop at the first failure.")
    ] = False,
    store_failures: Annotated[
        bool,
        typer.Option(
            "--store-failures",
            help="Keep each test's failing rows in the table aligned_failures.<test> "
            "(replaced on every run; its name is in run_results.json as `output`).",
        ),
    ] = False,
    state: State = None,
    project_dir: ProjectDir = Path("."),
    target_path: TargetPath = None,
    vars: Vars = None,
    log_format: LogFormat = "text",
) -> None:
    """Run data-quality tests; exit 1 when an error-severity test fails.

    Exit 1 also when a test errored or the target could not be reached (every test
    is then `error` with the cause); 2 for a usage or project error.
    """
    from aligned_cli.cli.context import compiled_project, selection_args
    from aligned_cli.cli.execution import execute, exit_code, target_connection
    from aligned_cli.cli.selection import resolve_selection

    compiled = compiled_project(
        project_dir,
        vars_text=vars,
        target_path=target_path,
        log_format=log_format,
    )
    target_connection(compiled, target)
    selected = resolve_selection(
        compiled, selection_args(select), selection_args(exclude), state, indirect_tests=True
    )
    tests = {uid for uid in selected if compiled.graph.kind(uid) == "test"}
    results = execute(
        compiled,
        tests,
        command="test",
        target=target,
        fail_fast=fail_fast,
        store_failures=store_failures,
        args={
            "select": select,
            "exclude": exclude,
            "target": target,
            "store_failures": store_failures,
        },
    )
    raise typer.Exit(exit_code(results))
