"""Building OpenLineage RunEvents (spec 2-0-2) from a manifest and a run's results.

Each executed node is a job named by its unique id, a child of the invocation (the
ParentRunFacet). Skipped nodes never ran, so they get no events. Column lineage comes
from the manifest's `feature_lineage`: feature -> raw source columns.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aligned_cli.openlineage.datasets import DatasetId, DatasetNamer

if TYPE_CHECKING:
    from aligned_cli.artifacts.manifest import Manifest
    from aligned_cli.artifacts.run_results import NodeResult, RunResults

SPEC = "https://openlineage.io/spec"
EVENT_SCHEMA = f"{SPEC}/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACETS = {
    "parent": f"{SPEC}/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet",
    "errorMessage": f"{SPEC}/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
    "jobType": f"{SPEC}/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
    "sql": f"{SPEC}/facets/1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet",
    "schema": f"{SPEC}/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
    "columnLineage": f"{SPEC}/facets/1-2-0/ColumnLineageDatasetFacet.json"
    "#/$defs/ColumnLineageDatasetFacet",
    "dataQualityAssertions": f"{SPEC}/facets/1-1-0/DataQualityAssertionsDatasetFacet.json"
    "#/$defs/DataQualityAssertionsDatasetFacet",
}
FAILED = {"error", "fail"}


def producer() -> str:
    from aligned_cli import __version__

    return f"https://aligned.dev/aligned-cli/{__version__}"


def facet(kind: str, **fields: Any) -> dict[str, Any]:
    return {"_producer": producer(), "_schemaURL": FACETS[kind], **fields}


def run_events(
    manifest: Manifest,
    results: RunResults,
    *,
    project_dir: Path,
    job_namespace: str = "aligned",
    started_at: datetime | None = None,
) -> list[dict[str, Any]]:
    """START + COMPLETE/FAIL events for every node of `results` that executed."""
    builder = _Builder(manifest, results, project_dir, job_namespace)
    events: list[dict[str, Any]] = []
    for result in results.results:
        if result.status != "skipped":
            events.extend(builder.node_events(result, started_at))
    return events


class _Builder:
    def __init__(
        self, manifest: Manifest, results: RunResults, project_dir: Path, job_namespace: str
    ) -> None:
        self.manifest = manifest
        self.results = results
        self.project_dir = project_dir
        self.job_namespace = job_namespace
        self.namer = DatasetNamer(manifest.project, project_dir, results.metadata.target)
        self.parent_run_id = _uuid(results.metadata.invocation_id)
        self.dialect = self._dialect()

    def node_events(self, result: NodeResult, run_start: datetime | None) -> list[dict[str, Any]]:
        starts = [t.started_at for t in result.timing]
        ends = [t.completed_at for t in result.timing]
        results_time = self.results.metadata.generated_at
        started = min(starts) if starts else run_start or results_time
        finished = max(ends) if ends else results_time
        inputs, outputs = self._datasets(result)
        run_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.parent_run_id}/{result.unique_id}"))
        end_type = "FAIL" if result.status in FAILED else "COMPLETE"
        return [
            self._event("START", started, run_id, result, inputs, outputs),
            self._event(end_type, finished, run_id, result, inputs, outputs),
        ]

    def _event(
        self,
        event_type: str,
        when: datetime,
        run_id: str,
        result: NodeResult,
        inputs: list[dict[str, Any]],
        outputs: list[dict[str, Any]],
    ) -> dict[str, Any]:
        run_facets: dict[str, Any] = {
            "parent": facet(
                "parent",
                run={"runId": self.parent_run_id},
                job={"namespace": self.job_namespace, "name": self.manifest.metadata.project_name},
            )
        }
        if event_type == "FAIL":
            message = result.message or f"{result.kind} {result.name} ended with {result.status}"
            run_facets["errorMessage"] = facet(
                "errorMessage", message=message, programmingLanguage="SQL"
            )
        job_facets: dict[str, Any] = {
            "jobType": facet(
                "jobType",
                processingType="BATCH",
                integration="ALIGNED",
                jobType=result.kind.upper(),
            )
        }
        node = self.manifest.nodes.get(result.unique_id)
        sql = node.compiled_sql.get(self.dialect) if node else None
        if sql:
            job_facets["sql"] = facet("sql", query=sql, dialect=self.dialect)
        return {
            "eventType": event_type,
            "eventTime": when.isoformat(),
            "producer": producer(),
            "schemaURL": EVENT_SCHEMA,
            "run": {"runId": run_id, "facets": run_facets},
            "job": {
                "namespace": self.job_namespace,
                "name": result.unique_id,
                "facets": job_facets,
            },
            "inputs": inputs,
            "outputs": outputs,
        }

    # -- datasets of one node ---------------------------------------------------------------

    def _datasets(self, result: NodeResult) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        kind, name = result.kind, result.name
        if kind == "view":
            view = self.manifest.feature_views[name]
            source = view["source"]
            inputs = [_dataset(self._source_or_view(source["kind"], source["name"]))]
            return inputs, [self._view_output(name)]
        if kind == "model":
            return self._model_datasets(name)
        if kind == "test":
            return [self._test_input(result)], []
        return [], []

    def _source_or_view(self, kind: str, name: str) -> DatasetId:
        if kind == "source":
            return self.namer.source(self.manifest.sources[name])
        return self._view_dataset(name)

    def _view_dataset(self, name: str) -> DatasetId:
        output = self.manifest.feature_views[name].get("materialized_source")
        return self.namer.output(output) if output else self.namer.logical_view(name)

    def _view_output(self, name: str) -> dict[str, Any]:
        view = self.manifest.feature_views[name]
        features = [f["name"] for f in view["features"] + view["aggregations"]]
        project = self.manifest.metadata.project_name
        columns = {f: f"feature.{project}.{name}.{f}" for f in features}
        return _dataset(self._view_dataset(name), self._column_facets(columns))

    def _model_datasets(self, name: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        model = self.manifest.models[name]
        project = self.manifest.metadata.project_name
        refs = list(model["features"])
        target = (model.get("target") or {}).get("feature")
        views = dict.fromkeys(r["view"] for r in [*refs, *([target] if target else [])])
        inputs = [_dataset(self._view_dataset(v)) for v in views]
        spine = model.get("spine")
        if spine:
            inputs.append(_dataset(self.namer.source(self.manifest.sources[spine["source"]])))
        output = model.get("output") or {
            "file": f"{self.manifest.project.get('target_path', 'target')}/datasets/{name}.parquet"
        }
        columns = {
            column: f"feature.{project}.{view}.{feature}"
            for column, view, feature in self._model_columns(name)
        }
        return inputs, [_dataset(self.namer.output(output), self._column_facets(columns))]

    def _model_columns(self, name: str) -> list[tuple[str, str, str]]:
        """(dataset column, view, feature) as the model's dataset names its columns."""
        from aligned_cli.compile.pit import output_features
        from aligned_cli.core.ir import FeatureRef
        from aligned_cli.pipeline import project_from_manifest, spine_columns

        project = project_from_manifest(self.manifest, self.project_dir.resolve())
        model = project.models[name]
        spine = spine_columns(project).get(model.spine.source) if model.spine else None
        target: FeatureRef | None = model.target.feature if model.target else None
        target_name = model.target.name if model.target else None
        outputs = output_features(model.features, spine, target, target_name)
        return [(o.name, o.ref.view, o.ref.feature) for o in outputs]

    def _column_facets(self, columns: dict[str, str]) -> dict[str, Any]:
        """Schema + column lineage of a dataset whose columns are the given features."""
        nodes = self.manifest.nodes
        fields: dict[str, Any] = {}
        for column, feature_uid in columns.items():
            inputs = [
                self._raw_column(c) for c in self.manifest.feature_lineage.get(feature_uid, [])
            ]
            fields[column] = {"inputFields": inputs}
        schema = [
            {"name": column, "type": nodes[uid].dtype or "unknown"}
            for column, uid in columns.items()
            if uid in nodes
        ]
        return {
            "schema": facet("schema", fields=schema),
            "columnLineage": facet("columnLineage", fields=fields),
        }

    def _raw_column(self, column_id: str) -> dict[str, Any]:
        # `source.<project>.<source>.<raw column>` (graph.ids.column_id)
        _, _, source, column = column_id.split(".", 3)
        dataset = self.namer.source(self.manifest.sources[source])
        return {"namespace": dataset.namespace, "name": dataset.name, "field": column}

    def _test_input(self, result: NodeResult) -> dict[str, Any]:
        test = self.manifest.tests[result.name]
        assertion: dict[str, Any] = {
            "assertion": test.get("kind") or "custom_sql",
            "success": result.status in ("pass", "success", "warn"),
        }
        if test.get("feature"):
            assertion["column"] = test["feature"]
        assertions = facet("dataQualityAssertions", assertions=[assertion])
        dataset = _dataset(self._view_dataset(test["view"]))
        dataset["inputFacets"] = {"dataQualityAssertions": assertions}
        return dataset

    def _dialect(self) -> str:
        connections = self.manifest.project.get("connections") or {}
        info = connections.get(self.namer.default_connection) or {}
        return str(info.get("type") or self.manifest.project.get("dialect") or "duckdb")


def _dataset(dataset: DatasetId, facets: dict[str, Any] | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"namespace": dataset.namespace, "name": dataset.name}
    if facets:
        found["facets"] = facets
    return found


def _uuid(text: str) -> str:
    """The invocation id as a UUID (it is one; anything else maps to a stable UUID)."""
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, text))
