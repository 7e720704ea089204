"""Online store benchmark: materialize vs bare redis-py, serve vs bare pipelined reads.

    python benchmarks/online_bench.py --scale smoke   # tiny, < 30 s
    python benchmarks/online_bench.py --scale small   # 10k entities x 2 views, ~1.1M rows

Needs Redis (ALIGNED_BENCH_REDIS_URL, default redis://127.0.0.1:6379/9; flushed: not
14 or 15, the databases of the first pytest-xdist workers, which flush theirs).
Targets: materialize >= 0.8x the bare pipelined HSET rate; serve p99 <= 1.5x the bare
read, `aligned serve` over HTTP/1.1 keep-alive against a bare redis-py pipelined read
of the same keys, request by request in the same run.

`serve` keeps the hashes it reads in memory until Redis reports them changed (its
near cache, on by default): the same entities read request after request are
answered without a Redis round trip, as a hot entity is in production; the bare read
goes to Redis every time. The same requests against `serve --cache-size 0` (every
read a round trip to Redis) are shown too, with the lean client.

Serve is timed with three HTTP clients (see CLIENTS): the target is set against the
one as lean as redis-py (a socket and httptools' C parser, as redis-py is a socket
and hiredis' C parser); httpx and the standard library's http.client spend more
time in their own Python than the server spends on a one-entity request, and are
shown for what a Python caller of the server would see.
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
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

SCALES = {"smoke": (500, 5), "small": (10_000, 55)}  # entities, rows per entity per view
REDIS_URL = os.environ.get("ALIGNED_BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
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


class LeanHTTP:
    """A keep-alive HTTP/1.1 client as lean as redis-py is for Redis: one TCP socket
    (TCP_NODELAY, as redis-py's), each request written in one send, each response
    read whole and parsed by httptools, the C parser uvicorn itself uses (redis-py
    parses replies with hiredis, in C). Over the same loopback to the same `aligned
    serve` process as the other clients; only the client's own cost differs."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.head = f"Host: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n".encode()
        self.parser: Any = None
        self.chunks: list[bytes] = []
        self.done = self.keep_alive = False

    # httptools callbacks
    def on_body(self, data: bytes) -> None:
        self.chunks.append(data)

    def on_headers_complete(self) -> None:
        self.keep_alive = self.parser.should_keep_alive()

    def on_message_complete(self) -> None:
        self.done = True

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """(status, body) of one POST, the response read to its last byte."""
        import httptools

        self.sock.sendall(
            b"POST %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s"
            % (path.encode(), self.head, len(body), body)
        )
        self.parser = parser = httptools.HttpResponseParser(self)
        self.chunks, self.done, self.keep_alive = [], False, False
        while not self.done:
            data = self.sock.recv(1 << 16)
            if not data:
                raise ConnectionError("the server closed the connection")
            parser.feed_data(data)
        if not self.keep_alive:
            raise ConnectionError("the server did not keep the connection alive")
        return parser.get_status_code(), b"".join(self.chunks)

    def close(self) -> None:
        self.sock.close()


# The HTTP clients `serve` is timed with, each on its own keep-alive connection:
# - httpx: what a Python service would typically use; ~0.8 ms of its own Python per
#   request on the 2-core box, more than the server takes for one entity, so it
#   measures httpx more than the server.
# - http.client: the standard library's; leaner, yet ~0.15-0.2 ms of Python per
#   request (headers parsed by the email package, a new buffered reader per
#   response), several times what redis-py costs per pipelined read.
# - httptools (`LeanHTTP`): ~25 µs more than a bare socket, as lean as redis-py;
#   the fair one to set against the bare redis-py read, so the target applies to it.
# (Each measured against a uvicorn app answering a constant body: the client's own
# cost is its latency there less that of a bare socket sending the same request.)
CLIENTS = ("httpx", "http.client", "httptools")
FEATURES = ["trips:rate", "trips:n", "ratings:score"]


def bench_serve(
    root: Path,
    client: Any,
    requests: int,
    options: tuple[str, ...] = (),
    clients: tuple[str, ...] = CLIENTS,
) -> dict[int, dict[str, list[float]]]:
    """Per entity count: the latencies of the bare redis-py pipelined read and of
    each HTTP client's POST /features, interleaved request by request (so all see
    the same conditions; each goes first in turn), after a warm-up. Every HTTP
    answer is checked after its timing: status 200, one result per entity, and the
    values the bare read got. (The JSON is decoded outside the timing, as the bare
    read's values are left as Redis sent them.)"""
    import http.client

    import httpx

    subprocess.run(
        [ALIGNED, "materialize", "--project-dir", root], check=True, stdout=subprocess.DEVNULL
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [ALIGNED, "serve", "--project-dir", root, "--port", str(port), *options]
    )
    out: dict[int, dict[str, list[float]]] = {}
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base) as hx:
            for _ in range(200):
                try:
                    if hx.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            stdlib = http.client.HTTPConnection("127.0.0.1", port)
            lean = LeanHTTP(port)

            def via_httpx(body: bytes) -> tuple[int, bytes]:
                response = hx.post("/features", content=body, headers=JSON)
                return response.status_code, response.content

            def via_stdlib(body: bytes) -> tuple[int, bytes]:
                stdlib.request("POST", "/features", body, JSON)
                response = stdlib.getresponse()
                return response.status, response.read()

            posts: dict[str, Callable[[bytes], tuple[int, bytes]]] = {
                "httpx": via_httpx,
                "http.client": via_stdlib,
                "httptools": lambda body: lean.post("/features", body),
            }
            for size in (1, 100):
                ids = list(range(size))
                body = orjson.dumps({"entities": {"driver_id": ids}, "features": FEATURES})
                times: dict[str, list[float]] = {name: [] for name in ("bare", *clients)}
                names = ["bare", *clients]
                warmup = 50
                for i in range(warmup + requests):
                    # Each in turn goes first: the first read of a round finds the
                    # processes it wakes idle for longest (colder), whichever it is.
                    turn = names[i % len(names) :] + names[: i % len(names)]
                    elapsed: dict[str, float] = {}
                    answers: dict[str, tuple[int, bytes]] = {}
                    for name in turn:
                        t = time.perf_counter()
                        if name == "bare":
                            replies = bare_read(client, ids)
                        else:
                            answers[name] = posts[name](body)
                        elapsed[name] = time.perf_counter() - t
                    for name in clients:
                        check(name, *answers[name], ids, replies)
                    if i >= warmup:
                        for name, seconds in elapsed.items():
                            times[name].append(seconds)
                out[size] = times
            stdlib.close()
            lean.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return out


JSON = {"Content-Type": "application/json"}


def bare_read(client: Any, ids: list[int]) -> list[Any]:
    """The keys and fields `serve` reads for `ids`, in one redis-py pipeline."""
    pipe = client.pipeline(transaction=False)
    for e in ids:
        pipe.hmget(f"aligned:bench:trips:{e}", ["__ts", "rate", "n"])
        pipe.hmget(f"aligned:bench:ratings:{e}", ["__ts", "score"])
    replies: list[Any] = pipe.execute()
    return replies


def check(client: str, status: int, content: bytes, ids: list[int], replies: list[Any]) -> None:
    """The answer is a 200 carrying, for each entity in order, the values the bare
    read found (its replies: `[ts, rate, n]`, `[ts, score]` per entity)."""
    if status != 200:
        raise SystemExit(f"{client}: HTTP {status}: {content[:300]!r}")
    results = orjson.loads(content)["results"]
    expected = [
        {
            "trips:rate": _stored(trips[1]),
            "trips:n": _stored(trips[2]),
            "ratings:score": _stored(ratings[1]),
        }
        for trips, ratings in zip(replies[::2], replies[1::2], strict=True)
    ]
    got = [
        {name: value["value"] for name, value in result["features"].items()} for result in results
    ]
    entities = [result["entity"]["driver_id"] for result in results]
    if entities != ids or got != expected:
        raise SystemExit(f"{client}: answered {got[:3]} for {entities[:3]}, bare {expected[:3]}")


def _stored(raw: bytes) -> Any:
    """A value as `materialize` stores it: `f:<float>` or `i:<int>` here."""
    tag, text = raw[:2], raw[2:]
    return float(text) if tag == b"f:" else int(text)


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


def main() -> None:
    import redis

    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=sorted(SCALES), default="smoke")
    parser.add_argument(
        "--requests", type=int, help="timed requests per entity count (smoke 1000, small 3000)"
    )
    args = parser.parse_args()
    entities, per_entity = SCALES[args.scale]
    client = redis.Redis.from_url(REDIS_URL)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "bench"
        build_project(root, entities, per_entity)
        ours, cold, bare, rows = bench_materialize(root, client)
        requests = args.requests or (1000 if args.scale == "smoke" else 3000)
        serve = bench_serve(root, client, requests)
        uncached = bench_serve(root, client, requests, ("--cache-size", "0"), ("httptools",))
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
    for size, times in serve.items():
        for name in CLIENTS:
            for q in (50, 99):
                a, b = pct(times[name], q), pct(times["bare"], q)
                target = "<= 1.5x" if q == 99 and name == "httptools" else ""
                print(
                    f"| serve p{q} {size} entities, {name} client ({len(times[name])} requests, "
                    f"ms) | {a:.2f} | {b:.2f} | {a / b:.2f}x | {target} |"
                )
    for size, times in uncached.items():
        for q in (50, 99):
            a, b = pct(times["httptools"], q), pct(times["bare"], q)
            print(
                f"| serve p{q} {size} entities, httptools client, `--cache-size 0` "
                f"({len(times['httptools'])} requests, ms) | {a:.2f} | {b:.2f} | {a / b:.2f}x | |"
            )


if __name__ == "__main__":
    main()
