"""Measuring freshness: how old the newest row of each source/view is (SPEC §5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aligned_cli.core.instants import as_utc
from aligned_cli.core.ir import FeatureView, Freshness, Source

if TYPE_CHECKING:
    from aligned_cli.compile.compiled import CompiledProject
    from aligned_cli.execute.adapters.base import Adapter


@dataclass
class FreshnessResult:
    unique_id: str
    kind: str
    name: str
    status: str  # pass | warn | error | runtime error
    max_loaded_at: datetime | None
    snapshotted_at: datetime
    age_seconds: float | None
    warn_after: int | None
    error_after: int | None
    message: str | None = None


def judge(age_seconds: float | None, criteria: Freshness) -> str:
    if age_seconds is None:
        return "error"  # no rows at all: as stale as it gets
    if criteria.error_after is not None and age_seconds > criteria.error_after:
        return "error"
    if criteria.warn_after is not None and age_seconds > criteria.warn_after:
        return "warn"
    return "pass"


def measure(
    compiled: CompiledProject,
    adapter: Adapter,
    uid: str,
    node: Source | FeatureView,
    now: datetime | None = None,
    *,
    at_origin: bool = False,
) -> FreshnessResult:
    """`node`'s freshness measured on `adapter` (`at_origin`: the connection a source
    lives on, not the run's, which would read its staged copy)."""
    from aligned_cli.compile.dialects import get_dialect
    from aligned_cli.compile.freshness import freshness_query

    assert node.freshness is not None
    result = FreshnessResult(
        unique_id=uid,
        kind="source" if isinstance(node, Source) else "view",
        name=node.name,
        status="runtime error",
        max_loaded_at=None,
        snapshotted_at=now or datetime.now(UTC),
        age_seconds=None,
        warn_after=node.freshness.warn_after,
        error_after=node.freshness.error_after,
    )
    try:
        query = freshness_query(compiled.project, node, adapter.dialect, at_origin=at_origin)
        rows = adapter.fetch_rows(get_dialect(adapter.dialect).sql(query, pretty=False))
    except Exception as error:  # could not measure: report it, don't crash the command
        result.message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
        return result
    if rows and rows[0][0] is not None:
        result.max_loaded_at = as_utc(rows[0][0])
        result.age_seconds = (result.snapshotted_at - result.max_loaded_at).total_seconds()
    else:
        result.message = "no rows"
    result.status = judge(result.age_seconds, node.freshness)
    return result
