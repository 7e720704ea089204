"""`aligned apply [--to PATH]`: publish the feature-store definition (the manifest)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aligned_cli.cli.app import cli, handle_errors
from aligned_cli.cli.options import LogFormat, ProjectDir, TargetPath, Vars
from aligned_cli.objectstore.urls import is_remote


@cli.command("apply")
@handle_errors
def apply_command(
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="Where to write the definition (default: target/manifest.json): "
            "a path, or an object-store URL such as s3://bucket/production.json.",
        ),
    ] = None,
    project_dir: ProjectDir = Path("."),
    target_path: TargetPath = None,
    vars: Vars = None,
    log_format: LogFormat = "text",
) -> None:
    """Compile, then write the definition the runtime API loads (FeatureStore.from_manifest)."""
    from aligned_cli.artifacts.writer import write_json_atomic
    from aligned_cli.cli.context import compiled_project
    from aligned_cli.cli.output import info
    from aligned_cli.pipeline import build_manifest, write_compiled

    compiled = compiled_project(
        project_dir, vars_text=vars, target_path=target_path, log_format=log_format
    )
    manifest = build_manifest(compiled)
    local = write_compiled(compiled, manifest)
    if to is None:
        info(f"Feature store definition written to {local}")
        return
    # Published away from <project>/target/, the definition records where the
    # project's relative data paths live.
    root = compiled.project.root
    published = manifest.model_copy(
        update={"metadata": manifest.metadata.model_copy(update={"project_root": root})}
    )
    if is_remote(to):
        from aligned_cli.objectstore import write_text_atomic

        write_text_atomic(to, published.model_dump_json(indent=2) + "\n", Path(root))
        info(f"Feature store definition written to {to}")
        return
    destination = Path(to)
    write_json_atomic(destination, published.model_dump(mode="json"))
    info(f"Feature store definition written to {destination}")
