"""Online store benchmark: materialize vs bare redis-py, serve vs bare pipelined reads.

    python benchmarks/online_bench.py --scale smoke   # tiny, < 20 s
    python benchmarks/online_bench.py --scale small   # 10k entities x 2 views, ~1.1M rows

Needs Redis (ALIGNED_BENCH_REDIS_URL, default redis://127.0.0.1:6379/14; flushed).
Targets: materialize >= 0.8x the bare pipelined HSET rate; serve p99 <= 1.5x bare read.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCALES = {"smoke": (500, 5), "small": (10_000, 55)}  # entities, rows per entity per view
REDIS_URL = os.environ.get("ALIGNED_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
ALIGNED = Path(sys.executable).parent / "aligned"


def build_project(root: Path, entities: int, per_entity: int) -> None:
    import duckdb

    (root / "features").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "aligned_project.yml").write_text(
        "name: bench\nconnections:\n  local: {type: duckdb, path: ':memory:'}\n"
        f"default-connection: local\nonline:\n  redis: {{url: '{REDIS_URL}'}}\n"
    )
    views = []
    con = duckdb.connect()
    now = datetime.now(UTC).replace(microsecond=0)
    for name in ("trips", "ratings"):
        con.execute(
            f"""copy (select (i % {entities})::bigint as driver_id,
                  timestamptz '{now.isoformat()}' - to_seconds(i) as event_timestamp,
                  random() as rate, (i % 97)::int as n, 'city_' || (i % 13) as city
                from range({entities * per_entity}) t(i))
                to '{root / "data" / name}.parquet' (format parquet)"""
        )
        views.append(
            f"""  - name: {name}
    source: {name}_src
    entities: [driver_id]
    event_timestamp: event_timestamp
    features:
      driver_id: {{type: int64}}
      rate: {{type: float}}
      n: {{type: int32}}
      city: {{type: string}}
      score: {{expression: "rate * n"}}
"""
        )
    sources = "".join(
        f"  - name: {n}_src\n    file: data/{n}.parquet\n" for n in ("trips", "ratings")
    )
    (root / "features" / "bench.yml").write_text(
        "sources:\n" + sources + "feature_views:\n" + "".join(views)
    )


def bench_materialize(root: Path, client: Any) -> tuple[float, float, float, int]:
    """(aligned entity rows/s warm, the same cold, bare HSET rows/s, rows)."""
    from aligned_cli.online.materialize import MaterializeOptions, materialize
    from aligned_cli.pipeline import load_and_compile

    compiled = load_and_compile(root)  # compile and process start are not the write path
    views = sorted(compiled.project.views)
    timings = []
    # Twice, into an emptied Redis each time (a full refill, not an incremental run):
    # the first call of a process also pays one-off imports (pyarrow loads numpy and
    # pandas on its first compute call, ~0.3 s here), reported apart as "cold".
    for _ in range(2):
        client.flushdb()
        start = time.perf_counter()
        materialize(compiled, views, compiled.project.connection(), client, MaterializeOptions())
        timings.append(time.perf_counter() - start)
    cold, ours = timings
    keys = [k for k in client.scan_iter("aligned:bench:*:*", count=10_000)]
    rows = len(keys)
    # Bare baseline: the same final rows (read back), plain HSET in 10k-command pipelines.
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.hgetall(key)
    payload = list(zip(keys, pipe.execute(), strict=True))
    client.flushdb()
    start = time.perf_counter()
    for i in range(0, len(payload), 10_000):
        pipe = client.pipeline(transaction=False)
        for key, mapping in payload[i : i + 10_000]:
            pipe.hset(key, mapping=mapping)
        pipe.execute()
    bare = time.perf_counter() - start
    client.flushdb()
    return rows / ours, rows / cold, rows / bare, rows


def bench_serve(
    root: Path, client: Any, requests: int
) -> dict[int, tuple[list[float], list[float]]]:
    import httpx

    subprocess.run(
        [ALIGNED, "materialize", "--project-dir", root], check=True, stdout=subprocess.DEVNULL
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([ALIGNED, "serve", "--project-dir", root, "--port", str(port)])
    out: dict[int, tuple[list[float], list[float]]] = {}
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base) as http:
            for _ in range(200):
                try:
                    if http.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            feats = ["trips:rate", "trips:n", "ratings:score"]
            for size in (1, 100):
                ids = list(range(size))
                body = {"entities": {"driver_id": ids}, "features": feats}
                served, bare = [], []
                for _ in range(requests):
                    t = time.perf_counter()
                    http.post("/features", json=body).raise_for_status()
                    served.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    pipe = client.pipeline(transaction=False)
                    for i in ids:
                        pipe.hmget(f"aligned:bench:trips:{i}", ["__ts", "rate", "n"])
                        pipe.hmget(f"aligned:bench:ratings:{i}", ["__ts", "score"])
                    pipe.execute()
                    bare.append(time.perf_counter() - t)
                out[size] = (served, bare)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return out


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


def main() -> None:
    import redis

    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=sorted(SCALES), default="smoke")
    args = parser.parse_args()
    entities, per_entity = SCALES[args.scale]
    client = redis.Redis.from_url(REDIS_URL)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "bench"
        build_project(root, entities, per_entity)
        ours, cold, bare, rows = bench_materialize(root, client)
        serve = bench_serve(root, client, 200 if args.scale == "smoke" else 1000)
    client.flushdb()
    print(
        f"\n### online benchmark ({args.scale}: {entities} entities x 2 views, "
        f"{2 * entities * per_entity:,} source rows)\n"
    )
    print("| measure | aligned | bare redis-py | ratio | target |")
    print("|---|---|---|---|---|")
    print(
        f"| materialize rows/s ({rows} entity rows, in-process, incl. the SQL ranking) "
        f"| {ours:,.0f} | {bare:,.0f} | {ours / bare:.2f}x | >= 0.8x |"
    )
    print(
        f"| materialize rows/s, cold (first call in the process, incl. imports) "
        f"| {cold:,.0f} | {bare:,.0f} | {cold / bare:.2f}x | |"
    )
    for size, (served, base) in serve.items():
        for q in (50, 99):
            a, b = pct(served, q), pct(base, q)
            print(
                f"| serve p{q} {size} entities (ms) | {a:.2f} | {b:.2f} | {a / b:.2f}x "
                f"| {'<= 1.5x' if q == 99 else ''} |"
            )


if __name__ == "__main__":
    main()
