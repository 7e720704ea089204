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
    import pyarrow as pa
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
        self.catalog.view(view)  # UnknownNameError for an unknown view
        if not rows:
            return WriteCounts()
        return self.write(view, self.transform(view, rows))

    def transform(self, view: str, rows: Sequence[Mapping[str, Any]]) -> pa.Table:
        """The view's rows computed from raw `rows` (RowsError when they cannot be)."""
        return self.transformer.transform(view, rows)

    def write(self, view: str, table: pa.Table) -> WriteCounts:
        """CAS-write rows `transform` computed (the worker also sinks the same table)."""
        return self._writer.write(row_writes(self.catalog.view(view), table))

    def close(self) -> None:
        self.transformer.close()
