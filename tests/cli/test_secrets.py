"""Connection strings keep their env_var() calls until aligned connects, so a published
manifest never carries a password; a missing variable is a clear error at connect time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aligned_cli.cli.app import app


def _project(root: Path) -> Path:
    (root / "features").mkdir(parents=True)
    (root / "aligned_project.yml").write_text(
        "name: secretive\n"
        "connections:\n"
        "  local: {type: duckdb, path: ':memory:'}\n"
        "  warehouse: {type: postgres, dsn: \"{{ env_var('ALIGNED_TEST_SECRET_DSN') }}\"}\n"
        "online:\n"
        "  redis: {url: \"redis://:{{ env_var('ALIGNED_TEST_SECRET_PW', 'pw') }}@127.0.0.1\"}\n"
    )
    (root / "features" / "f.yml").write_text(
        "sources:\n  - name: numbers\n    query: select 1 as id, now() as loaded\n"
        "    loaded_at_field: loaded\n    freshness: {warn_after: 1h}\n"
    )
    return root


def test_manifest_holds_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIGNED_TEST_SECRET_DSN", "postgresql://u:hunter2@127.0.0.1/db")
    monkeypatch.setenv("ALIGNED_TEST_SECRET_PW", "s3cret")
    project = _project(tmp_path / "p")
    result = CliRunner().invoke(app, ["compile", "--project-dir", str(project)])
    assert result.exit_code == 0, result.output
    text = (project / "target" / "manifest.json").read_text()
    assert "hunter2" not in text and "s3cret" not in text
    connection = json.loads(text)["project"]["connections"]["warehouse"]
    assert "env_var('ALIGNED_TEST_SECRET_DSN')" in connection["dsn"]


def test_env_var_is_read_when_connecting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_dsn: str
) -> None:
    project = _project(tmp_path / "p")
    monkeypatch.setenv("ALIGNED_TEST_SECRET_DSN", postgres_dsn)
    args = ["freshness", "--project-dir", str(project), "--target", "warehouse"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    monkeypatch.delenv("ALIGNED_TEST_SECRET_DSN")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "ALIGNED_TEST_SECRET_DSN" in result.output
    assert "connection 'warehouse'" in result.output
    assert "Traceback" not in result.output
