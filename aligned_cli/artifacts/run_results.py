"""`target/run_results.json`: what each executed node did (dbt-compatible in spirit)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RUN_RESULTS_SCHEMA_VERSION = "https://aligned.dev/schemas/run-results/v1.json"
NodeStatus = Literal["success", "error", "skipped", "warn", "fail", "pass"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TimingInfo(_Model):
    name: str  # "compile" | "execute"
    started_at: datetime
    completed_at: datetime


class NodeResult(_Model):
    unique_id: str
    kind: str
    name: str
    status: NodeStatus
    timing: list[TimingInfo] = Field(default_factory=list)
    execution_time: float = 0.0
    rows_affected: int | None = None
    message: str | None = None
    failures: int | None = None
    sample: list[dict[str, Any]] = Field(default_factory=list)
    output: str | None = None


class RunResultsMetadata(_Model):
    aligned_version: str
    schema_version: str = RUN_RESULTS_SCHEMA_VERSION
    project_name: str
    generated_at: datetime
    invocation_id: str
    command: str
    target: str | None = None


class RunResults(_Model):
    metadata: RunResultsMetadata
    results: list[NodeResult]
    elapsed_time: float
    args: dict[str, Any] = Field(default_factory=dict)
    interrupted: bool = False
