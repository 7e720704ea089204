"""`aligned init NAME`: a new project from the bundled template, runnable at once."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from aligned_cli.cli.app import cli, handle_errors

_PLACEHOLDER = "__PROJECT_NAME__"


def template_dir() -> Path:
    """The template shipped inside the package (a copy of the repo's project_template/)."""
    return Path(__file__).resolve().parent.parent.parent / "project_template"


@cli.command("init")
@handle_errors
def init_command(
    name: Annotated[str, typer.Argument(help="Project name; also the folder created.")],
    force: Annotated[
        bool, typer.Option("--force", help="Write into a folder that is not empty.")
    ] = False,
) -> None:
    """Create a new project from the template (Titanic example, DuckDB, no server)."""
    from aligned_cli.cli.output import console
    from aligned_cli.errors import UsageError
    from aligned_cli.parse.resolve import check_name

    folder = Path(name)
    project_name = folder.name
    check_name(project_name, "project", None)
    if folder.exists() and any(folder.iterdir()) and not force:
        raise UsageError(
            f"'{folder}' exists and is not empty",
            hint="choose another name, or pass --force to write into it",
        )
    source = template_dir()
    shutil.copytree(
        source, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns("target", "__pycache__")
    )
    project_file = folder / "aligned_project.yml"
    project_file.write_text(project_file.read_text().replace(_PLACEHOLDER, project_name))
    console().print(f"Created project '{project_name}' in {folder}/")
    console().print(f"  cd {folder} && aligned compile && aligned run")
