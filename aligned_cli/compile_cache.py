"""Reusing the last compile when nothing it depends on changed (like dbt's partial parse).

A compile depends on the project's own files, the environment variables its YAML
reads through `env_var()` (and, for Python feature files, any variable named in
them), `--vars`, the dialects asked for, aligned's version, and the headers of the
data files whose column types it read. All of that goes into one fingerprint; the
compiled project is pickled under `target/.aligned_cache/` with it. A mismatch, a
corrupt cache or `ALIGNED_NO_CACHE=1` means a full compile, never a wrong one.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aligned_cli import __version__
from aligned_cli.compile.compiled import CACHE_FOLDER

if TYPE_CHECKING:
    from aligned_cli.compile.compiled import CompiledProject

_FORMAT = 2  # bumped whenever CompiledProject changes shape (2: test_checks)
_PROJECT_SUFFIXES = {".yml", ".yaml", ".py", ".sql", ".j2"}


def disabled() -> bool:
    return os.environ.get("ALIGNED_NO_CACHE", "") not in ("", "0", "false")


def fingerprint(
    project_dir: Path,
    *,
    target_path: str,
    cli_vars: Mapping[str, Any] | None,
    dialects: Iterable[str] | None,
) -> str:
    """Everything a compile reads before it parses anything, as one digest."""
    digest = hashlib.sha256()
    settings = {
        "format": _FORMAT,
        "aligned": __version__,
        "vars": cli_vars or {},
        "dialects": sorted(dialects) if dialects is not None else "connections",
        "target_path": target_path,
        "root": str(project_dir.resolve()),  # a moved project compiles anew
        "code": _code_stamp(),
    }
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    python_text: list[str] = []
    for path in _project_files(project_dir, target_path):
        content = path.read_bytes()
        digest.update(path.relative_to(project_dir).as_posix().encode() + b"\0" + content + b"\0")
        if path.suffix == ".py":
            python_text.append(content.decode("utf-8", errors="replace"))
    # Python feature files may read any environment variable they name.
    named = sorted(n for n in os.environ if any(n in text for text in python_text))
    digest.update(json.dumps({n: os.environ[n] for n in named}).encode())
    return digest.hexdigest()


def _code_stamp() -> list[int]:
    """aligned's own source files' latest change: an upgraded or edited aligned (an
    editable install between releases) never reuses an older compiler's output."""
    package = Path(__file__).resolve().parent
    stamps = [p.stat().st_mtime_ns for p in package.rglob("*.py")]
    return [len(stamps), max(stamps, default=0)]


def _project_files(project_dir: Path, target_path: str) -> list[Path]:
    """Project files that can change a compile; never walks into target/ or hidden dirs."""
    target = (project_dir / target_path).resolve()
    found: list[Path] = []
    for folder, subfolders, files in os.walk(project_dir):
        here = Path(folder)
        subfolders[:] = sorted(
            d
            for d in subfolders
            if not d.startswith(".") and d != "__pycache__" and (here / d).resolve() != target
        )
        found.extend(here / f for f in sorted(files) if Path(f).suffix in _PROJECT_SUFFIXES)
    return found


def _cache_file(project_dir: Path, target_path: str) -> Path:
    return project_dir / target_path / CACHE_FOLDER / "compiled.pickle"


def load(project_dir: Path, target_path: str, key: str) -> CompiledProject | None:
    """The cached compile for `key`, if it is still valid."""
    path = _cache_file(project_dir, target_path)
    try:
        with path.open("rb") as stream:
            entry = pickle.load(stream)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != key:
        return None
    if any(os.environ.get(name) != value for name, value in entry["env"].items()):
        return None
    if any(_stat(Path(name)) != stat for name, stat in entry["data_files"].items()):
        return None
    compiled: CompiledProject = entry["compiled"]
    return compiled


def store(
    project_dir: Path,
    target_path: str,
    key: str,
    compiled: CompiledProject,
    env_read: Mapping[str, str | None],
) -> None:
    """Remember `compiled`; failing to write the cache never fails the compile.

    Projects reading files from an object store are not cached: their headers (the
    column types the compile read) could change without any local trace.
    """
    import tempfile

    if any(_is_remote(s.file) for s in compiled.project.sources.values() if s.file):
        return

    import uuid

    # Not `key`: a compile redone for what `key` does not cover (an env var's value,
    # a data file's header) must not reuse what was cached for the previous one.
    compiled.compile_id = uuid.uuid4().hex
    entry = {
        "key": key,
        "env": dict(env_read),
        "data_files": {str(p): _stat(p) for p in _data_files(compiled)},
        "compiled": compiled,
    }
    path = _cache_file(project_dir, target_path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=".compiled.", dir=path.parent)
        with os.fdopen(handle, "wb") as stream:
            pickle.dump(entry, stream, pickle.HIGHEST_PROTOCOL)
        os.replace(temp, path)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        Path(locals().get("temp", path.with_suffix(".none"))).unlink(missing_ok=True)


def _data_files(compiled: CompiledProject) -> list[Path]:
    """Files whose headers the compile read (column types of file sources)."""
    import glob

    root = Path(compiled.project.root)
    files: list[Path] = []
    for source in compiled.project.sources.values():
        if source.file is None or _is_remote(source.file):
            continue
        pattern = source.file if Path(source.file).is_absolute() else str(root / source.file)
        files.extend(Path(p) for p in sorted(glob.glob(pattern, recursive=True)))
        files.append(Path(pattern))  # a glob matching nothing yet, or a missing file
    return files


def _is_remote(path: str) -> bool:
    return "://" in path


def _stat(path: Path) -> list[int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns]
