"""Object-store failures are one clear message naming what is wrong, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from s3_helpers import Bucket
from typer.testing import CliRunner

from aligned_cli import FeatureStore
from aligned_cli.cli.app import app
from aligned_cli.errors import AlignedError


def _failed_run(project: Path) -> str:
    result = CliRunner().invoke(app, ["run", "--project-dir", str(project)])
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    return result.output


def _use_source(project: Path, url: str) -> None:
    features = project / "features" / "titanic.yml"
    lines = features.read_text().splitlines(keepends=True)
    lines = [f"    file: {url}\n" if line.startswith("    file: s3://") else line for line in lines]
    features.write_text("".join(lines))


def test_wrong_credentials(s3_titanic: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIGNED_TEST_S3_SECRET", "not-the-secret")
    output = _failed_run(s3_titanic)
    assert "refused" in output and "the s3 endpoint http://127.0.0.1" in output
    assert "object_stores.s3" in output  # where the credentials came from
    assert "not-the-secret" not in output


def test_missing_bucket(s3_titanic: Path, bucket: Bucket) -> None:
    _use_source(s3_titanic, "s3://no-such-bucket-here/raw/*.parquet")
    output = _failed_run(s3_titanic)
    assert "bucket 'no-such-bucket-here' does not exist" in output


def test_missing_key(s3_titanic: Path, bucket: Bucket) -> None:
    missing = bucket.url("raw/nothing-here/*.parquet")
    _use_source(s3_titanic, missing)
    output = _failed_run(s3_titanic)
    assert f"no object matches '{missing}'" in output


def test_missing_definition(bucket: Bucket) -> None:
    url = bucket.url("nothing.json")
    with pytest.raises(AlignedError, match=f"no object at '{url}'"):
        FeatureStore.from_manifest(url)


def test_publish_with_wrong_credentials(
    s3_titanic: Path, bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALIGNED_TEST_S3_KEY", "AKIAWRONGWRONGWRONG")
    url = bucket.url("production.json")
    result = CliRunner().invoke(app, ["apply", "--project-dir", str(s3_titanic), "--to", url])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert f"access to '{url}' was refused" in result.output
    assert "production.json" not in json.dumps(bucket.object_keys())
