"""Letting a DuckDB connection read and write `s3://...` as compiled SQL names it.

DuckDB's own `httpfs` extension is used when it is already installed (it is
downloaded from the internet, so often it is not, and aligned never installs it);
otherwise the scheme's fsspec filesystem (s3fs) is registered with the connection.
Either way the same SQL, `read_parquet('s3://bucket/x/*.parquet')`, works.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from aligned_cli.errors import ExecutionError
from aligned_cli.objectstore.errors import diagnose
from aligned_cli.objectstore.filesystems import open_filesystem
from aligned_cli.objectstore.settings import StoreSettings, settings_for
from aligned_cli.objectstore.urls import protocol_of, remote_urls_in_sql

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)
# `fsspec` or `httpfs` forces one way of reading s3 (default: httpfs when installed).
ENGINE_VARIABLE = "ALIGNED_DUCKDB_S3"


class DuckDBRemote:
    """Object-store access for one DuckDB connection, enabled per scheme on first use."""

    def __init__(self, con: duckdb.DuckDBPyConnection, project_root: Path | None) -> None:
        self._con = con
        self._root = project_root
        self._settings: dict[str, StoreSettings] = {}

    def prepare(self, sql: str) -> list[str]:
        """Enable every scheme `sql` reads or writes; returns the URLs it names."""
        urls = remote_urls_in_sql(sql)
        for url in urls:
            self.enable(url)
        return urls

    def enable(self, url: str) -> None:
        protocol = protocol_of(url)
        if protocol is None or protocol in self._settings:
            return
        settings = settings_for(protocol, self._root)
        if not (protocol in ("s3", "s3a") and _use_httpfs(self._con, settings)):
            self._con.register_filesystem(open_filesystem(settings))
        self._settings[protocol] = settings

    def explain(self, urls: list[str]) -> ExecutionError | None:
        """Why a statement reading `urls` failed, if an object store is the cause."""
        for url in urls:
            protocol = protocol_of(url)
            settings = self._settings.get(protocol or "")
            if settings is None:
                continue
            found = diagnose(open_filesystem(settings), url, settings)
            if found is not None:
                return found
        return None


def _use_httpfs(con: duckdb.DuckDBPyConnection, settings: StoreSettings) -> bool:
    """Configure DuckDB's httpfs for `settings` when it is installed; False otherwise."""
    choice = os.environ.get(ENGINE_VARIABLE, "").lower()
    if choice == "fsspec" or settings.options:
        return False  # extra fsspec options only mean something to s3fs
    try:
        installed = con.execute(
            "SELECT installed FROM duckdb_extensions() WHERE extension_name = 'httpfs'"
        ).fetchall()  # fetchall: DuckDB refuses new work while a result is unfinished
        if not (installed and installed[0][0]):
            return False  # never LOAD an uninstalled extension: that downloads it
        con.execute("LOAD httpfs")
        con.execute(_secret_sql(settings))
    except Exception as error:  # any failure: fall back to fsspec, which always works
        log.info("DuckDB httpfs unusable (%s); reading s3 through fsspec", error)
        return False
    return True


def _secret_sql(settings: StoreSettings) -> str:
    """A temporary (in-memory) DuckDB secret holding `settings`."""
    parts = ["TYPE s3"]
    if settings.key and settings.secret:
        parts += [f"KEY_ID {_quote(settings.key)}", f"SECRET {_quote(settings.secret)}"]
        if settings.token:
            parts.append(f"SESSION_TOKEN {_quote(settings.token)}")
    else:
        parts.append("PROVIDER credential_chain")
    if settings.region:
        parts.append(f"REGION {_quote(settings.region)}")
    if settings.endpoint_url:
        endpoint = urlparse(settings.endpoint_url)
        parts += [
            f"ENDPOINT {_quote(endpoint.netloc or endpoint.path)}",
            f"USE_SSL {'false' if endpoint.scheme == 'http' else 'true'}",
            "URL_STYLE 'path'",
        ]
    return f"CREATE OR REPLACE TEMPORARY SECRET aligned_s3 ({', '.join(parts)})"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
