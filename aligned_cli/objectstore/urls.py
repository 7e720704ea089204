"""Telling object-store URLs (`s3://bucket/key`) from local paths."""

from __future__ import annotations

import re

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
# A URL inside a SQL string literal: `read_parquet('s3://bucket/x/*.parquet')`.
_SQL_URL = re.compile(r"'([A-Za-z][A-Za-z0-9+.-]*)://((?:[^']|'')*)'")
# Schemes that name a local file, not an object store.
_LOCAL = {"file", "local"}


def protocol_of(path: str) -> str | None:
    """The scheme of a URL (`s3`), None for a local path."""
    match = _SCHEME.match(path)
    return match.group(1).lower() if match else None


def is_remote(path: str) -> bool:
    """Whether `path` lives in an object store (any URL but file://)."""
    protocol = protocol_of(path)
    return protocol is not None and protocol not in _LOCAL


def bucket_and_key(url: str) -> tuple[str, str]:
    """`s3://bucket/a/b.parquet` -> (`bucket`, `a/b.parquet`)."""
    rest = url.split("://", 1)[1]
    bucket, _, key = rest.partition("/")
    return bucket, key


def remote_urls_in_sql(sql: str) -> list[str]:
    """Object-store URLs quoted in a SQL statement, in order, without repeats."""
    found: dict[str, None] = {}
    for match in _SQL_URL.finditer(sql):
        url = f"{match.group(1)}://{match.group(2)}".replace("''", "'")
        if is_remote(url):
            found.setdefault(url, None)
    return list(found)


def has_glob(path: str) -> bool:
    return any(ch in path for ch in "*?[")
