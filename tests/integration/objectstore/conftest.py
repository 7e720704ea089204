"""A real S3 protocol server (moto's server mode) on 127.0.0.1, with signed requests.

The server checks credentials (moto's IAM auth is switched on once an access key
exists), so wrong keys fail as they would against AWS. Each test gets its own
bucket and a clean process: no AWS_* variable of the machine leaks in.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    key: str
    secret: str

    def client(self, key: str | None = None, secret: str | None = None) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=key or self.key,
            aws_secret_access_key=secret or self.secret,
            region_name=REGION,
        )


@dataclass(frozen=True)
class Bucket:
    server: S3Server
    name: str

    def url(self, key: str) -> str:
        return f"s3://{self.name}/{key}"

    def put(self, key: str, data: bytes) -> None:
        self.server.client().put_object(Bucket=self.name, Key=key, Body=data)

    def get(self, key: str) -> bytes:
        body: bytes = self.server.client().get_object(Bucket=self.name, Key=key)["Body"].read()
        return body

    def keys(self) -> list[str]:
        listed = self.server.client().list_objects_v2(Bucket=self.name)
        return sorted(item["Key"] for item in listed.get("Contents", []))


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    import boto3
    import requests
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        iam = boto3.client(
            "iam",
            endpoint_url=endpoint,
            aws_access_key_id="setup",
            aws_secret_access_key="setup",
            region_name=REGION,
        )
        iam.create_user(UserName="aligned")
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        iam.put_user_policy(UserName="aligned", PolicyName="s3", PolicyDocument=json.dumps(policy))
        created = iam.create_access_key(UserName="aligned")["AccessKey"]
        # From here on every request must be signed by a known key.
        requests.post(f"{endpoint}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()
        yield S3Server(endpoint, created["AccessKeyId"], created["SecretAccessKey"])
    finally:
        requests.post(f"{endpoint}/moto-api/reset-auth", data=b"inf", timeout=10)
        server.stop()


@pytest.fixture()
def bucket(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bucket]:
    """A fresh bucket; the AWS_* variables point at the test server with good keys."""
    from aligned_cli.objectstore import forget_settings
    from aligned_cli.objectstore.filesystems import forget_filesystems

    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint_url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("ALIGNED_NO_CACHE", "1")
    name = f"aligned-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(Bucket=name)
    forget_settings()
    forget_filesystems()
    try:
        yield Bucket(s3_server, name)
    finally:
        forget_settings()
        forget_filesystems()


def titanic_in_bucket(root: Path, bucket: Bucket, *, source: str = "parquet") -> Path:
    """The Titanic example with its data and outputs in `bucket`, credentials from
    `object_stores` in aligned_project.yml (env_var() for the key and secret).

    `source`: `parquet` (the csv split into two parquet files, read by a glob) or
    `csv` (the csv itself).
    """
    import duckdb

    shutil.copytree(FIXTURES / "titanic_yaml", root, ignore=shutil.ignore_patterns("target"))
    csv = root / "data" / "titanic.csv"
    if source == "csv":
        bucket.put("raw/titanic.csv", csv.read_bytes())
        source_url = bucket.url("raw/*.csv")
    else:
        for part, where in (("a", "PassengerId <= 400"), ("b", "PassengerId > 400")):
            local = root / f"part-{part}.parquet"
            duckdb.sql(f"COPY (SELECT * FROM read_csv('{csv}') WHERE {where}) TO '{local}'")
            bucket.put(f"raw/part-{part}.parquet", local.read_bytes())
            local.unlink()
        source_url = bucket.url("raw/*.parquet")
    shutil.rmtree(root / "data")  # nothing local left to read by mistake
    features = root / "features" / "titanic.yml"
    text = features.read_text()
    text = text.replace("file: data/titanic.csv", f"file: {source_url}")
    text = text.replace(
        "output: {file: target/datasets/titanic.parquet}",
        f"output: {{file: {bucket.url('datasets/titanic.parquet')}}}",
    )
    text = text.replace(
        "    tags: [titanic]\n",
        "    tags: [titanic]\n"
        f"    materialized_source: {{file: {bucket.url('materialized/passenger.parquet')}}}\n",
        1,
    )
    features.write_text(text)
    project_file = root / "aligned_project.yml"
    project_file.write_text(
        project_file.read_text()
        + "object_stores:\n"
        + "  s3:\n"
        + f"    endpoint_url: {bucket.server.endpoint_url}\n"
        + f"    region: {REGION}\n"
        + "    key: \"{{ env_var('ALIGNED_TEST_S3_KEY') }}\"\n"
        + "    secret: \"{{ env_var('ALIGNED_TEST_S3_SECRET') }}\"\n"
    )
    return root


@pytest.fixture()
def s3_titanic(tmp_path: Path, bucket: Bucket, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The Titanic example reading parquet from and writing to `bucket`; the project's
    own credentials are the only ones set (the AWS_* variables are removed)."""
    monkeypatch.setenv("ALIGNED_TEST_S3_KEY", bucket.server.key)
    monkeypatch.setenv("ALIGNED_TEST_S3_SECRET", bucket.server.secret)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    return titanic_in_bucket(tmp_path / "titanic", bucket)
