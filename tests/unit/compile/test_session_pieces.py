"""Views compiled from pieces rendered once (`CompileSession._piece`) read exactly as
the same views rendered from whole syntax trees, on every engine that composes text."""

from __future__ import annotations

from pathlib import Path

import pytest

from aligned_cli.compile import resolve_project
from aligned_cli.compile.dialects import get_dialect
from aligned_cli.compile.session import CompileSession
from aligned_cli.core.ir import Project
from aligned_cli.parse.project import load_project
from aligned_cli.pipeline import with_source_columns

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"

# Pieces that recur: a source's rows (mapped), casts shared by two views, one derived
# expression in two views, a derived feature reading another, views on a view, a
# timezone, an aggregation reading a raw column and a view without a created time.
_FEATURES = """
sources:
  - name: events
    file: data/events.csv
    timezone: Europe/Oslo
    mapping: {AMOUNT: amount}
feature_views:
  - name: base
    source: events
    entities: [user_id]
    event_timestamp: ts
    created_timestamp: created
    features:
      amount: {type: float}
      n: {type: int32}
      doubled: {expression: "amount * 2"}
      doubled_plus: {expression: "doubled + amount"}
    aggregations:
      extra_sum_7d: {function: sum, of: extra, window: 7d}
  - name: other
    source: events
    entities: [user_id]
    event_timestamp: ts
    features:
      amount: {type: float}
      doubled: {expression: "amount * 2"}
  - name: child
    source: view:base
    features:
      doubled: {type: float}
      n: {type: int64}
      big: {expression: "doubled > 10"}
  - name: grandchild
    source: view:child
    features:
      big: {type: bool}
"""


def _written_project(root: Path) -> Path:
    (root / "features").mkdir()
    (root / "data").mkdir()
    (root / "aligned_project.yml").write_text("name: pieces\nfeature-paths: [features]\n")
    (root / "features" / "views.yml").write_text(_FEATURES)
    (root / "data" / "events.csv").write_text(
        "user_id,ts,created,AMOUNT,n,extra\n1,2026-01-01 10:00:00,2026-01-01 10:05:00,2.5,3,1\n"
    )
    return root


def _compiled(root: Path) -> Project:
    return resolve_project(with_source_columns(load_project(root)))


@pytest.mark.parametrize("dialect", ["duckdb", "postgres"])
@pytest.mark.parametrize("project_dir", ["written", "titanic_yaml", "aggregations", "quality"])
def test_views_from_pieces_equal_views_from_trees(
    tmp_path: Path, project_dir: str, dialect: str
) -> None:
    root = _written_project(tmp_path) if project_dir == "written" else FIXTURES / project_dir
    project = _compiled(root)
    engine = get_dialect(dialect)
    assert engine.composes_text
    pieces = CompileSession(project, engine, compose_text=True)
    trees = CompileSession(project, engine)
    for name in project.views:
        for pit in (False, True):
            whole = engine.sql(trees.view_query(name, pit=pit))
            assert pieces.view_sql(name, pit=pit) == whole, (name, pit)
