"""`aligned compile`: parse, build the DAG, compile SQL, write the manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aligned_cli.cli.app import cli, handle_errors, keep_until_exit
from aligned_cli.cli.options import LogFormat, ProjectDir, TargetPath, Vars


@cli.command("compile")
@handle_errors
def compile_command(
    dialect: Annotated[
        list[str] | None,
        typer.Option(
            "--dialect",
            help="Compile for this dialect only "
            "(duckdb, postgres, spark, bigquery, snowflake, trino).",
        ),
    ] = None,
    project_dir: ProjectDir = Path("."),
    target_path: TargetPath = None,
    vars: Vars = None,
    log_format: LogFormat = "text",
) -> None:
    """Compile the project: target/manifest.json and target/compiled/<dialect>/<node>.sql."""
    import time

    from aligned_cli.cli.context import compiled_project
    from aligned_cli.cli.output import info
    from aligned_cli.pipeline import build_manifest, write_compiled

    started = time.perf_counter()
    compiled = compiled_project(
        project_dir,
        vars_text=vars,
        target_path=target_path,
        log_format=log_format,
        dialects=dialect,
    )
    manifest = build_manifest(compiled)
    path = write_compiled(compiled, manifest)
    project = compiled.project
    info(
        f"Compiled {len(project.sources)} sources, {len(project.views)} feature views, "
        f"{sum(len(v.feature_names) for v in project.views.values())} features, "
        f"{len(project.models)} models, {len(compiled.tests)} tests "
        f"in {time.perf_counter() - started:.2f}s -> {path}",
        manifest=str(path),
    )
    keep_until_exit(compiled, manifest)
