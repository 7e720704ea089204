"""`query(View)`: a runtime store over one Python DSL view, without a project.

Builds the IR of the view (and the views it is built on) in memory, on an
in-memory DuckDB whose relative paths resolve against the current directory.
The seed's class-level spelling `View.query()` needs the DSL's `@feature_view` to
attach this function to the class (the DSL module owns that).
"""

from __future__ import annotations

from pathlib import Path

from aligned_cli.api.store import FeatureStore
from aligned_cli.api.views import FeatureViewStore
from aligned_cli.core.ir import Connection, FeatureView, Project, Source
from aligned_cli.core.location import Location
from aligned_cli.dsl.callsite import CallSite
from aligned_cli.dsl.sources import SourceDecl
from aligned_cli.dsl.views import ViewDecl, view_decl
from aligned_cli.errors import UsageError

ADHOC_PROJECT = "adhoc"


def query(view: object, project_dir: str | Path | None = None) -> FeatureViewStore:
    """The store of a `@feature_view` class (or instance): `.all()`, `.features_for()`,
    `.using_source(...)` and the rest, run on DuckDB in memory."""
    decl = view_decl(view)
    if decl is None:
        raise UsageError(
            f"query() takes a @feature_view class, not {type(view).__name__}",
            hint="decorate the class with @feature_view(source=...)",
        )
    sources: dict[str, Source] = {}
    views: dict[str, FeatureView] = {}
    _collect(decl, sources, views)
    root = Path(project_dir or Path.cwd()).resolve()
    project = Project(
        name=ADHOC_PROJECT,
        root=str(root),
        connections={"local": Connection(name="local", type="duckdb", path=":memory:")},
        sources=sources,
        views=views,
    )
    from aligned_cli.compile import resolve_project

    return FeatureStore.from_project(resolve_project(project)).feature_view(decl.name)


def _collect(decl: ViewDecl, sources: dict[str, Source], views: dict[str, FeatureView]) -> None:
    """The view's IR, its parent views' and the sources at their bottom."""
    if decl.name in views:
        return
    ir = decl.to_ir(_locate)
    views[decl.name] = ir
    parent = view_decl(decl.source)
    if parent is not None:
        _collect(parent, sources, views)
    elif isinstance(decl.source, SourceDecl):
        sources[ir.source.name] = decl.source.to_source(ir.source.name, None)
    else:
        raise UsageError(
            f"view '{decl.name}' reads the source '{ir.source}' by name, which only a "
            "project can resolve",
            hint="load the project's manifest with FeatureStore.from_manifest(...) instead",
        )


def _locate(site: CallSite) -> Location:
    return Location(file=site.filename, line=site.line)
