"""Project-relative file paths: resolving, globbing and hashing source files."""

from __future__ import annotations

import glob
import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from aligned_cli.core.ir import Source
from aligned_cli.errors import ProjectError
from aligned_cli.execute.adapters.sql_names import temp_name

T = TypeVar("T")

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_CHUNK = 1 << 20


def is_url(text: str) -> bool:
    return bool(_URL.match(text))


def resolve_path(project_root: Path, path: str) -> Path:
    """`path` as an absolute path; relative paths are relative to the project root."""
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else project_root / candidate


def replace_file(path: Path, write: Callable[[Path], T]) -> T:
    """`write` a temporary file beside `path`, then rename it over `path` (atomic on one
    filesystem): a failure leaves the old file and no temporary one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_file = path.with_name(f"{temp_name()}_{path.name}")
    try:
        result = write(tmp_file)
        os.replace(tmp_file, path)
        return result
    finally:
        tmp_file.unlink(missing_ok=True)


def expand_source_files(project_root: Path, source: Source) -> list[Path]:
    """The files a file source reads (its glob expanded), sorted; none is an error."""
    assert source.file is not None, "only file sources have files"
    pattern = resolve_path(project_root, source.file)
    files = sorted(Path(p) for p in glob.glob(str(pattern), recursive=True) if Path(p).is_file())
    if not files:
        raise ProjectError(
            f"source '{source.name}': no file found at '{source.file}'",
            location=source.location,
            hint=f"paths are relative to the project root ({project_root})",
        )
    return files


def files_sha256(project_root: Path, files: list[Path], salt: str = "") -> str:
    """One digest over the files' names and contents, plus `salt` (e.g. read options)."""
    digest = hashlib.sha256(salt.encode())
    for path in files:
        # The name is hashed too, so renaming a file inside a glob counts as a change.
        name = path.relative_to(project_root) if path.is_relative_to(project_root) else path
        digest.update(b"\0" + str(name).encode() + b"\0")
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()
