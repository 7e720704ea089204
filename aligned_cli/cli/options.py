"""Options shared by every command (SPEC §5: --project-dir, --target-path, --vars, --log-format)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

ProjectDir = Annotated[
    Path,
    typer.Option("--project-dir", help="The project folder (holding aligned_project.yml)."),
]
TargetPath = Annotated[
    Path | None,
    typer.Option("--target-path", help="Where artifacts go (default: the project's target-path)."),
]
Vars = Annotated[
    str | None,
    typer.Option(
        "--vars", help="YAML mapping of variables for var(), e.g. '{start_date: 2026-01-01}'."
    ),
]
LogFormat = Annotated[
    str,
    typer.Option("--log-format", help="text (rich) or json (one JSON object per line)."),
]
Select = Annotated[
    list[str] | None,
    typer.Option("--select", "-s", help="Node selection (dbt-style); repeatable."),
]
Exclude = Annotated[
    list[str] | None,
    typer.Option("--exclude", help="Nodes to leave out (same grammar as --select)."),
]


def parse_vars(text: str | None) -> dict[str, Any]:
    """`--vars '{k: v}'` -> dict; anything else is a usage error."""
    if not text:
        return {}
    import yaml

    from aligned_cli.errors import UsageError

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise UsageError(
            f"--vars is not valid YAML: {error}", hint="e.g. --vars '{key: value}'"
        ) from None
    if not isinstance(value, dict):
        raise UsageError("--vars must be a mapping", hint="e.g. --vars '{key: value}'")
    return value


Target = Annotated[
    str | None,
    typer.Option("--target", help="Connection to use (default: default-connection)."),
]
State = Annotated[
    Path | None, typer.Option("--state", help="Folder holding an older manifest.json.")
]
