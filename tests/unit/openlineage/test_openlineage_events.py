"""OpenLineage events of a real `aligned run`, validated against the official JSON Schemas."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource
from typer.testing import CliRunner

from aligned_cli.artifacts.manifest import Manifest, read_manifest
from aligned_cli.artifacts.run_results import RunResults
from aligned_cli.cli.app import app
from aligned_cli.openlineage import emit as emit_module
from aligned_cli.openlineage import emit_run_events, run_events

SCHEMAS = Path(__file__).parent / "schemas"
FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
RUN_EVENT = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


def _registry() -> Registry:
    resources = []
    for path in SCHEMAS.glob("*.json"):
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


def validate(event: dict[str, Any]) -> None:
    """The event against RunEvent, and every facet against its own `_schemaURL`."""
    registry = _registry()
    jsonschema.Draft202012Validator({"$ref": RUN_EVENT}, registry=registry).validate(event)
    facets = [*event["run"]["facets"].values(), *event["job"]["facets"].values()]
    for dataset in event["inputs"] + event["outputs"]:
        facets += dataset.get("facets", {}).values()
        facets += dataset.get("inputFacets", {}).values()
    for facet in facets:
        validator = jsonschema.Draft202012Validator(
            {"$ref": facet["_schemaURL"]}, registry=registry
        )
        validator.validate(facet)


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest, RunResults]:
    import shutil

    project = tmp_path_factory.mktemp("ol") / "titanic"
    shutil.copytree(FIXTURES / "titanic_yaml", project, ignore=shutil.ignore_patterns("target"))
    result = CliRunner().invoke(app, ["run", "--project-dir", str(project)])
    assert result.exit_code == 0, result.output
    manifest = read_manifest(project / "target" / "manifest.json")
    results = RunResults.model_validate_json((project / "target" / "run_results.json").read_text())
    return project, manifest, results


def test_every_executed_node_gets_a_valid_start_and_complete(
    ran: tuple[Path, Manifest, RunResults],
) -> None:
    project, manifest, results = ran
    events = run_events(manifest, results, project_dir=project)
    for event in events:
        validate(event)
    jobs = {e["job"]["name"] for e in events}
    assert jobs == {r.unique_id for r in results.results if r.status != "skipped"}
    for job in jobs:
        mine = [e for e in events if e["job"]["name"] == job]
        assert [e["eventType"] for e in mine] == ["START", "COMPLETE"]
        assert mine[0]["run"]["runId"] == mine[1]["run"]["runId"]
        assert mine[0]["eventTime"] <= mine[1]["eventTime"]


def test_model_output_carries_column_lineage_to_raw_source_columns(
    ran: tuple[Path, Manifest, RunResults],
) -> None:
    project, manifest, results = ran
    events = run_events(manifest, results, project_dir=project)
    model = next(e for e in events if e["job"]["name"] == "model.titanic.titanic")
    source = {"namespace": "file", "name": str((project / "data" / "titanic.csv").resolve())}
    assert {"namespace": "aligned://titanic", "name": "view.passenger"} in model["inputs"]
    assert source in model["inputs"]  # the spine
    (output,) = model["outputs"]
    assert output["name"] == str((project / "target/datasets/titanic.parquet").resolve())
    fields = output["facets"]["columnLineage"]["fields"]
    # Column names as the dataset has them (`passenger__sibsp` clashes with the spine's).
    assert fields["family_size"]["inputFields"] == [
        {**source, "field": "Parch"},
        {**source, "field": "SibSp"},
    ]
    assert fields["passenger__sibsp"]["inputFields"] == [{**source, "field": "SibSp"}]


def test_failed_nodes_emit_fail_with_the_message_and_tests_report_assertions(
    ran: tuple[Path, Manifest, RunResults],
) -> None:
    project, manifest, results = ran
    broken = results.model_copy(deep=True)
    for result in broken.results:
        if result.unique_id == "test.titanic.passenger__age__upper_bound":
            result.status, result.failures, result.message = "fail", 3, "3 rows above 110"
        if result.unique_id == "model.titanic.titanic":
            result.status = "skipped"
    events = run_events(manifest, broken, project_dir=project)
    for event in events:
        validate(event)
    assert "model.titanic.titanic" not in {e["job"]["name"] for e in events}
    test_end = next(
        e
        for e in events
        if e["job"]["name"] == "test.titanic.passenger__age__upper_bound"
        and e["eventType"] != "START"
    )
    assert test_end["eventType"] == "FAIL"
    assert test_end["run"]["facets"]["errorMessage"]["message"] == "3 rows above 110"
    assertions = test_end["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert assertions == [{"assertion": "upper_bound", "success": False, "column": "age"}]


def test_file_transport_appends_json_lines(
    ran: tuple[Path, Manifest, RunResults], tmp_path: Path
) -> None:
    project, manifest, results = ran
    path = tmp_path / "lineage" / "events.jsonl"
    first = emit_run_events(manifest, results, project_dir=project, file=path)
    emit_run_events(manifest, results, project_dir=project, file=path)
    lines = path.read_text().splitlines()
    assert len(lines) == 2 * len(first)
    assert json.loads(lines[0]) == first[0]


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, json.loads(body)))
        self.send_response(201)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture()
def lineage_server() -> Iterator[str]:
    _Collector.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("client", ["openlineage-python", "stdlib"])
def test_http_transport_posts_every_event_to_the_lineage_endpoint(
    ran: tuple[Path, Manifest, RunResults],
    lineage_server: str,
    client: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if client == "stdlib":

        def missing(target: str) -> Any:
            raise ImportError("openlineage-python is not installed")

        monkeypatch.setattr(emit_module, "_client_sender", missing)
    else:
        pytest.importorskip("openlineage.client")
    project, manifest, results = ran
    sent = emit_run_events(manifest, results, project_dir=project, url=lineage_server)
    assert [body for _, body in _Collector.received] == sent
    assert {path for path, _ in _Collector.received} == {"/api/v1/lineage"}


def test_unreachable_endpoint_is_a_clear_error(ran: tuple[Path, Manifest, RunResults]) -> None:
    from aligned_cli.errors import ExecutionError

    project, manifest, results = ran
    with pytest.raises(ExecutionError, match="could not send OpenLineage events"):
        emit_run_events(manifest, results, project_dir=project, url="http://127.0.0.1:9")


def test_endpoint_url_keeps_an_explicit_path() -> None:
    assert emit_module.endpoint_url("http://h:5000") == "http://h:5000/api/v1/lineage"
    assert emit_module.endpoint_url("http://h:5000/custom/ol") == "http://h:5000/custom/ol"
