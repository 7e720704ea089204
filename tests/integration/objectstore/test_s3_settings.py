"""Which settings reach an object store, and how DuckDB is given access to it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from s3_helpers import Bucket
from typer.testing import CliRunner

from aligned_cli.cli.app import app
from aligned_cli.errors import ProjectError
from aligned_cli.objectstore import StoreSettings, settings_for, use_settings
from aligned_cli.objectstore.duckdb import _secret_sql, _use_httpfs
from aligned_cli.objectstore.urls import is_remote, remote_urls_in_sql


def _project(root: Path, object_stores: str) -> Path:
    (root / "features").mkdir(parents=True)
    (root / "aligned_project.yml").write_text(f"name: p\nobject_stores:\n{object_stores}")
    return root


def test_urls() -> None:
    assert is_remote("s3://b/k.parquet") and not is_remote("data/x.csv")
    assert not is_remote("file:///tmp/x.csv")
    sql = "SELECT * FROM read_parquet('s3://b/a/*.parquet') JOIN read_csv('data/x.csv')"
    assert remote_urls_in_sql(sql) == ["s3://b/a/*.parquet"]
    assert remote_urls_in_sql("SELECT 's3://b/it''s.csv'") == ["s3://b/it's.csv"]


def test_precedence(tmp_path: Path, bucket: Bucket, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY", "from-project")
    root = _project(
        tmp_path / "p",
        "  s3:\n    endpoint_url: http://127.0.0.1:1\n    key: \"{{ env_var('MY_KEY') }}\"\n",
    )
    from_project = settings_for("s3", root)
    assert from_project.endpoint_url == "http://127.0.0.1:1"
    assert from_project.key == "from-project"
    assert from_project.secret == bucket.server.secret  # gaps filled from AWS_*
    assert settings_for("s3", tmp_path).endpoint_url == bucket.server.endpoint_url  # env only
    use_settings(StoreSettings(protocol="s3", endpoint_url="http://127.0.0.1:2"))
    assert settings_for("s3", root).endpoint_url == "http://127.0.0.1:2"


def test_a_missing_env_var_is_named_when_used(tmp_path: Path, bucket: Bucket) -> None:
    root = _project(tmp_path / "p", "  s3:\n    secret: \"{{ env_var('NOT_SET_ANYWHERE') }}\"\n")
    with pytest.raises(ProjectError, match="NOT_SET_ANYWHERE"):
        settings_for("s3", root)


def test_unknown_settings_are_project_errors(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", "  s3:\n    endpoint: http://127.0.0.1:1\n")
    result = CliRunner().invoke(app, ["compile", "--project-dir", str(root)])
    assert result.exit_code == 2
    assert "endpoint" in result.output and "endpoint_url" in result.output


def test_duckdb_falls_back_to_fsspec_without_httpfs(monkeypatch: pytest.MonkeyPatch) -> None:
    con = duckdb.connect()
    installed = con.execute(
        "SELECT installed FROM duckdb_extensions() WHERE extension_name = 'httpfs'"
    ).fetchall()
    settings = StoreSettings(protocol="s3", endpoint_url="http://127.0.0.1:9")
    if not installed[0][0]:
        assert _use_httpfs(con, settings) is False
    monkeypatch.setenv("ALIGNED_DUCKDB_S3", "fsspec")
    assert _use_httpfs(con, settings) is False
    assert con.execute("SELECT 1").fetchall() == [(1,)]  # the connection is still usable


def test_httpfs_secret() -> None:
    endpoint = "http://127.0.0.1:9000"
    settings = StoreSettings("s3", endpoint, region="eu-west-1", key="k", secret="s'")
    sql = _secret_sql(settings)
    assert "KEY_ID 'k'" in sql and "SECRET 's'''" in sql and "REGION 'eu-west-1'" in sql
    assert "ENDPOINT '127.0.0.1:9000'" in sql and "USE_SSL false" in sql
    assert "URL_STYLE 'path'" in sql
