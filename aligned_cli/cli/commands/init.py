"""`aligned init NAME`: a new project from the bundled template, runnable at once."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from aligned_cli.cli.app import cli, handle_errors
from aligned_cli.cli.options import LogFormat

_PLACEHOLDER = "__PROJECT_NAME__"


def template_dir() -> Path:
    """The template shipped inside the package (a copy of the repo's project_template/)."""
    return Path(__file__).resolve().parent.parent.parent / "project_template"


@cli.command("init")
@handle_errors
def init_command(
    name: Annotated[
        str,
        typer.Argument(
            help="Project name; also the folder created. `.` creates the project in the "
            "current folder, named after it."
        ),
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Write into a folder that is not empty.")
    ] = False,
    log_format: LogFormat = "text",
) -> None:
    """Create a new project from the template (Titanic example, DuckDB, no server)."""
    from aligned_cli.cli.output import info, json_logs, use_log_format
    from aligned_cli.errors import UsageError
    from aligned_cli.parse.resolve import check_name

    use_log_format(log_format)
    folder = Path(name)
    # `.` (or `..`, `/`-ending paths normalise away) names no folder of its own: the
    # project goes into that existing folder and takes its name.
    here = folder.name in ("", "..")
    project_name = folder.resolve().name if here else folder.name
    if here:
        _check_folder_name(project_name, folder)
    else:
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
    (folder / "target").mkdir(exist_ok=True)  # SPEC §2's layout: what aligned writes
    project_file = folder / "aligned_project.yml"
    project_file.write_text(project_file.read_text().replace(_PLACEHOLDER, project_name))
    where = "the current folder" if folder == Path(".") else f"{folder}/"
    info(f"Created project '{project_name}' in {where}", project=project_name, path=str(folder))
    if not json_logs():  # the next step, for a person reading it
        cd = "" if folder == Path(".") else f"cd {folder} && "
        info(f"  {cd}aligned compile && aligned run")


def _check_folder_name(project_name: str, folder: Path) -> None:
    """The name an existing folder gives its project must be a valid name (SPEC §9)."""
    from aligned_cli.errors import ProjectError, UsageError
    from aligned_cli.parse.resolve import check_name

    try:
        check_name(project_name, "project", None)
    except ProjectError as error:
        where = "the current folder" if folder == Path(".") else f"'{folder}'"
        raise UsageError(
            f"cannot name the project after {where}: {error.message}",
            hint=f"pass a NAME (e.g. `aligned init my_project`), or rename the folder; "
            f"{error.hint}",
        ) from None
