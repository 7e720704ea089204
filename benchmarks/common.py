"""Shared helpers for the benchmarks: process timing, data caching, result tables."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

BENCH_DIR = Path(__file__).resolve().parent
DATA_DIR = BENCH_DIR / ".data"
RESULTS_DIR = BENCH_DIR / "results"
PYTHON = Path(sys.executable)
ALIGNED = PYTHON.parent / "aligned"

Scale = Literal["smoke", "small", "large"]
SCALES: tuple[Scale, ...] = ("smoke", "small", "large")


def compile_bytecode() -> None:
    """Byte-compile aligned's modules, as `pip install` does for an installed package.

    The benchmarks time whole `aligned` processes. An editable install (nox's `-e .`)
    under PYTHONDONTWRITEBYTECODE=1 never writes `.pyc` files, so every process would
    recompile ~60 modules from source (~30 ms) — a cost no installed copy has and the
    baselines (installed packages) do not pay either.
    """
    import compileall

    import aligned_cli

    compileall.compile_dir(Path(aligned_cli.__file__).parent, quiet=1)


class BenchmarkError(RuntimeError):
    """A benchmark could not produce a figure (a command failed, or output was wrong)."""


@dataclass(frozen=True)
class Measurement:
    """One whole-process run: wall time and the child's peak resident set size."""

    seconds: float
    peak_rss_bytes: int


def run_process(
    cmd: Sequence[str | Path], cwd: Path | None = None, env: dict[str, str] | None = None
) -> Measurement:
    """Run `cmd` as a child process; raise BenchmarkError (with its output) on failure.

    The child is spawned by `launch.py`, a small process, which times it and reads
    its peak RSS from `os.wait4`: spawned from this process, the child would report at
    least this process's own peak RSS (see launch.py)."""
    args = [str(a) for a in cmd]
    read_fd, write_fd = os.pipe()
    with tempfile.TemporaryFile() as out:
        environment = {**os.environ, **env} if env else None
        launcher = [sys.executable, str(BENCH_DIR / "launch.py"), str(write_fd), "--", *args]
        proc = subprocess.Popen(
            launcher,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environment,
            pass_fds=(write_fd,),
        )
        os.close(write_fd)
        with os.fdopen(read_fd) as stream:
            report = stream.read()
        proc.wait()
        if proc.returncode != 0 or not report or json.loads(report)["status"] != 0:
            out.seek(0)
            tail = out.read().decode(errors="replace")[-4000:]
            raise BenchmarkError(f"`{' '.join(args)}` failed:\n{tail}")
    measured = json.loads(report)
    return Measurement(seconds=measured["seconds"], peak_rss_bytes=measured["peak_rss_bytes"])


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def cached_dataset(name: str, params: dict[str, Any], build: Callable[[Path], None]) -> Path:
    """A directory under benchmarks/.data holding data built by `build` for `params`.

    Reused when a previous build with identical parameters completed (its
    `params.json` is written last); otherwise rebuilt from scratch."""
    directory = DATA_DIR / name
    marker = directory / "params.json"
    if marker.exists() and json.loads(marker.read_text()) == params:
        return directory
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    build(directory)
    marker.write_text(json.dumps(params, indent=2, sort_keys=True))
    return directory


@dataclass
class Metric:
    """One figure of aligned next to its baseline (or its target when there is none)."""

    name: str
    unit: str
    aligned: float
    baseline: float
    baseline_kind: str  # "duckdb" (measured in the same run) or "target"
    target_ratio: float

    @property
    def ratio(self) -> float:
        return self.aligned / self.baseline if self.baseline else float("inf")

    @property
    def met(self) -> bool:
        return self.ratio <= self.target_ratio


@dataclass
class BenchResult:
    """What one benchmark reports; `error` set means it is broken (non-zero exit)."""

    name: str
    scale: Scale
    metrics: list[Metric] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["metrics"] = [
            {**asdict(m), "ratio": round(m.ratio, 4), "met": m.met} for m in self.metrics
        ]
        return data


def write_result(result: BenchResult) -> Path:
    """Write `benchmarks/results/<name>.json` atomically."""
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{result.name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result.to_json(), indent=2) + "\n")
    tmp.replace(path)
    return path


def _fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.3f} s"
    if unit == "MiB":
        return f"{value:.0f} MiB"
    return f"{value:g} {unit}"


def markdown_table(results: Sequence[BenchResult]) -> str:
    """The README table: aligned's figure, the baseline, the ratio and its target."""
    judged = any(r.scale != "smoke" for r in results)
    lines = [
        "| benchmark | scale | metric | aligned | baseline | ratio | target | status |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for result in results:
        if result.error is not None:
            first_line = (result.error.strip().splitlines() or ["?"])[0]
            if len(first_line) > 160:
                first_line = first_line[:157] + "..."
            lines.append(
                f"| {result.name} | {result.scale} | — | — | — | — | — | ERROR: {first_line} |"
            )
        for m in result.metrics:
            status = ("PASS" if m.met else "MISS") if judged else "not judged (smoke)"
            if result.error is not None:
                status = "invalid (see ERROR)"
            lines.append(
                f"| {result.name} | {result.scale} | {m.name} | {_fmt(m.aligned, m.unit)} "
                f"| {_fmt(m.baseline, m.unit)} ({m.baseline_kind}) | {m.ratio:.2f}x "
                f"| ≤ {m.target_ratio:.2f}x | {status} |"
            )
    return "\n".join(lines)


def main_for(run: Callable[[Scale], BenchResult], description: str | None) -> int:
    """The command line every benchmark script shares: `--scale`, a table, an exit code."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--scale", choices=SCALES, default="smoke")
    args = parser.parse_args()
    compile_bytecode()
    result = run(args.scale)
    print(markdown_table([result]))
    if result.error:
        print(result.error, file=sys.stderr)
    return 1 if result.error else 0
