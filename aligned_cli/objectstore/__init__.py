"""Object stores (S3, and any scheme fsspec knows) for sources, outputs and definitions.

Paths stay URLs everywhere (`s3://bucket/x/*.parquet` in the IR and compiled SQL);
this package resolves the settings for a scheme (`settings`), opens its fsspec
filesystem (`filesystems`), reads and atomically replaces objects (`transfer`),
lets DuckDB read them (`duckdb`) and turns failures into clear messages (`errors`).
Heavy packages (fsspec, s3fs, botocore) are imported only when a URL is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aligned_cli.objectstore.settings import (
        StoreSettings,
        forget_settings,
        settings_for,
        use_settings,
    )
    from aligned_cli.objectstore.transfer import Remote, read_text, write_text_atomic
    from aligned_cli.objectstore.urls import is_remote, protocol_of

# Loaded on first use (PEP 562): telling a URL from a path must not import the rest.
_HOMES = {
    "Remote": "transfer",
    "StoreSettings": "settings",
    "forget_settings": "settings",
    "is_remote": "urls",
    "protocol_of": "urls",
    "read_text": "transfer",
    "settings_for": "settings",
    "use_settings": "settings",
    "write_text_atomic": "transfer",
}

__all__ = [
    "Remote",
    "StoreSettings",
    "forget_settings",
    "is_remote",
    "protocol_of",
    "read_text",
    "settings_for",
    "use_settings",
    "write_text_atomic",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'aligned_cli.objectstore' has no attribute '{name}'")
    return getattr(import_module(f"aligned_cli.objectstore.{_HOMES[name]}"), name)
