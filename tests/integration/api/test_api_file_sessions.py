"""File-only loads on DuckDB run on a kept in-memory session: always fresh data, and
the project's database file stays free for `aligned run` in another process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb

from aligned_cli.api import FeatureStore
from aligned_cli.pipeline import build_manifest, load_and_compile, write_compiled


def _project(root: Path) -> Path:
    (root / "features").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "aligned_project.yml").write_text(
        "name: kept\nconnections:\n  local: {type: duckdb, path: target/kept.duckdb}\n"
    )
    (root / "features" / "f.yml").write_text(
        textwrap.dedent(
            """
            sources:
              - {name: scores, file: data/scores.parquet}
            feature_views:
              - name: scores
                source: scores
                entities: [player]
                features: {player: {type: int64}, score: {type: float}}
            """
        )
    )
    return root


def _write_scores(root: Path, scores: list[float]) -> None:
    rows = ", ".join(f"({i}, {s})" for i, s in enumerate(scores, start=1))
    target = root / "data" / "scores.parquet"
    duckdb.sql(f"COPY (SELECT * FROM (VALUES {rows}) AS t(player, score)) TO '{target}'")


def test_loads_see_a_rewritten_file_and_leave_the_database_unlocked(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    _write_scores(root, [1.0, 2.0])
    compiled = load_and_compile(root)
    write_compiled(compiled, build_manifest(compiled))
    store = FeatureStore.from_manifest(root / "target" / "manifest.json")
    entities = {"player": [2, 1]}
    first = store.features_for(entities, features=["scores:score"]).to_pandas_sync()
    assert first["score"].tolist() == [2.0, 1.0]

    _write_scores(root, [10.0, 20.0])  # same path, new content
    again = store.features_for(entities, features=["scores:score"]).to_pandas_sync()
    assert again["score"].tolist() == [20.0, 10.0]

    # Another process may write the project's database meanwhile (no lock is held).
    database = root / "target" / "kept.duckdb"
    code = f"import duckdb; duckdb.connect({str(database)!r}).execute('CREATE TABLE t (x INT)')"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
