"""The output of the compile stage: what execute, artifacts and the API consume."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aligned_cli.core.ir import Project
from aligned_cli.core.tests import DataTest

if TYPE_CHECKING:
    import networkx as nx


@dataclass
class CompiledProject:
    project: Project
    tests: list[DataTest]
    dag: nx.DiGraph
    dialects: list[str]
    # unique_id -> dialect -> SQL text
    sql: dict[str, dict[str, str]] = field(default_factory=dict)
    lineage: dict[str, list[str]] = field(default_factory=dict)
    # Artifacts derived from this compile, built once (the manifest body; see pipeline).
    memo: dict[str, Any] = field(default_factory=dict)

    @property
    def target_dir(self) -> Path:
        return Path(self.project.root) / self.project.target_path
