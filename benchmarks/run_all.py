"""Run the benchmarks and print one markdown table (paste it into the README).

    python benchmarks/run_all.py --scale smoke|small|large \
        [--only compile|pit|api|aggregations|postgres|spark]

Exit code 1 when a benchmark errored or produced wrong results (at any scale). Timings
are reported, not asserted: at small/large each target is marked PASS or MISS, and a
MISS still exits 0; at smoke they are not judged at all.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import agg_bench
import api_bench
import compile_bench
import pg_bench
import pit_bench
import spark_bench
from common import RESULTS_DIR, SCALES, BenchResult, Scale, compile_bytecode, markdown_table

BENCHMARKS: dict[str, Callable[[Scale], BenchResult]] = {
    "compile": compile_bench.run,
    "pit": pit_bench.run,
    "api": api_bench.run,
    "aggregations": agg_bench.run,
    "postgres": pg_bench.run,  # needs a server: ALIGNED_BENCH_POSTGRES_DSN
    "spark": spark_bench.run,  # pyspark + Java 17+: skipped without them, an error in CI
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", choices=SCALES, default="small")
    parser.add_argument("--only", choices=sorted(BENCHMARKS), action="append")
    args = parser.parse_args()
    scale: Scale = args.scale
    names = args.only or list(BENCHMARKS)
    compile_bytecode()

    results: list[BenchResult] = []
    for name in names:
        start = time.perf_counter()
        print(f"running {name} ({scale})...", file=sys.stderr, flush=True)
        results.append(BENCHMARKS[name](scale))
        print(f"  {name} done in {time.perf_counter() - start:.1f}s", file=sys.stderr)

    print(markdown_table(results))
    # Lines that are not a ratio against a baseline: skips, paper estimates.
    for result in results:
        for note in result.details.get("notes", []):
            print(f"\n{note}")
    print(f"\nJSON results: {RESULTS_DIR}/<name>.json")
    failed = [r for r in results if r.error is not None]
    for result in failed:
        print(f"\n{result.name} FAILED:\n{result.error}", file=sys.stderr)
    if scale != "smoke":
        missed = [f"{r.name}: {m.name}" for r in results for m in r.metrics if not m.met]
        print(f"\ntargets missed: {len(missed)}" + "".join(f"\n  - {m}" for m in missed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
