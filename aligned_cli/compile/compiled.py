"""The output of the compile stage: what execute, artifacts and the API consume."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aligned_cli.core.digraph import DiGraph
from aligned_cli.core.ir import Project
from aligned_cli.core.tests import DataTest, TestChecks
from aligned_cli.graph.snapshot import DagSnapshot

if TYPE_CHECKING:
    import networkx as nx


# Under the target path: what aligned keeps between commands (compile, run-time SQL).
CACHE_FOLDER = ".aligned_cache"


@dataclass
class CompiledProject:
    project: Project
    tests: list[DataTest]
    # The DAG's nodes, edges and order as plain data: what most commands look up.
    graph: DagSnapshot
    dialects: list[str]
    # unique_id -> dialect -> SQL text
    sql: dict[str, dict[str, str]] = field(default_factory=dict)
    # test unique_id -> dialect -> the SQL running the test executes
    test_checks: dict[str, dict[str, TestChecks]] = field(default_factory=dict)
    lineage: dict[str, list[str]] = field(default_factory=dict)
    # Artifacts derived from this compile, built once (the manifest body; see pipeline).
    memo: dict[str, Any] = field(default_factory=dict)
    # This compile's identity once it is kept in the compile cache (a fresh one per
    # compile, kept by cache hits): what caches of run-time results are keyed by.
    compile_id: str | None = None
    # The networkx DAG, rebuilt from `graph` on first use (a cached compile has none).
    _networkx: nx.DiGraph | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(
        cls,
        project: Project,
        tests: list[DataTest],
        dag: nx.DiGraph | DiGraph[str],
        dialects: list[str],
    ) -> CompiledProject:
        networkx = None if isinstance(dag, DiGraph) else dag  # else built on first use
        return cls(project, tests, DagSnapshot.of(dag), dialects, _networkx=networkx)

    @property
    def dag(self) -> nx.DiGraph:
        """The lineage DAG as networkx, for graph walks (ancestors, descendants, layout)."""
        if self._networkx is None:
            self._networkx = self.graph.to_networkx()
        return self._networkx

    def __getstate__(self) -> dict[str, Any]:
        # Pickled (compile cache) without networkx: loading it then needs no networkx.
        return {**self.__dict__, "_networkx": None}

    @property
    def target_dir(self) -> Path:
        return Path(self.project.root) / self.project.target_path

    @property
    def cache_dir(self) -> Path:
        return self.target_dir / CACHE_FOLDER
