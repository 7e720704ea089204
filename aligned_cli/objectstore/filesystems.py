"""fsspec filesystems for object-store URLs, one per scheme and settings per process."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aligned_cli.errors import ProjectError
from aligned_cli.objectstore.settings import StoreSettings, settings_for
from aligned_cli.objectstore.urls import protocol_of

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

# Fail in seconds, not minutes, when an endpoint is down (botocore retries 4x by default).
_S3_CONFIG = {"connect_timeout": 10, "read_timeout": 60, "retries": {"max_attempts": 3}}
_cache: dict[str, AbstractFileSystem] = {}
_guard = threading.Lock()


def filesystem_for(url: str, project_root: Path | None = None) -> AbstractFileSystem:
    """The filesystem that reads and writes `url`, with the settings that apply to it."""
    protocol = protocol_of(url)
    assert protocol is not None, f"not a URL: {url}"
    return open_filesystem(settings_for(protocol, project_root))


def open_filesystem(settings: StoreSettings) -> AbstractFileSystem:
    """An fsspec filesystem for `settings` (reused while the settings are the same)."""
    key = settings.cache_key
    with _guard:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    try:
        import fsspec
    except ImportError:
        raise _missing_package(settings.protocol, "fsspec") from None
    try:
        fs = fsspec.filesystem(settings.protocol, **storage_options(settings))
    except ImportError as error:
        raise _missing_package(settings.protocol, error.name or "") from None
    except ValueError as error:  # an unknown scheme
        raise ProjectError(
            f"aligned cannot open '{settings.protocol}://' URLs: {error}",
            hint="use s3:// (or another scheme fsspec knows, with its package installed)",
        ) from None
    with _guard:
        _cache[key] = fs
    return fs


def storage_options(settings: StoreSettings) -> dict[str, Any]:
    """The keyword arguments fsspec's filesystem class takes for `settings`."""
    options: dict[str, Any] = {}
    if settings.protocol in ("s3", "s3a"):
        client: dict[str, Any] = {}
        if settings.region:
            client["region_name"] = settings.region
        options = {
            "key": settings.key,
            "secret": settings.secret,
            "token": settings.token,
            "anon": settings.anon,
            "endpoint_url": settings.endpoint_url,
            "client_kwargs": client,
            "config_kwargs": dict(_S3_CONFIG),
            # Listings are read fresh: a glob must see the files another run just wrote.
            "use_listings_cache": False,
            # Copy-then-delete is the rename; never keep half-written multipart uploads.
            "skip_instance_cache": True,
        }
        options = {k: v for k, v in options.items() if v is not None}
    return {**options, **settings.options}


def forget_filesystems() -> None:
    """Drop the cached filesystems (after credentials changed, in tests)."""
    with _guard:
        _cache.clear()


def _missing_package(protocol: str, package: str) -> ProjectError:
    needed = "s3fs" if protocol in ("s3", "s3a") else (package or f"the fsspec '{protocol}' driver")
    return ProjectError(
        f"reading '{protocol}://' URLs needs the Python package '{needed}', which is not installed",
        hint="pip install 'aligned-cli[s3]'" if needed == "s3fs" else f"pip install {needed}",
    )
