"""Compiling holds the garbage collector and gives it back as it found it."""

from __future__ import annotations

import gc
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from aligned_cli import pipeline
from aligned_cli.errors import ProjectError

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def titanic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALIGNED_NO_CACHE", "1")
    root = tmp_path / "titanic"
    shutil.copytree(ROOT / "fixtures" / "titanic_yaml", root)
    return root


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    enabled, threshold = gc.isenabled(), gc.get_threshold()
    yield
    gc.set_threshold(*threshold)
    (gc.enable if enabled else gc.disable)()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_the_collector_is_held_then_given_back(
    titanic: Path, monkeypatch: pytest.MonkeyPatch, jobs: str
) -> None:
    monkeypatch.setenv("ALIGNED_COMPILE_JOBS", jobs)
    seen: list[bool] = []
    compile_project = pipeline.compile_project

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(gc.isenabled())
        return compile_project(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "compile_project", spy)
    gc.enable()
    gc.set_threshold(700, 10, 10)
    pipeline.load_and_compile(titanic)
    assert seen == [False]
    assert gc.isenabled() and gc.get_threshold() == (700, 10, 10)
    # What the compile made joined the oldest generation: no young generation to scan.
    assert gc.get_count()[0] < 700


def test_the_collector_runs_while_sql_is_compiled_here(
    titanic: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALIGNED_COMPILE_JOBS", "1")
    seen: list[tuple[bool, int]] = []
    compile_sql = pipeline._compile_sql

    def spy(*args: object) -> object:
        seen.append((gc.isenabled(), gc.get_threshold()[0]))
        return compile_sql(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "_compile_sql", spy)
    gc.enable()
    pipeline.load_and_compile(titanic)
    assert seen == [(True, 50_000)]
    assert gc.isenabled()


def test_given_back_after_an_error_and_left_off_when_it_was_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALIGNED_NO_CACHE", "1")
    gc.enable()
    with pytest.raises(ProjectError):
        pipeline.load_and_compile(ROOT / "fixtures" / "broken" / "unknown_feature")
    assert gc.isenabled()
    gc.disable()
    with pytest.raises(ProjectError):
        pipeline.load_and_compile(ROOT / "fixtures" / "broken" / "unknown_feature")
    assert not gc.isenabled()


def test_objects_a_process_froze_stay_frozen(titanic: Path) -> None:
    gc.enable()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        pipeline.load_and_compile(titanic)
        # Still frozen (an unfreeze would empty the permanent generation); the count
        # may drop a little: a frozen object that is freed leaves it.
        assert gc.get_freeze_count() > 0.99 * frozen
    finally:
        gc.unfreeze()
