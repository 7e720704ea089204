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
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aligned_cli import __version__
from aligned_cli.compile.compiled import CompiledProject
from aligned_cli.core.ir import Project, Source
from aligned_cli.core.tests import DataTest, TestChecks, project_tests

if TYPE_CHECKING:
    import duckdb
    from pydantic import TypeAdapter

    from aligned_cli.artifacts.manifest import Manifest, ManifestNode
    from aligned_cli.core.forked import Forked
    from aligned_cli.graph.columns import FeatureInputs

    # A child reading file sources' headers (`start_header_reader`).
    HeaderReader = Forked[dict[str, dict[str, str] | None]]
    # unique_id -> dialect -> SQL; test unique_id -> dialect -> its checks.
    CompiledSql = tuple[dict[str, dict[str, str]], dict[str, dict[str, TestChecks]]]

DEFAULT_DIALECTS = None  # every engine the project connects to


def compile_project(
    project: Project,
    dialects: Iterable[str] | None = DEFAULT_DIALECTS,
    *,
    headers: HeaderReader | None = None,
) -> CompiledProject:
    """Build the DAG and compile every view, model and test for each dialect.

    On a big project the SQL is compiled in a forked child while this process builds
    the DAG, its checksums and the lineage (`core.forked`): the same SQL, about half
    the time on two cores. A child that fails, or none, means compiling here, in the
    same order as ever, so errors are the same: the DAG's first, then the SQL's.
    `headers`: see `with_source_columns`.
    """
    # File sources' columns first: a header reader works while the compiler's
    # modules are imported.
    project = with_source_columns(project, headers)
    from aligned_cli.compile import resolve_project
    from aligned_cli.compile.column_refs import check_column_refs
    from aligned_cli.core.forked import Forked
    from aligned_cli.graph.dag import build_graph
    from aligned_cli.graph.lineage import feature_lineage

    # Inheritance and inferred derived-feature types (over file columns' known types).
    project = resolve_project(project)
    # By default, SQL for every engine the project connects to (default connection
    # first): `aligned run --target X` reads the SQL of X's engine.
    wanted = list(dialects) if dialects is not None else connection_dialects(project)
    worker: Forked[CompiledSql] | None = None
    if _worth_a_child(project, wanted):
        # Spines' columns are read here, before forking (the child reads no file);
        # every spine names a known source (else the DAG reports it, first). The
        # child lists the tests itself; errors are this process's to report.
        spines = spine_columns(project)
        worker = Forked.start(lambda: _compile_sql(project, project_tests(project), wanted, spines))
    draft: _ManifestDraft | None = None
    try:
        check_column_refs(project)
        tests = project_tests(project)
        inputs: FeatureInputs = {}
        dag = build_graph(project, tests, inputs=inputs)
        compiled = CompiledProject.of(project, tests, dag, wanted)
        lineage: dict[str, list[str]] | None = None
        try:
            lineage = feature_lineage(project, compiled.graph, inputs=inputs)
        except Exception as error:  # raised after the SQL's errors, as it always was
            lineage_error: Exception | None = error
        else:
            lineage_error = None
            compiled.lineage = lineage
            if worker is not None:  # this process would wait: draft the manifest meanwhile
                draft = _draft_manifest(compiled, _sql_node_ids(project, tests))
        compiled_sql = worker.result() if worker is not None else None
    finally:
        if worker is not None:
            worker.close()
    if compiled_sql is None:
        with _collecting():
            compiled_sql = _compile_sql(project, tests, wanted, spine_columns(project))
    compiled.sql, compiled.test_checks = compiled_sql
    if lineage_error is not None:
        raise lineage_error
    if draft is not None:
        draft.finish(compiled)
    return compiled


def _draft_manifest(compiled: CompiledProject, sql_nodes: list[str]) -> _ManifestDraft | None:
    """The manifest drafted before the SQL is known, or None if that fails (then
    `build_manifest` builds it, and meets the same problem where it always did)."""
    dialects = sorted(set(compiled.dialects))
    try:
        return _ManifestDraft(compiled, {uid: dialects for uid in sql_nodes})
    except Exception:
        return None


# Nodes x dialects from which compiling SQL in a child pays for forking (~10 ms).
_CHILD_MIN_SQL_NODES = 200


def _worth_a_child(project: Project, dialects: list[str]) -> bool:
    from aligned_cli.core.forked import jobs_setting

    models = project.models.values()
    if any(m.spine is not None and m.spine.source not in project.sources for m in models):
        return False  # the DAG reports it, before any SQL is compiled
    jobs = jobs_setting()
    if jobs is not None:
        return jobs >= 2  # 1: never, 2+: whatever the size (when a child can be forked)
    # Views, models, and about as many tests as views (each has a uniqueness test).
    nodes = 2 * len(project.views) + len(project.models)
    return nodes * len(dialects) >= _CHILD_MIN_SQL_NODES


def _sql_node_ids(project: Project, tests: list[DataTest]) -> list[str]:
    """The nodes that have SQL (in `_compile_sql`'s order): views, models with a
    spine, tests."""
    from aligned_cli.graph.ids import model_id, test_id, view_id

    name = project.name
    return [
        *(view_id(name, view) for view in project.views),
        *(model_id(name, m.name) for m in project.models.values() if m.spine is not None),
        *(test_id(name, test.name) for test in tests),
    ]


def _compile_sql(
    project: Project,
    tests: list[DataTest],
    dialects: list[str],
    spines: Mapping[str, list[str]],
) -> CompiledSql:
    """unique_id -> dialect -> SQL of every view, model with a spine and test; and
    test unique_id -> dialect -> what running the test executes."""
    from aligned_cli.compile import (
        compile_model_sql,
        compile_test_sql,
        compile_view_sql,
        new_session,
    )
    from aligned_cli.compile.quality import compile_test_checks
    from aligned_cli.graph.ids import model_id, test_id, view_id

    sql: dict[str, dict[str, str]] = {}
    checks: dict[str, dict[str, TestChecks]] = {}
    for dialect in dialects:
        session = new_session(project, dialect)  # each view resolved and rendered once
        for view in project.views.values():
            uid = view_id(project.name, view.name)
            sql.setdefault(uid, {})[dialect] = compile_view_sql(
                project, view.name, dialect, session=session
            )
        for model in project.models.values():
            if model.spine is None:
                continue  # served through the runtime API only; nothing to build
            uid = model_id(project.name, model.name)
            sql.setdefault(uid, {})[dialect] = compile_model_sql(
                project,
                model.name,
                dialect,
                spine_columns=spines.get(model.spine.source),
                session=session,
            )
        for test in tests:
            uid = test_id(project.name, test.name)
            failing = compile_test_sql(project, test, dialect, session=session)
            sql.setdefault(uid, {})[dialect] = failing
            view_sql = sql[view_id(project.name, test.view)][dialect]
            test_checks = compile_test_checks(project, test, dialect, failing, view_sql)
            if test_checks is not None:
                checks.setdefault(uid, {})[dialect] = test_checks
    return sql, checks


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


def with_source_columns(project: Project, headers: HeaderReader | None = None) -> Project:
    """A copy where file sources carry their columns and types (`Source.columns`).

    Known types let the compiler infer derived types over raw columns and, on DuckDB,
    compare instants as naive UTC timestamps without run-time type checks. A file
    that cannot be read now (missing, remote) keeps `columns` unknown.

    `headers` (see `start_header_reader`) reads local files' headers in a child that
    imported DuckDB while the project was parsed; the compiler's modules are
    imported here meanwhile. Without it, or if it fails, they are read here.
    """
    sources = dict(project.sources)
    unknown = {n: s for n, s in project.sources.items() if s.columns is None and s.kind == "file"}
    if not unknown:
        return project.model_copy(update={"sources": sources})
    found: dict[str, dict[str, str] | None] | None = None
    if headers is not None and not any(_is_remote(s) for s in unknown.values()):
        headers.send((project.root, list(unknown.values())))
        _import_compiler()
        found = headers.result()
    if found is None or found.keys() != unknown.keys():
        from aligned_cli.execute.adapters.file_io import scratch_connection

        con = scratch_connection()  # one for every header: a connection costs ~15 ms
        try:
            found = {name: _file_columns(project, s, con) for name, s in unknown.items()}
        finally:
            con.close()
    for name, source in unknown.items():
        columns = found[name]
        if columns is not None:
            sources[name] = source.model_copy(update={"columns": columns})
    return project.model_copy(update={"sources": sources})


def start_header_reader() -> HeaderReader | None:
    """A child importing DuckDB now, to read file sources' headers once the project is
    parsed (`with_source_columns`): DuckDB's import and connection (~0.1 s) are then
    off the compile's path. None when no child can be used, or DuckDB is imported
    already: there is no import to save then, and a process using DuckDB may have
    its threads holding locks a forked child would inherit held."""
    import sys

    from aligned_cli.core.forked import Forked

    if "duckdb" in sys.modules:
        return None
    return Forked.serve(_header_session, _read_headers)


def _header_session() -> duckdb.DuckDBPyConnection:
    from aligned_cli.execute.adapters.file_io import scratch_connection
    from aligned_cli.execute.adapters.sql_names import string_literal

    string_literal("", "duckdb")  # a scan's file name is quoted with sqlglot: import it now
    return scratch_connection()


def _read_headers(
    con: duckdb.DuckDBPyConnection, request: tuple[str, list[Source]]
) -> dict[str, dict[str, str] | None]:
    from aligned_cli.execute.adapters.file_io import source_file_columns

    root, sources = request
    if len(sources) < 2:
        return {s.name: source_file_columns(Path(root), s, con) for s in sources}
    from concurrent.futures import ThreadPoolExecutor

    # DuckDB sniffs each csv's types from a sample, releasing the GIL: a cursor per
    # file on two threads reads them about 1.5x as fast, while the compile waits.
    def read(source: Source) -> dict[str, str] | None:
        with con.cursor() as cursor:
            return source_file_columns(Path(root), source, cursor)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip((s.name for s in sources), pool.map(read, sources), strict=True))


def _is_remote(source: Source) -> bool:
    from aligned_cli.objectstore.urls import is_remote

    return source.file is not None and is_remote(source.file)


def _import_compiler() -> None:
    """Import what resolving and compiling a project use (sqlglot above all)."""
    import aligned_cli.compile.column_refs
    import aligned_cli.compile.session
    import aligned_cli.compile.views
    import aligned_cli.graph.dag
    import aligned_cli.graph.lineage  # noqa: F401


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

    headers = start_header_reader()  # DuckDB imported in a child while parsing
    try:
        with _fewer_gc_passes():
            forget_env_vars_read()
            project = load_project(project_dir, cli_vars=cli_vars)
            if target_path is not None:
                project.target_path = str(target_path)
            compiled = compile_project(project, dialects, headers=headers)
            if key is not None and target is not None:
                build_manifest(compiled)  # cached with the compile
                compile_cache.store(root, target, key, compiled, env_vars_read())
    finally:
        if headers is not None:
            headers.close()
    return compiled


@contextmanager
def _fewer_gc_passes() -> Iterator[None]:
    """Hold the cyclic garbage collector while a project compiles.

    Compiling allocates hundreds of thousands of long-lived objects (IR models, the
    DAG, the manifest) and little cyclic garbage; the collector would only keep
    re-scanning the live ones: 10-20% of a 500-view compile even at raised
    thresholds. Where garbage is made in bulk, compiling SQL here (sqlglot trees,
    whose parent links make every tree a cycle), it runs, rarely (`_collecting`).
    Afterwards everything made meanwhile joins the oldest generation (as survivors
    of collections would have), so re-enabling the collector does not scan it all at
    once; a process that froze objects of its own (`gc.freeze`) keeps them frozen.
    Nested, or with the collector already off, this does nothing.
    """
    global _holding_gc
    if not gc.isenabled():
        yield
        return
    gc.disable()
    _holding_gc += 1
    try:
        yield
    finally:
        _holding_gc -= 1
        _promote_to_oldest()
        gc.enable()


_holding_gc = 0  # how many `_fewer_gc_passes` hold the collector now


def _promote_to_oldest() -> None:
    """Every object the collector tracks into its oldest generation, in O(1): frozen
    (all generations' lists moved to the permanent one), then unfrozen (moved back
    into the oldest). Not in a process that froze objects itself: they stay frozen."""
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()


@contextmanager
def _collecting() -> Iterator[None]:
    """The collector on, at raised thresholds, while garbage is made in bulk inside
    `_fewer_gc_passes` (compiling SQL in this process; see there)."""
    if not _holding_gc or gc.isenabled():
        yield
        return
    _promote_to_oldest()  # what exists now is not garbage: scan only what comes next
    previous = gc.get_threshold()
    gc.set_threshold(max(previous[0], 50_000), max(previous[1], 20), max(previous[2], 100))
    gc.enable()
    try:
        yield
    finally:
        gc.collect(0)  # the last garbage made here, not left to a full collection
        gc.disable()
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


def _manifest_body(
    compiled: CompiledProject, sql: Mapping[str, Mapping[str, str]] | None = None
) -> Manifest:
    """The manifest without its metadata; `sql` (uid -> dialect -> text) stands in
    for `compiled.sql` (see `_ManifestDraft`)."""
    from aligned_cli.artifacts.manifest import Manifest, ManifestMetadata

    project = compiled.project
    graph = compiled.graph
    sql = compiled.sql if sql is None else sql
    no_sql: Mapping[str, str] = {}
    # Plain dicts, validated into ManifestNodes in one call (not one per node: half
    # the time).
    nodes: dict[str, dict[str, Any]] = {}
    for uid in sorted(graph.nodes):
        data = graph.nodes[uid]
        obj = data.get("obj")
        dtype = getattr(obj, "dtype", None)
        nodes[uid] = dict(
            unique_id=uid,
            kind=data["kind"],
            name=data["name"],
            file=data.get("file"),
            line=data.get("line"),
            checksum=data["checksum"],
            depends_on=list(graph.parents[uid]),
            tags=sorted(data.get("tags") or []),
            description=getattr(obj, "description", None),
            compiled_sql=dict(sorted(sql.get(uid, no_sql).items())),
            dtype=str(dtype) if dtype is not None else None,
        )
    dump = _dump
    # Only the nodes are validated (into ManifestNodes): every other value is built
    # right here, of its field's type, and validating it would only copy it.
    return Manifest.model_construct(
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
        nodes=_manifest_nodes().validate_python(nodes),
        parent_map={uid: list(graph.parents[uid]) for uid in sorted(graph.nodes)},
        child_map={uid: list(graph.children[uid]) for uid in sorted(graph.nodes)},
        feature_lineage={k: sorted(v) for k, v in sorted(compiled.lineage.items())},
    )


@cache
def _manifest_nodes() -> TypeAdapter[dict[str, ManifestNode]]:
    from pydantic import TypeAdapter

    from aligned_cli.artifacts.manifest import ManifestNode

    return TypeAdapter(dict[str, ManifestNode])


class _ManifestDraft:
    """The manifest body and its JSON, built while a child compiles the SQL.

    Each node's SQL is a placeholder (a string no SQL holds: NUL bytes around this
    draft's random token and a number), and the JSON is cut at the placeholders; once
    the SQL is there, the pieces are joined with the SQL's JSON, serialized by the same
    serializer. The draft is used only if every placeholder is found once and the SQL
    has exactly the predicted nodes and dialects; otherwise the body is built anew,
    as without a child.
    """

    def __init__(self, compiled: CompiledProject, expected: Mapping[str, list[str]]) -> None:
        import re

        from aligned_cli.artifacts.manifest import body_json

        self.token = token = uuid.uuid4().hex
        self.expected = expected
        self.slots: list[tuple[str, str]] = []  # placeholder number -> (uid, dialect)
        placeholders: dict[str, dict[str, str]] = {}
        for uid, dialects in expected.items():
            placeholders[uid] = {}
            for dialect in dialects:
                placeholders[uid][dialect] = f"\0{token}:{len(self.slots)}\0"
                self.slots.append((uid, dialect))
        self.body = _manifest_body(compiled, placeholders)
        # JSON text, placeholder number, JSON text, ...: the JSON with the SQL left out.
        pattern = re.compile(r'"\\u0000' + token + r':(\d+)\\u0000"')
        self.pieces: list[str] = pattern.split(body_json(self.body))
        found = [int(number) for number in self.pieces[1::2]]
        self.fits = sorted(found) == list(range(len(self.slots)))  # each placeholder once

    def finish(self, compiled: CompiledProject) -> bool:
        """Fill in `compiled.sql`: the manifest body and its JSON kept in `compiled.memo`
        (as `build_manifest` keeps them); False when the draft does not fit."""
        from pydantic_core import to_json

        sql = compiled.sql
        if not self.fits:
            return False
        if sql.keys() != self.expected.keys() or any(
            sorted(sql[uid]) != dialects for uid, dialects in self.expected.items()
        ):
            return False
        texts = [to_json(sql[uid][dialect]).decode() for uid, dialect in self.slots]
        pieces = self.pieces
        for i in range(1, len(pieces), 2):
            pieces[i] = texts[int(pieces[i])]
        for uid, node in self.body.nodes.items():
            if uid in self.expected:
                node.compiled_sql = dict(sorted(sql[uid].items()))
        compiled.memo["manifest"] = self.body
        compiled.memo["manifest_json"] = "".join(pieces)
        return True


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
