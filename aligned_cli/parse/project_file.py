"""Finding a project's aligned_project.yml, cheaply (no rendering, no validation).

Kept apart from `project.py` so the compile cache can check a project without
importing the whole loader.
"""

from __future__ import annotations

import re
from pathlib import Path

from aligned_cli.errors import ProjectError

PROJECT_FILE = "aligned_project.yml"


def find_project_file(project_dir: Path) -> Path:
    candidate = project_dir / PROJECT_FILE
    if candidate.is_file():
        return candidate
    alternative = project_dir / "aligned_project.yaml"
    if alternative.is_file():
        return alternative
    raise ProjectError(
        f"'{project_dir}' is not an aligned project: it has no {PROJECT_FILE}",
        hint="run the command inside a project, pass --project-dir, "
        "or create one with `aligned init NAME`",
    )


def project_target_path(project_dir: Path) -> str:
    """The project's `target-path` read without rendering or validating anything.

    It only says where the compile cache lives (the compile itself reads the real
    value), so the usual one-line form is picked out of the text and YAML, ~10 ms of
    imports on every warm command, is loaded only for anything else.
    """
    try:
        text = find_project_file(project_dir).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return "target"
    if "target-path" not in text:
        return "target"
    plain = _PLAIN_TARGET_PATH.findall(text)
    if len(plain) == 1:
        return str(plain[0])
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return "target"
    value = data.get("target-path") if isinstance(data, dict) else None
    return value if isinstance(value, str) and "{" not in value else "target"


# `target-path: some/dir` at the top level, an unquoted plain value, maybe a comment.
_PLAIN_TARGET_PATH = re.compile(r"^target-path:[ \t]+([\w./-]+)[ \t]*(?:#.*)?$", re.MULTILINE)
