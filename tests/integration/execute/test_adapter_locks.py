"""One writer per target: a second holder fails fast with a clear LockError."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from aligned_cli.core.ir import Connection
from aligned_cli.errors import LockError
from aligned_cli.execute.adapters import Adapter, open_adapter


def test_second_lock_fails_fast(adapter: Adapter) -> None:
    with adapter.lock("titanic"):
        started = time.monotonic()
        with pytest.raises(LockError) as info, adapter.lock("titanic"):
            pass
        assert time.monotonic() - started < 5
    message = str(info.value)
    assert "another `aligned run`" in message
    assert adapter.target in message
    with adapter.lock("titanic"):  # released: can be taken again
        pass


@pytest.mark.postgres
def test_postgres_lock_is_per_project(pg: Adapter) -> None:
    with pg.lock("titanic"), pg.lock("other_project"):
        pass


def test_memory_duckdb_needs_no_lock(project_root: Path) -> None:
    connection = Connection(name="mem", type="duckdb", path=":memory:")
    with open_adapter(connection, project_root) as adapter, adapter.lock("p"), adapter.lock("p"):
        pass


def test_duckdb_file_held_by_another_process(project_root: Path) -> None:
    database = project_root / "busy.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time\n"
            f"con = duckdb.connect({str(database)!r})\n"
            "print('ready', flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        connection = Connection(name="local", type="duckdb", path="busy.duckdb")
        with pytest.raises(LockError, match=r"'local'.*busy\.duckdb.*locked by another process"):
            open_adapter(connection, project_root)
    finally:
        holder.terminate()
        holder.wait(timeout=10)


@pytest.mark.postgres
def test_postgres_lock_ignores_how_the_dsn_spells_the_host(
    postgres_dsn: str, project_root: Path
) -> None:
    other_dsn = postgres_dsn.replace("127.0.0.1", "localhost", 1)
    assert other_dsn != postgres_dsn
    first = Connection(name="a", type="postgres", dsn=postgres_dsn)
    second = Connection(name="b", type="postgres", dsn=other_dsn)
    with (
        open_adapter(first, project_root) as a,
        open_adapter(second, project_root) as b,
        a.lock("titanic"),
        pytest.raises(LockError),
        b.lock("titanic"),
    ):
        pass
