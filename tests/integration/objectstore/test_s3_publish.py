"""`aligned apply --to s3://...` and loading the published definition back."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from s3_helpers import REGION, Bucket
from typer.testing import CliRunner

from aligned_cli import AwsS3Config, FeatureStore, FileSource
from aligned_cli.cli.app import app

IDS = {"passenger_id": [1, 2, 3]}


def _publish(project: Path, url: str) -> None:
    result = CliRunner().invoke(app, ["apply", "--project-dir", str(project), "--to", url])
    assert result.exit_code == 0, result.output
    assert url in result.output


def _features(store: FeatureStore) -> list[dict[str, object]]:
    frame = asyncio.run(store.model("titanic").features_for(IDS).to_pandas())
    return frame.to_dict("records")  # type: ignore[no-any-return]


def test_publish_and_load_through_every_entry_point(
    s3_titanic: Path, bucket: Bucket, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = bucket.url("production.json")
    _publish(s3_titanic, url)
    published = json.loads(bucket.get("production.json"))
    assert published["metadata"]["project_root"] == str(s3_titanic)
    assert bucket.server.secret not in bucket.get("production.json").decode()
    local = FeatureStore.from_manifest(s3_titanic / "target" / "manifest.json")
    expected = _features(local)
    assert [row["passenger_id"] for row in expected] == [1, 2, 3]

    monkeypatch.chdir(tmp_path)  # relative data paths come from the recorded root
    # 1. The AWS variables (the project's own settings still reach the data).
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", bucket.server.key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", bucket.server.secret)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", bucket.server.endpoint_url)
    assert _features(FeatureStore.from_manifest(url)) == expected
    assert _features(FeatureStore.from_manifest(url, project_dir=s3_titanic)) == expected
    # 2. FileSource.json_at, as SPEC §8 loads a local definition.
    assert _features(asyncio.run(FileSource.json_at(url).feature_store())) == expected
    # 3. AwsS3Config with its own environment variable names, no AWS_* set.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name)
    config = AwsS3Config(
        bucket=bucket.name,
        endpoint_url=bucket.server.endpoint_url,
        region=REGION,
        access_key_env="ALIGNED_TEST_S3_KEY",
        secret_key_env="ALIGNED_TEST_S3_SECRET",
    )
    store = asyncio.run(config.json_at("production.json").feature_store())
    assert _features(store) == expected
    view = asyncio.run(store.feature_view("passenger").all(limit=5).to_pandas())
    assert len(view) == 5


def test_publishing_replaces_the_old_definition(s3_titanic: Path, bucket: Bucket) -> None:
    bucket.put("production.json", b'{"old": true}')
    _publish(s3_titanic, bucket.url("production.json"))
    assert "metadata" in json.loads(bucket.get("production.json"))
    assert bucket.object_keys() == sorted(k for k in bucket.object_keys() if "aligned_tmp" not in k)


def test_local_publish_records_the_project_root(
    s3_titanic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    destination = tmp_path / "elsewhere" / "production.json"
    destination.parent.mkdir()
    _publish(s3_titanic, str(destination))
    assert json.loads(destination.read_text())["metadata"]["project_root"] == str(s3_titanic)
    store = FeatureStore.from_manifest(destination)
    assert store.project.root == str(s3_titanic)
