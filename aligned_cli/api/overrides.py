"""`using_source(...)`: read a view's rows from another source, in a project copy."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aligned_cli.core.ir import Project, Source, SourceRef
from aligned_cli.errors import UsageError


def with_view_source(project: Project, view_name: str, source: Any) -> Project:
    """A copy of `project` (inheritance already resolved) in which view `view_name`
    reads `source`: a DSL source (`FileSource.parquet_at(...)`) or an IR Source."""
    declared = _as_source(source)
    # A name of our own: the project's names stay untouched, and PostgreSQL stages
    # the file under it without clobbering the view's usual source.
    digest = hashlib.sha1(
        json.dumps([view_name, declared.model_dump(mode="json")], sort_keys=True).encode()
    ).hexdigest()[:12]
    name = f"__aligned_source_{digest}"
    renamed = declared.model_copy(update={"name": name})
    view = project.views[view_name]
    moved = view.model_copy(update={"source": SourceRef(kind="source", name=name)})
    return project.model_copy(
        update={
            "sources": {**project.sources, name: renamed},
            "views": {**project.views, view_name: moved},
        }
    )


def _as_source(source: Any) -> Source:
    if isinstance(source, Source):
        return source
    to_source = getattr(source, "to_source", None)
    if callable(to_source):
        built = to_source("override", None)
        if isinstance(built, Source):
            return built
    raise UsageError(
        f"using_source() takes a source such as FileSource.parquet_at(...), "
        f"not {type(source).__name__}"
    )
