"""Compiling with children (a header reader, the SQL in a forked child, the manifest
drafted meanwhile) gives exactly what compiling in one process gives."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from aligned_cli import pipeline
from aligned_cli.artifacts.manifest import body_json
from aligned_cli.compile.compiled import CompiledProject
from aligned_cli.core import forked
from aligned_cli.core.forked import Forked

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "benchmarks"))

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks on Linux")


def _generated(tmp_path: Path, views: int, models: int) -> Path:
    from compile_bench import build_project  # the benchmark's generator

    root = tmp_path / "generated"
    root.mkdir()
    build_project(root, views, models)
    return root


def _fixture(tmp_path: Path, name: str) -> Path:
    root = tmp_path / name
    shutil.copytree(ROOT / "fixtures" / name, root, ignore=shutil.ignore_patterns("target"))
    return root


class Spy:
    """What the children did: how many started and how many values were used."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started = 0
        self.used = 0
        monkeypatch.setattr(forked, "can_fork", lambda: True)  # even in a test worker
        start, result = Forked._fork.__func__, Forked.result  # type: ignore[attr-defined]

        def counted_fork(cls: type[Forked[Any]], *args: Any, **kwargs: Any) -> Any:
            self.started += 1
            return start(cls, *args, **kwargs)

        def counted_result(child: Forked[Any]) -> Any:
            value = result(child)
            self.used += value is not None
            return value

        monkeypatch.setattr(Forked, "_fork", classmethod(counted_fork))
        monkeypatch.setattr(Forked, "result", counted_result)


def _compile(root: Path, monkeypatch: pytest.MonkeyPatch, jobs: str) -> CompiledProject:
    monkeypatch.setenv("ALIGNED_NO_CACHE", "1")
    monkeypatch.setenv(forked.JOBS_VARIABLE, jobs)
    compiled = pipeline.load_and_compile(root)
    pipeline.build_manifest(compiled)
    return compiled


def _same(one: CompiledProject, other: CompiledProject) -> None:
    assert one.sql == other.sql
    assert list(one.sql) == list(other.sql)  # the same order (files are written in it)
    assert one.lineage == other.lineage
    assert one.graph.order == other.graph.order
    assert one.memo["manifest_json"] == other.memo["manifest_json"]
    # The kept JSON is the kept body's JSON.
    assert body_json(one.memo["manifest"]) == one.memo["manifest_json"]


@pytest.mark.parametrize("name", ["titanic_yaml", "titanic_python", "aggregations", "quality"])
def test_fixtures_compile_the_same_with_children(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    root = _fixture(tmp_path, name)
    alone = _compile(root, monkeypatch, "1")  # imports DuckDB: no header reader below
    spy = Spy(monkeypatch)
    together = _compile(root, monkeypatch, "2")
    assert (spy.started, spy.used) == (1, 1)  # the SQL's child
    _same(together, alone)


def test_a_big_project_compiles_in_a_child_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _generated(tmp_path, views=120, models=20)
    alone = _compile(root, monkeypatch, "1")
    spy = Spy(monkeypatch)
    monkeypatch.setenv("ALIGNED_NO_CACHE", "1")
    monkeypatch.delenv(forked.JOBS_VARIABLE, raising=False)
    together = pipeline.load_and_compile(root)
    assert (spy.started, spy.used) == (1, 1)
    assert together.memo.get("manifest") is not None  # drafted while the child worked
    _same(together, alone)


def test_a_child_that_fails_means_compiling_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _generated(tmp_path, views=60, models=10)
    alone = _compile(root, monkeypatch, "1")
    spy = Spy(monkeypatch)

    real = pipeline._compile_sql
    here = os.getpid()

    def here_or_broken(*args: Any) -> dict[str, dict[str, str]]:
        if os.getpid() != here:
            raise RuntimeError("the child failed")
        return real(*args)

    monkeypatch.setattr(pipeline, "_compile_sql", here_or_broken)
    together = _compile(root, monkeypatch, "2")
    assert (spy.started, spy.used) == (1, 0)
    _same(together, alone)


def test_a_draft_that_does_not_fit_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _fixture(tmp_path, "titanic_yaml")
    compiled = _compile(root, monkeypatch, "1")
    expected = compiled.memo["manifest_json"]
    nodes = pipeline._sql_node_ids(compiled.project, compiled.tests)
    # SQL for another set of nodes than the draft expected.
    draft = pipeline._draft_manifest(compiled, nodes[1:])
    assert draft is not None
    compiled.memo.clear()
    assert not draft.finish(compiled) and not compiled.memo
    # A value of the project spelled like one of its placeholders: the draft does not fit.
    odd_view = next(iter(compiled.project.views.values()))
    description = odd_view.description
    odd_view.description = "\0{token}:0\0"
    draft = pipeline._draft_manifest(compiled, nodes)
    assert draft is not None
    odd_view.description = odd_view.description.replace("{token}", draft.token)
    draft = _draft_with_token(compiled, nodes, draft.token)
    assert not draft.fits and not draft.finish(compiled) and not compiled.memo
    odd_view.description = description
    # SQL holding text like a placeholder (another draft's token) is still exact.
    draft = pipeline._draft_manifest(compiled, nodes)
    assert draft is not None
    uid, dialect = draft.slots[0]
    odd = f"select 1 -- \0{draft.token}:1\0 and {draft.token}"
    compiled.sql[uid][dialect] = odd
    assert draft.finish(compiled)
    compiled_again = pipeline._manifest_body(compiled)
    assert compiled.memo["manifest_json"] == body_json(compiled_again)
    assert compiled.memo["manifest_json"] != expected


_FRESH_PROCESS = """
import json, sys
from pathlib import Path
from aligned_cli import pipeline
from aligned_cli.core.forked import Forked

used = []
result = Forked.result
def counted(child):
    value = result(child)
    used.append(value is not None)
    return value
Forked.result = counted
assert "duckdb" not in sys.modules
compiled = pipeline.load_and_compile(Path(sys.argv[1]))
pipeline.build_manifest(compiled)
print(json.dumps({"used": used, "sql": compiled.sql, "json": compiled.memo["manifest_json"]}))
"""


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="children need a second CPU")
def test_a_fresh_process_reads_headers_in_a_child(tmp_path: Path) -> None:
    import json
    import subprocess

    root = _generated(tmp_path, views=60, models=10)
    outputs = {}
    for jobs in ("1", "2"):
        env = {**os.environ, "ALIGNED_NO_CACHE": "1", forked.JOBS_VARIABLE: jobs}
        done = subprocess.run(
            [sys.executable, "-c", _FRESH_PROCESS, str(root)],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=True,
        )
        outputs[jobs] = json.loads(done.stdout)
    # One process: no child. With children: the header reader's value and the SQL's.
    assert outputs["1"].pop("used") == []
    assert outputs["2"].pop("used") == [True, True]
    assert outputs["2"] == outputs["1"]


def _draft_with_token(
    compiled: CompiledProject, nodes: list[str], token: str
) -> pipeline._ManifestDraft:
    """A draft whose random token is `token` (to test a clash with a project's text)."""
    from unittest import mock

    with mock.patch("uuid.uuid4") as uuid4:
        uuid4.return_value.hex = token
        draft = pipeline._draft_manifest(compiled, nodes)
    assert draft is not None and draft.token == token
    return draft
