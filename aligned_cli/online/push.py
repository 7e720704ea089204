"""Raw rows of a view -> online store: the path /push and the worker share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aligned_cli.online.cas import CasWriter, WriteCounts
from aligned_cli.online.catalog import Catalog
from aligned_cli.online.rows import row_writes
from aligned_cli.online.transform import ViewTransformer

if TYPE_CHECKING:
    import redis

    from aligned_cli.core.ir import Project


class PushService:
    """Derived features by the view's SQL (`ViewTransformer`), then CAS writes."""

    def __init__(
        self, project: Project, root: Path, client: redis.Redis, *, force: bool = False
    ) -> None:
        self.catalog = Catalog.from_project(project)
        self.transformer = ViewTransformer(project, root)
        self._writer = CasWriter(client, force=force)

    def push(self, view: str, rows: Sequence[Mapping[str, Any]]) -> WriteCounts:
        online = self.catalog.view(view)  # UnknownNameError for an unknown view
        if not rows:
            return WriteCounts()
        table = self.transformer.transform(view, rows)
        return self._writer.write(row_writes(online, table))

    def close(self) -> None:
        self.transformer.close()
