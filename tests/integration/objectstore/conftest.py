"""A real S3 protocol server (moto's server mode) on 127.0.0.1, with signed requests.

The server checks credentials (moto's IAM auth is switched on once an access key
exists), so wrong keys fail as they would against AWS. Each test gets its own
bucket and a clean process: no AWS_* variable of the machine leaks in.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from s3_helpers import REGION, Bucket, S3Server, titanic_in_bucket


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
        allow_s3 = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
        policy = {"Version": "2012-10-17", "Statement": [allow_s3]}
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


@pytest.fixture()
def s3_titanic(tmp_path: Path, bucket: Bucket, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The Titanic example reading parquet from and writing to `bucket`; the project's
    own credentials are the only ones set (the AWS_* variables are removed)."""
    monkeypatch.setenv("ALIGNED_TEST_S3_KEY", bucket.server.key)
    monkeypatch.setenv("ALIGNED_TEST_S3_SECRET", bucket.server.secret)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    return titanic_in_bucket(tmp_path / "titanic", bucket)
