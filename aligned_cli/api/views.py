"""`store.feature_view(name)`: one view's rows, by entity, by time, or all."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from aligned_cli.api.engine import Engine, Plan, sources_read
from aligned_cli.api.entities import Entities
from aligned_cli.api.job import RetrievalJob
from aligned_cli.api.lookup import feature_refs
from aligned_cli.api.overrides import with_view_source
from aligned_cli.api.queries import freshness_query
from aligned_cli.api.retrieval import entity_job, view_rows_job
from aligned_cli.api.sync import run_async, run_blocking
from aligned_cli.core.ir import FeatureView
from aligned_cli.errors import UsageError


@dataclass(frozen=True)
class FeatureViewStore:
    engine: Engine
    name: str

    @property
    def view(self) -> FeatureView:
        return self.engine.project.views[self.name]

    def using_source(self, source: Any) -> FeatureViewStore:
        """This view reading its rows from `source` (e.g. `FileSource.parquet_at(...)`)."""
        project = with_view_source(self.engine.project, self.name, source)
        return replace(self, engine=replace(self.engine, project=project))

    def all(self, limit: int | None = None) -> RetrievalJob:
        """Every row of the view (at most `limit`): keys, timestamps, features."""
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 0
        ):
            raise UsageError(f"limit must be a whole number, 0 or more, not {limit!r}")
        return view_rows_job(self.engine, self.name, limit=limit)

    def between(self, start: datetime, end: datetime) -> RetrievalJob:
        """The rows with `start <= event_timestamp <= end` (naive datetimes are UTC)."""
        return view_rows_job(self.engine, self.name, start=start, end=end)

    def previous(
        self, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0
    ) -> RetrievalJob:
        """The rows with `event_timestamp` in `[now - period, now]`."""
        period = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if period <= timedelta(0):
            raise UsageError("previous() needs a positive period, e.g. previous(days=30)")
        end = datetime.now(UTC)
        return self.between(end - period, end)

    def features_for(
        self, entities: Entities, features: Iterable[str] | None = None
    ) -> RetrievalJob:
        """The view's features (or the named ones) for every entity row."""
        names = list(features) if features is not None else self._feature_names()
        refs = feature_refs(
            self.engine.project, [n if ":" in n else f"{self.name}:{n}" for n in names]
        )
        return entity_job(self.engine, entities, refs)

    async def freshness(self) -> datetime | None:
        """The greatest event timestamp (or the source's `loaded_at_field`), UTC-aware;
        None when the view has no rows."""
        return await run_async(self._freshness)

    def freshness_sync(self) -> datetime | None:
        return run_blocking(self._freshness)

    def _freshness(self) -> datetime | None:
        engine = self.engine
        dialect = engine.dialect
        query = freshness_query(engine.project, self.view, dialect)
        plan = Plan(dialect.sql(query), sources_read(engine.project, [self.name]))
        rows = engine.fetch_rows(plan)
        value = rows[0][0] if rows else None
        return _utc(value)

    def _feature_names(self) -> list[str]:
        keys = set(self.view.key_columns)
        return [f.name for f in self.view.features if f.name not in keys]


def _utc(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise UsageError(f"the freshness column holds {type(value).__name__}, not a timestamp")
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
