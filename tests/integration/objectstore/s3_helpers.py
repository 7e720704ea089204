"""Helpers for the object-store tests: the test server's handles and the Titanic
example moved into a bucket."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

    def object_keys(self) -> list[str]:
        listed = self.server.client().list_objects_v2(Bucket=self.name)
        return sorted(item["Key"] for item in listed.get("Contents", []))


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
