"""`target/manifest.json`: the compiled project, as CI pipelines and the runtime API read it."""

from __future__ import annotations

import json
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from aligned_cli.errors import ProjectError

MANIFEST_SCHEMA_VERSION = "https://aligned.dev/schemas/manifest/v1.json"
NodeKind = Literal["source", "view", "feature", "model", "test"]


class ArtifactModel(BaseModel):
    # Schemas are built when first used, not at import: a warm `aligned run` loads a
    # cached manifest and writes it from its cached JSON (see `manifest_json`), so
    # validating the big models would only cost start-up time.
    model_config = ConfigDict(extra="forbid", defer_build=True)


class ManifestMetadata(ArtifactModel):
    aligned_version: str
    schema_version: str = MANIFEST_SCHEMA_VERSION
    project_name: str
    generated_at: datetime
    invocation_id: str
    dialects: list[str] = Field(default_factory=list)
    # Set by `aligned apply --to`: where the project's relative data paths live, since
    # a published definition is read away from `<project>/target/`.
    project_root: str | None = None


class ManifestNode(ArtifactModel):
    unique_id: str
    kind: NodeKind
    name: str
    file: str | None = None
    line: int | None = None
    checksum: str
    depends_on: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    description: str | None = None
    compiled_sql: dict[str, str] = Field(default_factory=dict)
    dtype: str | None = None


class Manifest(ArtifactModel):
    metadata: ManifestMetadata
    project: dict[str, Any]
    sources: dict[str, dict[str, Any]]
    feature_views: dict[str, dict[str, Any]]
    models: dict[str, dict[str, Any]]
    tests: dict[str, dict[str, Any]]
    nodes: dict[str, ManifestNode]
    parent_map: dict[str, list[str]]
    child_map: dict[str, list[str]]
    feature_lineage: dict[str, list[str]]


def body_json(manifest: Manifest) -> str:
    """The manifest's JSON without `metadata`: the part a compile fixes, kept with it."""
    return manifest.model_dump_json(indent=2, exclude={"metadata"})


def manifest_json(manifest: Manifest, body: str | None = None) -> str:
    """`manifest.model_dump_json(indent=2)`, reusing `body_json(manifest)` when given.

    Only the metadata changes between invocations of one compile; serializing just it
    and splicing it in front of the cached body gives the same text (tested) for a
    fraction of the cost on big projects.
    """
    if body is None:
        return manifest.model_dump_json(indent=2)
    metadata = manifest.metadata.model_dump_json(indent=2).replace("\n", "\n  ")
    return '{\n  "metadata": ' + metadata + ",\n" + body.removeprefix("{\n")


def manifest_json_schema() -> dict[str, Any]:
    """The JSON Schema of the manifest (shipped in the package, checked by the tests)."""
    schema = Manifest.model_json_schema()
    schema["$id"] = MANIFEST_SCHEMA_VERSION
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def shipped_schema() -> dict[str, Any]:
    text = resources.files("aligned_cli.artifacts").joinpath("schemas/manifest.v1.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


MANIFEST_FILE = "manifest.json"


def manifest_file(path: Path) -> Path:
    """The manifest `path` names: the file itself, or the manifest in a folder (a
    target folder, `--state DIR`, or one `aligned apply --to DIR/` wrote into)."""
    return path / MANIFEST_FILE if path.is_dir() else path


def read_manifest(path: Path) -> Manifest:
    """Load a manifest written by this or an older compatible aligned."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectError(
            f"no manifest at '{path}'", hint="run `aligned compile` first (or `aligned apply`)"
        ) from None
    return parse_manifest(text, str(path))


def parse_manifest(text: str, where: str) -> Manifest:
    """A manifest from its JSON text; `where` names it in messages (a path or URL)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ProjectError(f"'{where}' is not valid JSON: {error}") from None
    version = data.get("metadata", {}).get("schema_version") if isinstance(data, dict) else None
    if version != MANIFEST_SCHEMA_VERSION:
        raise ProjectError(
            f"'{where}' has manifest schema '{version}', this aligned reads "
            f"'{MANIFEST_SCHEMA_VERSION}'",
            hint="recompile with this version of aligned",
        )
    return Manifest.model_validate(data)
