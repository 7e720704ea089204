"""`aligned apply [--to PATH]`: publish the feature-store definition (the manifest)."""

from __future__ import annotations

import os
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
            "a file path, or an object-store URL such as s3://bucket/production.json. "
            "An existing folder, or a path ending in '/', gets manifest.json inside it "
            "(the folder is created); FeatureStore.from_manifest takes the folder or "
            "the file.",
        ),
    ] = None,
    project_dir: ProjectDir = Path("."),
    target_path: TargetPath = None,
    vars: Vars = None,
    log_format: LogFormat = "text",
) -> None:
    """Compile, then write the definition the runtime API loads (FeatureStore.from_manifest)."""
    from aligned_cli.artifacts.manifest import MANIFEST_FILE
    from aligned_cli.artifacts.writer import write_json_atomic
    from aligned_cli.cli.context import compiled_project
    from aligned_cli.cli.output import info
    from aligned_cli.errors import UsageError
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

        url = to + MANIFEST_FILE if to.endswith("/") else to
        write_text_atomic(url, published.model_dump_json(indent=2) + "\n", Path(root))
        info(f"Feature store definition written to {url}")
        return
    destination = local_destination(to)
    try:
        write_json_atomic(destination, published.model_dump(mode="json"))
    except OSError as error:
        # Name the user's path, not the temp file the atomic write goes through.
        raise UsageError(
            f"cannot write the definition to '{destination}': {error.strerror or error}",
            hint="check that the folder exists or can be created, and its permissions",
        ) from None
    info(f"Feature store definition written to {destination}")


def local_destination(to: str) -> Path:
    """The file `--to` names: itself, or `manifest.json` inside it when it is an existing
    folder or ends with a path separator."""
    from aligned_cli.artifacts.manifest import MANIFEST_FILE

    separators = tuple(sep for sep in (os.sep, os.altsep) if sep)
    destination = Path(to).expanduser()
    if to.endswith(separators) or destination.is_dir():
        return destination / MANIFEST_FILE
    return destination
