"""Online equals offline: Titanic served after materialize, and /push of raw rows,
give the values `aligned run` puts in the dataset. Plus a real `aligned serve`."""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from conftest import aligned
from fastapi.testclient import TestClient

from aligned_cli.serve import create_app

FEATURES = ["constant_filled_age", "is_male", "sibsp", "pclass", "family_size"]
IDS = [1, 2, 6, 29, 889, 891]  # 6, 29, 889 have no age


def offline(project: Path) -> dict[int, dict[str, Any]]:
    import pyarrow.parquet as pq

    table = pq.read_table(project / "target" / "datasets" / "titanic.parquet").to_pylist()
    return {row["passenger_id"]: row for row in table if row["passenger_id"] in IDS}


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def test_served_and_pushed_values_equal_the_dataset(titanic_project: Path, redis_url: str) -> None:
    run = aligned("run", cwd=titanic_project)
    assert run.exit_code == 0, run.output
    expected = offline(titanic_project)
    assert aligned("materialize", "--redis-url", redis_url, cwd=titanic_project).exit_code == 0
    app = create_app(titanic_project / "target" / "manifest.json", redis_url)
    with TestClient(app) as api:
        body = {"model": "titanic", "entities": {"passenger_id": IDS}}
        results = api.post("/features", json=body).json()["results"]
        for passenger, result in zip(IDS, results, strict=True):
            for name in FEATURES:
                value = result["features"][f"passenger:{name}"]
                assert value["status"] == "present"
                assert same(value["value"], expected[passenger][name]), (passenger, name)
        # Raw rows pushed as a client would (mapped column names): same derived values.
        import duckdb

        con = duckdb.connect()
        raw = (
            con.sql(
                f"select * from read_csv('{titanic_project / 'data' / 'titanic.csv'}') "
                f"where PassengerId in ({', '.join(map(str, IDS))})"
            )
            .to_arrow_table()
            .to_pylist()
        )
        mapping = {
            "PassengerId": "passenger_id",
            "Survived": "survived",
            "Pclass": "pclass",
            "Name": "name",
            "Sex": "sex",
            "Age": "age",
            "SibSp": "sibsp",
            "Parch": "parch",
            "Fare": "fare",
            "Cabin": "cabin",
        }
        rows = [{mapping[k]: v for k, v in row.items() if k in mapping} for row in raw]
        api.post("/push", json={"view": "passenger", "rows": rows}).raise_for_status()
        results = api.post("/features", json=body).json()["results"]
        for passenger, result in zip(IDS, results, strict=True):
            for name in FEATURES:
                value = result["features"][f"passenger:{name}"]["value"]
                assert same(value, expected[passenger][name]), (passenger, name)


def test_real_server_subprocess(titanic_project: Path, redis_url: str) -> None:
    assert aligned("materialize", "--redis-url", redis_url, cwd=titanic_project).exit_code == 0
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    aligned_bin = Path(sys.executable).parent / "aligned"
    cmd = [str(aligned_bin), "serve", "--port", str(port), "--redis-url", redis_url]
    env = {**os.environ, "ALIGNED_TOKEN": "secret"}
    proc = subprocess.Popen(cmd, cwd=titanic_project, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        body = {"entities": {"passenger_id": [1]}, "features": ["passenger:sex"]}
        assert httpx.post(f"{base}/features", json=body).status_code == 401
        got = httpx.post(f"{base}/features", json=body, headers={"Authorization": "Bearer secret"})
        assert got.json()["results"][0]["features"]["passenger:sex"]["value"] == "male"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
