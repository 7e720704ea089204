"""Compile benchmark: whole-process wall time of `aligned compile` on a large project.

The generated project has N feature views (10 typed + 3 derived features each; every
5th view is built on the previous one with `source: view:<parent>`), reading a handful
of small csv/parquet sources, and M models using ~5 features of a few views each with a
spine source. There is no engine baseline for compiling, so the figure is shown next to
its target (≤ 1.0 s for compile, ≤ 0.3 s for `aligned --help`). A cold compile uses a
second core when there is one (`ALIGNED_COMPILE_JOBS`); the details also hold the same
compile in one process.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from common import (
    ALIGNED,
    BenchResult,
    Metric,
    Scale,
    cached_dataset,
    main_for,
    median,
    run_process,
    write_result,
)

GENERATOR_VERSION = 1
SEED = 20240501
RUNS: dict[Scale, int] = {"smoke": 3, "small": 5, "large": 5}  # whole processes, median
COMPILE_TARGET_S = 1.0
HELP_TARGET_S = 0.3
VIEWS = {"smoke": 20, "small": 500, "large": 500}
MODELS = {"smoke": 5, "small": 100, "large": 100}
SOURCES = 6  # even ones csv, odd ones parquet
VIEWS_PER_FILE = 25
SOURCE_ROWS = 50

# (feature, declared type, arrow type of the source column)
TYPED: list[tuple[str, str, pa.DataType]] = [
    ("f1", "int32", pa.int32()),
    ("f2", "float", pa.float64()),
    ("f3", "int64", pa.int64()),
    ("f4", "float", pa.float64()),
    ("f5", "string", pa.string()),
    ("f6", "bool", pa.bool_()),
    ("f7", "float32", pa.float32()),
    ("f8", "int16", pa.int16()),
    ("f9", "string", pa.string()),
    ("f10", "float", pa.float64()),
]
DERIVED = {"d1": "coalesce(f1, 0) * 2", "d2": "f2 > 10", "d3": "f3 + f4"}


def _source_table(rng: np.random.Generator) -> pa.Table:
    n = SOURCE_ROWS
    start = np.datetime64("2024-01-01T00:00:00", "s")
    columns: dict[str, pa.Array] = {
        "entity_id": pa.array(rng.integers(0, 20, n), pa.int64()),
        "event_timestamp": pa.array(start + rng.integers(0, 86_400 * 30, n), pa.timestamp("s")),
    }
    for name, _, arrow_type in TYPED:
        if pa.types.is_string(arrow_type):
            values: pa.Array = pa.array([f"s{v}" for v in rng.integers(0, 5, n)])
        elif pa.types.is_boolean(arrow_type):
            values = pa.array(rng.random(n) < 0.5)
        elif pa.types.is_integer(arrow_type):
            values = pa.array(rng.integers(0, 100, n), arrow_type)
        else:
            values = pa.array(rng.random(n) * 20, arrow_type)
        columns[name] = values
    return pa.table(columns)


def _source_file(i: int) -> str:
    return f"data/source_{i}.{'csv' if i % 2 == 0 else 'parquet'}"


def _view_yaml(i: int) -> str:
    on_parent = i % 5 == 4
    source = f"view:view_{i - 1}" if on_parent else f"source_{i % SOURCES}"
    lines = [
        f"  - name: view_{i}",
        f"    description: Generated view {i}",
        f"    source: {source}",
        f"    tags: [group_{i % 7}]",
    ]
    if not on_parent:
        lines += [
            "    entities: [entity_id]",
            "    event_timestamp: event_timestamp",
        ]
    if i % 3 == 0:
        lines.append("    ttl: 30d")
    lines.append("    features:")
    for name, declared, _ in TYPED:
        lines.append(f"      {name}: {{type: {declared}}}")
    for name, expression in DERIVED.items():
        lines.append(f'      {name}: {{expression: "{expression}"}}')
    return "\n".join(lines)


def _models_yaml(views: int, models: int, rng: np.random.Generator) -> str:
    features = [name for name, _, _ in TYPED] + list(DERIVED)
    lines = ["models:"]
    for m in range(models):
        chosen_views = rng.choice(views, size=3, replace=False)
        refs = [
            f"view_{chosen_views[k % 3]}:{features[(m + 3 * k) % len(features)]}" for k in range(5)
        ]
        lines += [
            f"  - name: model_{m}",
            f"    description: Generated model {m}",
            f"    features: [{', '.join(refs)}]",
            "    target: {column: label, kind: classification}",
            "    spine: spine",
        ]
    return "\n".join(lines) + "\n"


def build_project(directory: Path, views: int, models: int) -> None:
    """Write the generated project (deterministic for a given size)."""
    rng = np.random.default_rng(SEED)
    (directory / "data").mkdir()
    features_dir = directory / "features"
    (features_dir / "models").mkdir(parents=True)
    (directory / "aligned_project.yml").write_text(
        "name: compile_bench\n"
        "feature-paths: [features]\n"
        "target-path: target\n"
        "default-connection: local\n"
        "connections:\n"
        "  local: {type: duckdb, path: target/aligned.duckdb}\n"
    )
    sources = ["sources:"]
    for i in range(SOURCES):
        table = _source_table(rng)
        path = directory / _source_file(i)
        if path.suffix == ".csv":
            pacsv.write_csv(table, path)
        else:
            pq.write_table(table, path)
        sources += [f"  - name: source_{i}", f"    file: {_source_file(i)}"]
    spine = pa.table(
        {
            "entity_id": pa.array(rng.integers(0, 20, SOURCE_ROWS), pa.int64()),
            "event_timestamp": pa.array(
                np.datetime64("2024-02-01T00:00:00", "s") + rng.integers(0, 86_400, SOURCE_ROWS),
                pa.timestamp("s"),
            ),
            "label": pa.array(rng.random(SOURCE_ROWS) < 0.5),
        }
    )
    pq.write_table(spine, directory / "data" / "spine.parquet")
    sources += ["  - name: spine", "    file: data/spine.parquet"]
    (features_dir / "sources.yml").write_text("\n".join(sources) + "\n")

    for first in range(0, views, VIEWS_PER_FILE):
        group = features_dir / f"group_{first // 100}"
        group.mkdir(exist_ok=True)
        body = [_view_yaml(i) for i in range(first, min(first + VIEWS_PER_FILE, views))]
        text = "feature_views:\n" + "\n".join(body) + "\n"
        (group / f"views_{first:04d}.yml").write_text(text)
    (features_dir / "models" / "models.yml").write_text(_models_yaml(views, models, rng))


def run(scale: Scale) -> BenchResult:
    """Time `aligned compile` and `aligned --help` (median of whole-process runs)."""
    views, models = VIEWS[scale], MODELS[scale]
    params = {"version": GENERATOR_VERSION, "seed": SEED, "views": views, "models": models}
    project = cached_dataset(
        f"compile-{views}v-{models}m", params, lambda d: build_project(d, views, models)
    )
    result = BenchResult(name="compile", scale=scale, details={**params, "runs": RUNS[scale]})
    try:
        compile_cmd: list[str | Path] = [ALIGNED, "compile", "--project-dir", project]
        cold_times: list[float] = []
        one_process_times: list[float] = []
        warm_times: list[float] = []
        help_times: list[float] = []
        for _ in range(RUNS[scale]):
            help_times.append(run_process([ALIGNED, "--help"]).seconds)
            # Cold: a full parse and compile, as after any change to the project.
            cold_times.append(run_process(compile_cmd, env={"ALIGNED_NO_CACHE": "1"}).seconds)
            # The same in one process (no helper processes on a second core): shown in
            # the details, to tell what the second core gives on this box.
            one_process = {"ALIGNED_NO_CACHE": "1", "ALIGNED_COMPILE_JOBS": "1"}
            one_process_times.append(run_process(compile_cmd, env=one_process).seconds)
            run_process(compile_cmd)  # fills the compile cache
            # Warm: nothing changed since the last compile (the compile cache is used).
            warm_times.append(run_process(compile_cmd).seconds)
        result.details.update(
            cold_compile_seconds=cold_times,
            cold_compile_one_process_seconds=one_process_times,
            warm_compile_seconds=warm_times,
            help_seconds=help_times,
        )
        result.metrics = [
            Metric(
                f"`aligned compile`, cold ({views} views, {models} models)",
                "s",
                median(cold_times),
                COMPILE_TARGET_S,
                "target",
                1.0,
            ),
            Metric(
                f"`aligned compile`, unchanged project ({views} views, {models} models)",
                "s",
                median(warm_times),
                COMPILE_TARGET_S,
                "target",
                1.0,
            ),
            Metric("`aligned --help`", "s", median(help_times), HELP_TARGET_S, "target", 1.0),
        ]
    except Exception as error:  # reported in the table; run_all exits non-zero
        result.error = f"{type(error).__name__}: {error}"
    write_result(result)
    return result


def main() -> int:
    return main_for(run, __doc__)


if __name__ == "__main__":
    sys.exit(main())
