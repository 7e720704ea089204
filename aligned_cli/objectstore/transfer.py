"""Reading, listing and atomically replacing objects.

An object store has no rename, so a write goes to a temporary key beside the final
one, is copied over the final key (a server-side copy: readers see the old object
or the new one, never a part), and the temporary key is deleted. A failure at any
step leaves the old object as it was and deletes the temporary key.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from aligned_cli.errors import ExecutionError
from aligned_cli.objectstore.errors import explain
from aligned_cli.objectstore.filesystems import open_filesystem
from aligned_cli.objectstore.settings import StoreSettings, settings_for
from aligned_cli.objectstore.urls import has_glob, protocol_of

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

T = TypeVar("T")
log = logging.getLogger(__name__)


class Remote:
    """One object-store URL with the filesystem and settings that reach it."""

    def __init__(self, url: str, project_root: Path | None = None) -> None:
        protocol = protocol_of(url)
        assert protocol is not None, f"not a URL: {url}"
        self.url = url
        self.protocol = protocol
        self.settings: StoreSettings = settings_for(protocol, project_root)
        self.fs: AbstractFileSystem = open_filesystem(self.settings)

    def call(self, action: Callable[[], T], url: str | None = None) -> T:
        """Run `action`, turning a driver failure into a clear ExecutionError."""
        try:
            return action()
        except ExecutionError:
            raise
        except Exception as error:  # botocore/aiohttp raise many kinds; all mean "failed"
            raise explain(error, url or self.url, self.settings) from None

    def read_bytes(self) -> bytes:
        data: bytes = self.call(lambda: self.fs.cat_file(self.url))
        return data

    def expand(self) -> list[str]:
        """The objects a (glob) URL names, as full URLs, sorted; none is an error."""
        found = self.call(lambda: sorted(self._glob()))
        if not found:
            raise explain(FileNotFoundError(self.url), self.url, self.settings)
        return found

    def _glob(self) -> list[str]:
        if has_glob(self.url):
            paths = [p for p in self.fs.glob(self.url) if not self.fs.isdir(p)]
        else:
            paths = [self.url] if self.fs.isfile(self.url) else []
        return [self.fs.unstrip_protocol(p) if "://" not in p else p for p in paths]

    def fingerprint(self, salt: str = "") -> str:
        """A digest of the objects' names, sizes and ETags (no download), plus `salt`."""
        digest = hashlib.sha256(salt.encode())
        for url in self.expand():
            info = self.call(lambda u=url: self.fs.info(u), url)  # type: ignore[misc]
            tag = info.get("ETag") or info.get("etag") or info.get("LastModified") or ""
            digest.update(f"\0{url}\0{info.get('size')}\0{tag}".encode())
        return digest.hexdigest()

    def write_bytes(self, data: bytes) -> None:
        """Replace the object with `data` atomically (temporary key, copy, delete)."""
        with self.replacing() as temporary:
            self.call(lambda: self.fs.pipe_file(temporary, data))

    def upload(self, local: Path) -> None:
        """Replace the object with the local file `local` atomically."""
        with self.replacing() as temporary:
            self.call(lambda: self.fs.put_file(str(local), temporary))

    @contextlib.contextmanager
    def replacing(self) -> Iterator[str]:
        """A temporary URL beside this one to write; on success it becomes this one."""
        temporary = temporary_url(self.url)
        written = False
        try:
            yield temporary
            written = True
            self.call(lambda: self.fs.copy(temporary, self.url))
        finally:
            # Deleting a key that was never written is a no-op in S3; a failure
            # matters only when the temporary object does exist.
            self.delete_quietly(temporary, warn=written)

    def delete_quietly(self, url: str, *, warn: bool = True) -> None:
        try:
            self.fs.rm_file(url)
        except FileNotFoundError:
            pass
        except Exception as error:  # cleanup must not hide the error that got us here
            if warn:
                log.warning("could not delete temporary object %s: %s", url, error)


def temporary_url(url: str) -> str:
    """A fresh key in the same folder, hidden from globs like `*.parquet`."""
    folder, _, name = url.rpartition("/")
    return f"{folder}/.aligned_tmp_{uuid.uuid4().hex[:12]}_{name}.partial"


def read_text(url: str, project_root: Path | None = None) -> str:
    return Remote(url, project_root).read_bytes().decode("utf-8")


def write_text_atomic(url: str, text: str, project_root: Path | None = None) -> None:
    Remote(url, project_root).write_bytes(text.encode("utf-8"))
