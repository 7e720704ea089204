"""The data embedded in the docs page: the manifest plus the latest run artifacts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aligned_cli.docs.layout import overview_graph

if TYPE_CHECKING:
    from aligned_cli.artifacts.manifest import Manifest

# Artifacts of earlier commands shown next to the definitions when they exist.
OPTIONAL_ARTIFACTS = {
    "run_results": "run_results.json",
    "freshness": "freshness.json",
    "monitoring": "monitoring.json",  # `aligned monitor`; the Monitoring view (monitoring.js)
}


def docs_payload(manifest: Manifest, target_dir: Path) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "manifest": manifest.model_dump(mode="json"),
        "graph": overview_graph(manifest),
    }
    for key, name in OPTIONAL_ARTIFACTS.items():
        payload[key] = _read_optional(target_dir / name, manifest.metadata.project_name)
    return payload


def _read_optional(path: Path, project_name: str) -> dict[str, Any] | None:
    """An artifact of the same project, or None (missing, unreadable or another project's)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("metadata", {}).get("project_name") != project_name:
        return None
    return data
