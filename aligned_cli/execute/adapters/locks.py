"""One writer per target: a file lock for DuckDB, the key of an advisory lock for PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aligned_cli.errors import LockError


def lock_error(target: str, project_name: str) -> LockError:
    return LockError(
        f"target {target} is locked: another `aligned run` (project '{project_name}') is using it",
        hint="wait for the other run to finish, or point this run at another target",
    )


@contextmanager
def file_lock(lock_path: Path, target: str, project_name: str) -> Iterator[None]:
    """Hold an exclusive, non-blocking flock on `lock_path` (created if missing).

    The file is left in place on release: deleting it would let a third process lock
    a fresh inode while a second one still holds the old one.
    """
    import fcntl

    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise lock_error(target, project_name) from error
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def advisory_lock_key(project_name: str, target: str) -> int:
    """A stable signed 64-bit key for `pg_try_advisory_lock` (never Python's salted hash)."""
    digest = hashlib.sha256(f"aligned\0{project_name}\0{target}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
