"""Fixtures for the runtime API tests: projects compiled like `aligned compile` does."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_helpers import compile_project, write_temporal_project


@pytest.fixture()
def titanic_manifest(titanic_project: Path) -> Path:
    return compile_project(titanic_project)


@pytest.fixture()
def temporal_manifest(tmp_path: Path) -> Path:
    return write_temporal_project(tmp_path / "rides")


@pytest.fixture()
def postgres_temporal_manifest(tmp_path: Path, postgres_dsn: str) -> Path:
    return write_temporal_project(tmp_path / "rides", dsn=postgres_dsn)
