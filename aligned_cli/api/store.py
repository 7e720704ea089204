"""`FeatureStore`: the runtime API over a compiled project (SPEC §8).

Loaded from `target/manifest.json`, so it never imports the project's Python files.
Queries run on one of the project's connections (the default one unless
`with_connection` picks another); relative file paths resolve against the project
root.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from aligned_cli.api.engine import Engine
from aligned_cli.api.entities import Entities
from aligned_cli.api.job import RetrievalJob
from aligned_cli.api.lookup import feature_refs, get_model, get_view
from aligned_cli.api.models import ModelStore
from aligned_cli.api.retrieval import entity_job
from aligned_cli.api.views import FeatureViewStore
from aligned_cli.core.ir import Connection, FeatureRef, Project
from aligned_cli.errors import UsageError, did_you_mean


@dataclass(frozen=True)
class FeatureStore:
    project: Project
    connection_name: str

    @classmethod
    def from_manifest(
        cls,
        path: str | Path,
        project_dir: str | Path | None = None,
        *,
        object_store: Mapping[str, Any] | None = None,
    ) -> FeatureStore:
        """The store a manifest (a path, a folder holding `manifest.json`, or an
        object-store URL such as `s3://b/x.json`) defines. File paths resolve against
        `project_dir`, else the project root that `aligned apply --to` recorded, else
        the parent of the manifest's folder.

        `object_store` (endpoint_url, region, key, secret, token) says how to reach the
        manifest's scheme, and is then used for every read of that scheme in this
        process; without it the project's `object_stores` or the AWS variables apply.
        """
        from aligned_cli.artifacts.manifest import manifest_file, parse_manifest, read_manifest
        from aligned_cli.objectstore import is_remote
        from aligned_cli.pipeline import project_from_manifest

        root = Path(project_dir).expanduser().resolve() if project_dir is not None else None
        where = str(path)
        if object_store is not None:
            _use_object_store(where, object_store)
        if is_remote(where):
            from aligned_cli.objectstore import read_text

            manifest = parse_manifest(read_text(where, root), where)
            fallback = Path.cwd()  # a definition not published by `apply --to`
        else:
            manifest_path = manifest_file(Path(path).expanduser().resolve())
            manifest = read_manifest(manifest_path)
            fallback = manifest_path.parent.parent
        recorded = manifest.metadata.project_root
        root = root or (Path(recorded) if recorded else fallback)
        return cls.from_project(project_from_manifest(manifest, root))

    @classmethod
    def from_project(cls, project: Project) -> FeatureStore:
        """A store over an IR project (e.g. one built in memory)."""
        from aligned_cli.core.inheritance import resolve_view_inheritance

        resolved = resolve_view_inheritance(project)
        return cls(resolved, resolved.default_connection)

    @property
    def connection(self) -> Connection:
        return _connection(self.project, self.connection_name)

    def with_connection(self, name: str) -> FeatureStore:
        """This store running its queries on the project connection `name`."""
        _connection(self.project, name)  # unknown names fail here, not at the first query
        return replace(self, connection_name=name)

    def offline_store(self) -> FeatureStore:
        """This store on the project's default (offline) connection."""
        return replace(self, connection_name=self.project.default_connection)

    def model(self, name: str) -> ModelStore:
        return ModelStore(self._engine(), get_model(self.project, name).name)

    def feature_view(self, name: str) -> FeatureViewStore:
        return FeatureViewStore(self._engine(), get_view(self.project, name).name)

    def features_for(
        self, entities: Entities, features: Iterable[str | FeatureRef]
    ) -> RetrievalJob:
        """The named `view:feature`s for every entity row, in the order given."""
        if isinstance(features, str):
            features = [features]
        return entity_job(self._engine(), entities, feature_refs(self.project, features))

    def _engine(self) -> Engine:
        return Engine(self.project, self.connection)


def _connection(project: Project, name: str) -> Connection:
    connection = project.connections.get(name)
    if connection is None:
        raise UsageError(
            f"project '{project.name}' has no connection '{name}'",
            hint=did_you_mean(name, project.connections),
        )
    return connection


def _use_object_store(url: str, options: Mapping[str, Any]) -> None:
    from aligned_cli.objectstore import StoreSettings, protocol_of, use_settings

    known = ("endpoint_url", "region", "key", "secret", "token")
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise UsageError(
            f"object_store: unknown setting '{unknown[0]}'", hint=did_you_mean(unknown[0], known)
        )

    def text(name: str) -> str | None:
        value = options.get(name)
        return str(value) if value is not None else None

    use_settings(
        StoreSettings(
            protocol=protocol_of(url) or "s3",
            endpoint_url=text("endpoint_url"),
            region=text("region"),
            key=text("key"),
            secret=text("secret"),
            token=text("token"),
            origin="the settings given in code",
        )
    )
