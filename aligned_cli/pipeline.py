"""The compile stage end to end: project folder -> IR -> DAG -> SQL -> manifest.

The CLI and the runtime API both go through here, so `aligned compile`, `aligned run`
and `FeatureStore` always see the same compiled SQL.
"""

from __future__ import annotations

import gc
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aligned_cli import __version__
from aligned_cli.compile.compiled import CompiledProject
from aligned_cli.core.ir import Project, Source
from aligned_cli.core.tests import project_tests

if TYPE_CHECKING:
    import duckdb

    from aligned_cli.artifacts.manifest import Manifest

DEFAULT_DIALECTS = None  # every engine the project connects to


def compile_project(
    project: Project, dialects: Iterable[str] | None = DEFAULT_DIALECTS
) -> CompiledProject:
    """Build the DAG and compile every view, model and test for each dialect."""
    from aligned_cli.compile import (
        compile_model_sql,
        compile_test_sql,
        compile_view_sql,
        new_session,
        resolve_project,
    )
    from aligned_cli.compile.column_refs import check_column_refs
    from aligned_cli.graph.dag import build_dag
    from aligned_cli.graph.ids import model_id, test_id, view_id
    from aligned_cli.graph.lineage import feature_lineage

    # Inheritance and inferred derived-feature types (over file columns' known types).
    project = resolve_project(with_source_columns(project))
    check_column_refs(project)
    tests = project_tests(project)
    dag = build_dag(project, tests)
    # By default, SQL for every engine the project connects to (default connection
    # first): `aligned run --target X` reads the SQL of X's engine.
    wanted = list(dialects) if dialects is not None else connection_dialects(project)
    compiled = CompiledProject.of(project, tests, dag, wanted)
    spines = spine_columns(project)
    for dialect in compiled.dialects:
        session = new_session(project, dialect)  # each view resolved and rendered once
        for view in project.views.values():
            uid = view_id(project.name, view.name)
            compiled.sql.setdefault(uid, {})[dialect] = compile_view_sql(
                project, view.name, dialect, session=session
            )
        for model in project.models.values():
            if model.spine is None:
                continue  # served through the runtime API only; nothing to build
            uid = model_id(project.name, model.name)
            compiled.sql.setdefault(uid, {})[dialect] = compile_model_sql(
                project,
                model.name,
                dialect,
                spine_columns=spines.get(model.spine.source),
                session=session,
            )
        for test in tests:
            uid = test_id(project.name, test.name)
            compiled.sql.setdefault(uid, {})[dialect] = compile_test_sql(
                project, test, dialect, session=session
            )
    compiled.lineage = feature_lineage(project, dag)
    return compiled


def connection_dialects(project: Project) -> list[str]:
    """The engines of the project's connections, the default connection's first."""
    names = [project.default_connection, *project.connections]
    engines = [project.connections[n].type for n in names if n in project.connections]
    return list(dict.fromkeys(engines)) or ["duckdb"]


def spine_columns(project: Project) -> dict[str, list[str]]:
    """Columns of every file source used as a spine, read from the files' headers.

    Knowing them finds a spine's `event_timestamp` column and feature/spine name
    clashes at compile time; table and query spines are described at run time.
    """
    found: dict[str, list[str]] = {}
    for model in project.models.values():
        if model.spine is None or model.spine.source in found:
            continue
        source = project.sources[model.spine.source]
        columns = source.columns if source.columns is not None else _file_columns(project, source)
        if columns is not None:
            found[source.name] = list(columns)
    return found


def with_source_columns(project: Project) -> Project:
    """A copy where file sources carry their columns and types (`Source.columns`).

    Known types let the compiler infer derived types over raw columns and, on DuckDB,
    compare instants as naive UTC timestamps without run-time type checks. A file
    that cannot be read now (missing, remote) keeps `columns` unknown.
    """
    sources = dict(project.sources)
    unknown = {n: s for n, s in project.sources.items() if s.columns is None and s.kind == "file"}
    if not unknown:
        return project.model_copy(update={"sources": sources})
    from aligned_cli.execute.adapters.file_io import scratch_connection

    con = scratch_connection()  # one for every header: a connection costs ~15 ms
    try:
        for name, source in unknown.items():
            columns = _file_columns(project, source, con)
            if columns is not None:
                sources[name] = source.model_copy(update={"columns": columns})
    finally:
        con.close()
    return project.model_copy(update={"sources": sources})


def _file_columns(
    project: Project, source: Source, con: duckdb.DuckDBPyConnection | None = None
) -> dict[str, str] | None:
    from aligned_cli.execute.adapters.file_io import source_file_columns

    if source.kind != "file":
        return None
    return source_file_columns(Path(project.root), source, con)


def load_and_compile(
    project_dir: Path,
    *,
    cli_vars: Mapping[str, Any] | None = None,
    dialects: Iterable[str] | None = DEFAULT_DIALECTS,
    target_path: Path | None = None,
) -> CompiledProject:
    """Parse and compile, or reuse the last compile when none of its inputs changed."""
    from aligned_cli import compile_cache
    from aligned_cli.parse.jinja import env_vars_read, forget_env_vars_read
    from aligned_cli.parse.project_file import find_project_file, project_target_path

    root = Path(project_dir).resolve()
    dialects = list(dialects) if dialects is not None else None
    key = None
    target = str(target_path) if target_path is not None else None
    if not compile_cache.disabled() and root.is_dir():
        find_project_file(root)  # not a project: the usual error, before any caching
        target = target or project_target_path(root)
        key = compile_cache.fingerprint(
            root, target_path=target, cli_vars=cli_vars, dialects=dialects
        )
        cached = compile_cache.load(root, target, key)
        if cached is not None:
            return cached
    from aligned_cli.parse.project import load_project

    with _fewer_gc_passes():
        forget_env_vars_read()
        project = load_project(project_dir, cli_vars=cli_vars)
        if target_path is not None:
            project.target_path = str(target_path)
        compiled = compile_project(project, dialects)
        if key is not None and target is not None:
            build_manifest(compiled)  # cached with the compile
            compile_cache.store(root, target, key, compiled, env_vars_read())
    return compiled


@contextmanager
def _fewer_gc_passes() -> Iterator[None]:
    """Run the cyclic garbage collector rarely while a project compiles.

    Compiling allocates hundreds of thousands of long-lived objects (IR models,
    sqlglot nodes, whose parent links make every tree a cycle), and at the default
    thresholds the collector keeps re-scanning them: ~10% of a 500-view compile.
    The collector still runs (garbage is bounded; ~3% more peak memory measured),
    and the previous thresholds are restored afterwards for long-lived processes.
    """
    previous = gc.get_threshold()
    gc.set_threshold(max(previous[0], 50_000), max(previous[1], 20), max(previous[2], 100))
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def build_manifest(compiled: CompiledProject, invocation_id: str | None = None) -> Manifest:
    """The manifest of `compiled` with fresh metadata (the body is built once per compile
    and kept with it, so a cached compile does not rebuild it)."""
    from aligned_cli.artifacts.manifest import ManifestMetadata, body_json

    body = compiled.memo.get("manifest")
    if body is None:
        with _fewer_gc_passes():  # thousands of nodes' models, as in compiling
            body = compiled.memo["manifest"] = _manifest_body(compiled)
            compiled.memo["manifest_json"] = body_json(body)
    metadata = ManifestMetadata(
        aligned_version=__version__,
        project_name=compiled.project.name,
        generated_at=datetime.now(UTC),
        invocation_id=invocation_id or str(uuid.uuid4()),
        dialects=sorted(compiled.dialects),
    )
    manifest: Manifest = body.model_copy(update={"metadata": metadata})
    return manifest


def _manifest_body(compiled: CompiledProject) -> Manifest:
    from aligned_cli.artifacts.manifest import Manifest, ManifestMetadata, ManifestNode

    project = compiled.project
    graph = compiled.graph
    nodes: dict[str, ManifestNode] = {}
    for uid in sorted(graph.nodes):
        data = graph.nodes[uid]
        obj = data.get("obj")
        dtype = getattr(obj, "dtype", None)
        nodes[uid] = ManifestNode(
            unique_id=uid,
            kind=data["kind"],
            name=data["name"],
            file=data.get("file"),
            line=data.get("line"),
            checksum=data["checksum"],
            depends_on=list(graph.parents[uid]),
            tags=sorted(data.get("tags") or []),
            description=getattr(obj, "description", None),
            compiled_sql=dict(sorted(compiled.sql.get(uid, {}).items())),
            dtype=str(dtype) if dtype is not None else None,
        )
    dump = _dump
    return Manifest(
        metadata=ManifestMetadata(  # replaced by build_manifest
            aligned_version=__version__,
            project_name=project.name,
            generated_at=datetime.now(UTC),
            invocation_id="",
        ),
        project=dump(project, exclude={"sources", "views", "models", "root", "location"}),
        sources={name: dump(s) for name, s in sorted(project.sources.items())},
        feature_views={name: dump(v) for name, v in sorted(project.views.items())},
        models={name: dump(m) for name, m in sorted(project.models.items())},
        tests={t.name: dump(t) for t in sorted(compiled.tests, key=lambda t: t.name)},
        nodes=nodes,
        parent_map={uid: list(graph.parents[uid]) for uid in sorted(graph.nodes)},
        child_map={uid: list(graph.children[uid]) for uid in sorted(graph.nodes)},
        feature_lineage={k: sorted(v) for k, v in sorted(compiled.lineage.items())},
    )


def _dump(obj: Any, exclude: set[str] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = obj.model_dump(mode="json", exclude=exclude)
    return data


def project_from_manifest(manifest: Manifest, root: Path) -> Project:
    """Rebuild the IR from a manifest, so the runtime API never imports project code."""
    from aligned_cli.core.ir import FeatureView, Model

    settings = dict(manifest.project)
    settings.pop("sources", None)
    return Project(
        **settings,
        root=str(root),
        sources={n: Source.model_validate(s) for n, s in manifest.sources.items()},
        views={n: FeatureView.model_validate(v) for n, v in manifest.feature_views.items()},
        models={n: Model.model_validate(m) for n, m in manifest.models.items()},
    )


def write_compiled(compiled: CompiledProject, manifest: Manifest) -> Path:
    """Write target/manifest.json and target/compiled/<dialect>/<node>.sql atomically."""
    from aligned_cli.artifacts.manifest import manifest_json
    from aligned_cli.artifacts.writer import write_text_atomic, write_texts_atomic

    target = compiled.target_dir
    compiled_dir = str(target / "compiled")
    write_texts_atomic(
        {
            f"{compiled_dir}/{dialect}/{uid}.sql": sql.rstrip() + "\n"
            for uid, by_dialect in compiled.sql.items()
            for dialect, sql in by_dialect.items()
        }
    )
    path = target / "manifest.json"
    # The body's JSON is serialized once per compile (cached with it); only the
    # metadata is new. Another manifest (one `apply` changed) is serialized whole.
    memo = compiled.memo
    same_body = memo.get("manifest") is not None and _same_body(manifest, memo["manifest"])
    text = manifest_json(manifest, memo.get("manifest_json") if same_body else None)
    write_text_atomic(path, text + "\n")
    return path


def _same_body(manifest: Manifest, body: Manifest) -> bool:
    """`manifest` is `body` with other metadata (what `build_manifest` returns)."""
    return all(
        getattr(manifest, name) is getattr(body, name)
        for name in type(manifest).model_fields
        if name != "metadata"
    )
