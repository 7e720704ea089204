"""`RetrievalJob`: a query ready to run, read as pandas, polars or Arrow.

Nothing runs until a `.to_*()` call. The awaitable forms run the engine in a worker
thread; the `_sync` twins block, and also work inside a running event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from aligned_cli.api.engine import Engine, Plan
from aligned_cli.api.sync import run_async, run_blocking
from aligned_cli.api.validation import FeatureCheck, ValidationMode, validate_table
from aligned_cli.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl
    import pyarrow as pa


@dataclass(frozen=True)
class RetrievalJob:
    engine: Engine
    plan: Plan
    checks: tuple[FeatureCheck, ...] = ()
    hidden: tuple[str, ...] = ()  # helper columns dropped from the result
    validation: ValidationMode | None = None
    order_by: str | None = None  # a hidden column holding each row's position

    @property
    def sql(self) -> str:
        """The query this job runs, in the connection's dialect."""
        return self.plan.sql

    def validate(self, mode: ValidationMode = "drop") -> RetrievalJob:
        """Drop the rows that break a feature constraint (`mode="drop"`), or keep
        them and add a boolean `<column>__<constraint>__violated` per constraint
        (`mode="flag"`). A NULL only breaks `required`, and only where the view had
        a row: an entity without history is not a violation."""
        if mode not in ("drop", "flag"):
            raise UsageError(f"unknown validation mode '{mode}'; use 'drop' or 'flag'")
        return replace(self, validation=mode)

    # -- sync ----------------------------------------------------------------------

    def to_arrow_sync(self) -> pa.Table:
        return run_blocking(self._run)

    def to_pandas_sync(self) -> pd.DataFrame:
        return run_blocking(self._run).to_pandas()

    def to_polars_sync(self) -> pl.DataFrame:
        return _polars(run_blocking(self._run))

    # -- async ---------------------------------------------------------------------

    async def to_arrow(self) -> pa.Table:
        return await run_async(self._run)

    async def to_pandas(self) -> pd.DataFrame:
        table = await run_async(self._run)
        return table.to_pandas()

    async def to_polars(self) -> pl.DataFrame:
        return _polars(await run_async(self._run))

    async def to_lazy_polars(self) -> pl.LazyFrame:
        return (await self.to_polars()).lazy()

    # -- the work ------------------------------------------------------------------

    def _run(self) -> pa.Table:
        table = self.engine.fetch_arrow(self.plan)
        if self.order_by is not None:
            table = table.sort_by(self.order_by)
        if self.validation is not None:
            table = validate_table(table, self.checks, self.validation)
        return _without(table, self.hidden)


def _without(table: pa.Table, columns: Sequence[str]) -> pa.Table:
    present = [c for c in columns if c in table.column_names]
    return table.drop_columns(present) if present else table


def _polars(table: pa.Table) -> pl.DataFrame:
    import polars as pl

    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)  # a Table always gives a DataFrame
    return frame
