"""Shared fixtures: real PostgreSQL and Redis servers, never mocks.

On a laptop without a server those tests skip with a message saying how to enable
them; in CI (CI=true) a missing server is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "fixtures"

PG_DSN = os.environ.get(
    "ALIGNED_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
_REDIS_BASE = os.environ.get("ALIGNED_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_url_for_this_worker() -> str:
    """Each pytest-xdist worker gets its own Redis database (15, 14, ...), because the
    fixture flushes it before and after every test."""
    base, _, db = _REDIS_BASE.rpartition("/")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    index = int(worker) if worker.isdigit() else 0
    return f"{base}/{max(int(db or 15) - index, 0)}"


REDIS_URL = _redis_url_for_this_worker()
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _unavailable(what: str, how: str, error: Exception) -> None:
    message = f"{what} is not reachable ({error}); {how}"
    if IN_CI:
        pytest.fail(f"CI=true requires it: {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_server_dsn() -> str:
    """The DSN of a reachable PostgreSQL server (session-wide check)."""
    import psycopg

    try:
        with psycopg.connect(PG_DSN, connect_timeout=3) as conn:
            conn.execute("select 1")
    except Exception as error:  # any failure to connect means 'not available'
        _unavailable(
            "PostgreSQL",
            "start it (see .ci/run) or set ALIGNED_TEST_POSTGRES_DSN",
            error,
        )
    return PG_DSN


@pytest.fixture()
def postgres_dsn(postgres_server_dsn: str) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    import psycopg
    from psycopg import sql

    name = f"aligned_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    base, _, _ = postgres_server_dsn.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(postgres_server_dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )


@pytest.fixture()
def redis_url() -> Iterator[str]:
    """A reachable Redis database, flushed before and after the test."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except Exception as error:
        _unavailable("Redis", "start it (see .ci/run) or set ALIGNED_TEST_REDIS_URL", error)
    client.flushdb()
    try:
        yield REDIS_URL
    finally:
        client.flushdb()
        client.close()


@pytest.fixture()
def titanic_project(tmp_path: Path) -> Path:
    """A private copy of the YAML Titanic example."""
    import shutil

    target = tmp_path / "titanic"
    shutil.copytree(FIXTURES / "titanic_yaml", target, ignore=shutil.ignore_patterns("target"))
    return target
