"""Sources of the Python DSL: files (local or in S3), PostgreSQL tables, and the
manifest (json_at)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

from aligned_cli.core.ir import Connection, Output, Source
from aligned_cli.core.location import Location
from aligned_cli.dsl.callsite import CallSite, user_call_site
from aligned_cli.dsl.registry import register

if TYPE_CHECKING:
    from aligned_cli.api import FeatureStore  # type: ignore[attr-defined,unused-ignore]

FileFormat = Literal["csv", "parquet"]


@dataclass(eq=False)
class SourceDecl:
    """A source declared in Python. Its name is the one given, else the variable it
    is assigned to, else one derived from the first view or model that reads it."""

    name: str | None = None
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    timezone: str | None = None
    event_timestamp: str | None = None
    site: CallSite = field(default_factory=user_call_site)
    used_as_input: bool = False
    used_as_output: bool = False
    _fallback_name: str | None = None

    def __post_init__(self) -> None:
        register(self)

    def resolved_name(self) -> str | None:
        return self.name or self.site.variable_name(self) or self._fallback_name

    def name_for_reader(self, fallback: str) -> str:
        """The name a view or model refers to it by (naming it after them if unnamed)."""
        self.used_as_input = True
        name = self.resolved_name()
        if name is None:
            self._fallback_name = name = fallback
        return name

    def to_source(self, name: str, location: Location | None) -> Source:
        raise NotImplementedError

    def to_output(self) -> Output:
        raise NotImplementedError

    def implied_connection(self) -> Connection | None:
        return None


@dataclass(eq=False)
class FileSourceDecl(SourceDecl):
    path: str = ""
    format: FileFormat = "csv"

    def _explicit_format(self) -> FileFormat | None:
        # Stored only where the suffix would not say it, as a YAML `file:` would be.
        suffix = PurePosixPath(self.path).suffix.lower()
        implied: FileFormat = "parquet" if suffix in (".parquet", ".pq") else "csv"
        return None if implied == self.format else self.format

    def to_source(self, name: str, location: Location | None) -> Source:
        return Source(
            name=name,
            description=self.description,
            tags=list(self.tags),
            file=self.path,
            format=self._explicit_format(),
            mapping=dict(self.mapping),
            timezone=self.timezone,
            event_timestamp=self.event_timestamp,
            location=location,
        )

    def to_output(self) -> Output:
        self.used_as_output = True
        output_implied: FileFormat = "csv" if self.path.lower().endswith(".csv") else "parquet"
        return Output(file=self.path, format=None if output_implied == self.format else self.format)


@dataclass(eq=False)
class TableSourceDecl(SourceDecl):
    table: str = ""
    schema_name: str | None = None
    connection: str | None = None
    env_var: str | None = None

    def to_source(self, name: str, location: Location | None) -> Source:
        return Source(
            name=name,
            description=self.description,
            tags=list(self.tags),
            table=self.table,
            schema_name=self.schema_name,
            connection=self._connection_name(),
            mapping=dict(self.mapping),
            timezone=self.timezone,
            event_timestamp=self.event_timestamp,
            location=location,
        )

    def to_output(self) -> Output:
        self.used_as_output = True
        return Output(
            table=self.table, schema_name=self.schema_name, connection=self._connection_name()
        )

    def _connection_name(self) -> str | None:
        return self.connection or self.env_var

    def implied_connection(self) -> Connection | None:
        """`PostgreSQLConfig(env_var=X)` without a project connection: one named X whose
        DSN is read from the environment variable X when aligned connects. Like a YAML
        `dsn: "{{ env_var('X') }}"`, the template is what the manifest keeps: a DSN
        holds a password, and no artifact may."""
        if self.connection is not None or self.env_var is None:
            return None
        dsn = "{{ env_var(%r) }}" % self.env_var  # noqa: UP031 - a Jinja template
        return Connection(name=self.env_var, type="postgres", dsn=dsn)


def file_source(
    path: str,
    format: Literal["csv", "parquet"],
    mapping: dict[str, str] | None,
    timezone: str | None,
    name: str | None,
    description: str | None,
    tags: list[str] | None,
    event_timestamp: str | None,
) -> FileSourceDecl:
    """The one constructor behind `FileSource.csv_at`/`parquet_at` (and the S3 twins)."""
    return FileSourceDecl(
        name=name,
        description=description,
        tags=list(tags or []),
        mapping=dict(mapping or {}),
        timezone=timezone,
        event_timestamp=event_timestamp,
        path=path,
        format=format,
    )


class FileSource:
    """`FileSource.csv_at(...)`, `.parquet_at(...)` and `.json_at(manifest)`."""

    @staticmethod
    def csv_at(
        path: str,
        mapping: dict[str, str] | None = None,
        timezone: str | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        tags: list[str] | None = None,
        event_timestamp: str | None = None,
    ) -> FileSourceDecl:
        return file_source(path, "csv", mapping, timezone, name, description, tags, event_timestamp)

    @staticmethod
    def parquet_at(
        path: str,
        mapping: dict[str, str] | None = None,
        timezone: str | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        tags: list[str] | None = None,
        event_timestamp: str | None = None,
    ) -> FileSourceDecl:
        return file_source(
            path, "parquet", mapping, timezone, name, description, tags, event_timestamp
        )

    @staticmethod
    def json_at(path: str) -> JsonFileSource:
        return JsonFileSource(path)


@dataclass(frozen=True)
class JsonFileSource:
    """A feature-store definition (manifest.json, a path or `s3://...` URL) that the
    runtime API loads. `object_store` holds how to reach its bucket when it came from
    `AwsS3Config.json_at` (else the project's `object_stores` or AWS_* variables)."""

    path: str
    project_dir: str | None = None
    object_store: dict[str, Any] | None = field(default=None, repr=False)

    async def feature_store(self) -> FeatureStore:
        from aligned_cli.api import FeatureStore  # type: ignore[attr-defined,unused-ignore]

        return FeatureStore.from_manifest(  # type: ignore[no-any-return,unused-ignore]
            self.path, self.project_dir, object_store=self.object_store
        )


@dataclass(frozen=True)
class AwsS3Config:
    """An S3 bucket, or an S3-compatible store (MinIO, Ceph...) at `endpoint_url`.

    `parquet_at` / `csv_at` declare sources (usable as outputs too) at keys of the
    bucket; `json_at` a published definition. Credentials are read from the named
    environment variables when used, never stored. Inside a project, the project's
    `object_stores.s3` settings (or the AWS_* variables) are what `aligned run` uses
    for these paths; `json_at(...).feature_store()` uses this config.
    """

    bucket: str
    endpoint_url: str | None = None
    region: str | None = None
    access_key_env: str = "AWS_ACCESS_KEY_ID"
    secret_key_env: str = "AWS_SECRET_ACCESS_KEY"

    def url(self, path: str) -> str:
        """`s3://<bucket>/<path>`."""
        return f"s3://{self.bucket}/{path.lstrip('/')}"

    def parquet_at(
        self,
        path: str,
        mapping: dict[str, str] | None = None,
        timezone: str | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        tags: list[str] | None = None,
        event_timestamp: str | None = None,
    ) -> FileSourceDecl:
        return FileSource.parquet_at(
            self.url(path),
            mapping,
            timezone,
            name=name,
            description=description,
            tags=tags,
            event_timestamp=event_timestamp,
        )

    def csv_at(
        self,
        path: str,
        mapping: dict[str, str] | None = None,
        timezone: str | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        tags: list[str] | None = None,
        event_timestamp: str | None = None,
    ) -> FileSourceDecl:
        return FileSource.csv_at(
            self.url(path),
            mapping,
            timezone,
            name=name,
            description=description,
            tags=tags,
            event_timestamp=event_timestamp,
        )

    def json_at(self, path: str, project_dir: str | None = None) -> JsonFileSource:
        """A definition published with `aligned apply --to s3://<bucket>/<path>`."""
        return JsonFileSource(self.url(path), project_dir, object_store=self.settings())

    def settings(self) -> dict[str, Any]:
        """Endpoint, region and the credentials read from the environment now."""
        return {
            "endpoint_url": self.endpoint_url,
            "region": self.region,
            "key": os.environ.get(self.access_key_env),
            "secret": os.environ.get(self.secret_key_env),
        }


@dataclass(frozen=True)
class PostgreSQLConfig:
    """A PostgreSQL database: a project connection by name, or a DSN env var."""

    env_var: str | None = None
    schema: str | None = None
    connection: str | None = None

    def table(
        self,
        name: str,
        mapping: dict[str, str] | None = None,
        timezone: str | None = None,
        *,
        source_name: str | None = None,
        description: str | None = None,
        tags: list[str] | None = None,
        event_timestamp: str | None = None,
    ) -> TableSourceDecl:
        return TableSourceDecl(
            name=source_name,
            description=description,
            tags=list(tags or []),
            mapping=dict(mapping or {}),
            timezone=timezone,
            event_timestamp=event_timestamp,
            table=name,
            schema_name=self.schema,
            connection=self.connection,
            env_var=self.env_var,
        )
