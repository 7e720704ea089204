"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def write_text_atomic(path: Path, text: str, *, durable: bool = True) -> None:
    """Replace `path` with `text` (temp file + rename); `durable=False` skips the fsync,
    for caches that are only ever a shortcut."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            if durable:
                stream.flush()
                os.fsync(stream.fileno())
        make_shareable(temp_name)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def make_shareable(path: str | Path) -> None:
    """Give a temp file the mode a plain `open()` would (0666 minus the umask).

    mkstemp creates 0600 files, which would make artifacts unreadable to the CI
    user or web server that reads them after the rename.
    """
    os.chmod(path, 0o666 & ~current_umask())


@functools.cache
def current_umask() -> int:
    # The only portable way to read the umask is to set it and put it back; read it
    # once, because another thread creating a file in between would see 0o022.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def write_texts_atomic(files: Mapping[str, str]) -> None:
    """Each file (a path string) replaced atomically (temp file + rename), unchanged
    files left alone.

    Atomic but not fsync'ed: these are derived files (compiled SQL) that any compile
    writes again, and a big project has thousands of them; an fsync per file, or one
    system-wide `os.sync`, dominated `aligned compile` (the sync also waits for every
    other process's dirty pages). The manifest goes through `write_text_atomic`.
    Plain path strings and one random suffix per batch, not `Path` objects and
    `mkstemp` per file: with thousands of files those were a visible part of a compile.
    """
    import uuid

    suffix = f".{uuid.uuid4().hex[:12]}.tmp"  # this batch's: another process has its own
    pending: list[tuple[str, str]] = []
    folders: set[str] = set()
    renamed = 0
    try:
        for path, text in files.items():
            if _has_text(path, text):
                continue
            folder, name = os.path.split(path)
            if folder not in folders:
                os.makedirs(folder, exist_ok=True)
                folders.add(folder)
            temp = os.path.join(folder, f".{name}{suffix}")
            # Mode "x": created with the mode a plain open() gives (0666 minus umask).
            with open(temp, "x", encoding="utf-8") as stream:
                pending.append((temp, path))
                stream.write(text)
        for temp, path in pending:
            os.replace(temp, path)
            renamed += 1
    finally:
        for temp, _ in pending[renamed:]:
            Path(temp).unlink(missing_ok=True)


def _has_text(path: str, text: str) -> bool:
    try:
        with open(path, encoding="utf-8") as stream:
            return stream.read() == text
    except (OSError, UnicodeDecodeError):
        return False
